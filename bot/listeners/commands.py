"""Slash commands: /threshold, /stock, /reorder, /campaign.

Each handler parses the text (pure, fast) before `ack()`: a malformed command is answered
in the acknowledgement itself and nothing is stored. Database work and Slack API calls
happen after `ack()`, and the answer goes back through `respond()` (the response_url).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Optional

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot import planning, replies
from bot.checker import LAST_CHECK_KEY
from bot.core import commands as parse
from bot.core.commands import CommandError
from bot.core.tiers import Tier, default_critical_level
from bot.i18n import t
from bot.listeners import plans
from bot.messages import (
    SnoozeView,
    channel_text,
    chart_failed_text,
    command_error_text,
    import_modal,
    outlook_lines,
    usage_text,
)
from bot.notifier import CHANNEL_REFUSED, NotifyError
from bot.stock_charts import ChartOutcome
from storage import repo
from storage.db import session as open_session

log = logging.getLogger(__name__)

WRITE_REQUESTS = (parse.ThresholdSet, parse.ThresholdRemove, parse.ReorderRecord, parse.ReorderCancel,
                  parse.ThresholdAuto, parse.ThresholdLead, parse.CampaignAdd, parse.CampaignRemove)
STOCK_WRITES = (parse.StockSet, parse.StockImport)  # STOCK_EDITORS


def _parse_or_answer(ack, ctx, command_name: str, parser, command: dict, ack_text=None):
    """Parse the command text; answer bad input, help and permission refusals right in the ack.

    `ack_text(request)`: what a good request's ack says (None: nothing), for work that takes a while.
    """
    try:
        request = parser(command.get("text"))
    except CommandError as error:
        ack(response_type="ephemeral", text=command_error_text(ctx.lang, command_name, error))
        return None
    if isinstance(request, parse.Help):
        ack(response_type="ephemeral", text=usage_text(ctx.lang, command_name))
        return None
    if isinstance(request, WRITE_REQUESTS) and not ctx.settings.is_admin(command.get("user_id", "")):
        ack(response_type="ephemeral", text=replies.not_admin(ctx.lang, ctx.settings.threshold_admins))
        return None
    if isinstance(request, STOCK_WRITES) and not ctx.settings.may_edit_stock(command.get("user_id", "")):
        ack(response_type="ephemeral", text=replies.not_stock_editor(ctx.lang, ctx.settings))
        return None
    text = ack_text(request) if ack_text else None
    if text:
        ack(response_type="ephemeral", text=text)
    else:
        ack()
    return request


def _stock_ack_text(ctx, request):
    if isinstance(request, parse.StockChart):
        return t(ctx.lang, "reply.chart_coming", sku=request.sku)
    return None


def register(app: App, ctx) -> None:
    @app.command("/threshold")
    def threshold_command(ack, command, respond, client):
        request = _parse_or_answer(ack, ctx, "threshold", parse.parse_threshold, command)
        if request is not None:
            ctx.after_ack(respond, "/threshold",
                          lambda: _threshold(ctx, request, command["user_id"], respond, client))

    @app.command("/stock")
    def stock_command(ack, command, respond, client):
        request = _parse_or_answer(ack, ctx, "stock", parse.parse_stock, command,
                                   ack_text=lambda parsed: _stock_ack_text(ctx, parsed))
        if isinstance(request, parse.StockChart):
            ctx.after_ack(respond, "/stock chart", lambda: _stock_chart(ctx, request, command.get("channel_id", ""),
                                                                        respond))
        elif isinstance(request, parse.StockImport):
            # The trigger_id is good for 3 s: open the modal first, nothing slow before it.
            ctx.after_ack(respond, "/stock import", lambda: client.views_open(
                trigger_id=command["trigger_id"], view=import_modal(ctx.lang, request.kind)))
        elif request is not None:
            ctx.after_ack(respond, "/stock", lambda: _stock(ctx, request, respond))

    @app.command("/reorder")
    def reorder_command(ack, command, respond):
        request = _parse_or_answer(ack, ctx, "reorder",
                                   lambda text: parse.parse_reorder(text, repo.utcnow().date()), command)
        if request is not None:
            ctx.after_ack(respond, "/reorder", lambda: _reorder(ctx, request, command["user_id"], respond))

    @app.command("/campaign")
    def campaign_command(ack, command, respond):
        request = _parse_or_answer(ack, ctx, "campaign",
                                   lambda text: parse.parse_campaign(text, repo.utcnow().date()), command)
        if request is not None:
            ctx.after_ack(respond, "/campaign", lambda: plans.campaign(ctx, request, command["user_id"], respond))


def channel_refusal(client, channel: str) -> Optional[str]:
    """Why Stockbot could not post to `channel` (a Slack error code), or None if it can.

    Public channels take posts without an invitation (chat:write.public); a private one
    needs the bot as a member. Without the scopes to look (channels:read, groups:read)
    the channel is given the benefit of the doubt: the check posts, and a refusal there
    is reported to OPS_CHANNEL.
    """
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        if error in CHANNEL_REFUSED:
            return error
        log.warning("could not check channel %s (%s); accepting it", channel, error)
        return None
    if info.get("is_archived"):
        return "is_archived"
    if info.get("is_private") and not info.get("is_member"):
        return "not_in_channel"
    return None


def _threshold(ctx, request, user: str, respond, client=None) -> None:
    lang, now = ctx.lang, repo.utcnow()
    if isinstance(request, parse.ThresholdCalc):
        return plans.calc(ctx, request, respond)
    if isinstance(request, parse.ThresholdAuto):
        return plans.auto(ctx, request, respond)
    if isinstance(request, parse.ThresholdLead):
        return plans.lead(ctx, request, respond)
    if isinstance(request, parse.ThresholdSet) and request.channel and client is not None:
        refusal = channel_refusal(client, request.channel)
        if refusal is not None:  # alerts sent there would be refused: change nothing, say how to fix it
            respond(text=t(lang, "reply.channel_unusable", channel=channel_text(lang, request.channel),
                           reason=t(lang, f"channel.reason.{refusal}", error=refusal)))
            return
        with open_session(ctx.engine) as session:  # an admin fixed the channel: no need to wait for its backoff
            repo.clear_channel_problem(session, request.channel)
            session.commit()
    with open_session(ctx.engine) as session:
        if isinstance(request, parse.ThresholdSet):
            critical = request.critical_level
            if critical is None:
                critical = default_critical_level(request.warning_level)
            # Re-setting the level keeps the SKU's channel unless a new one is given.
            channel = request.channel or repo.KEEP
            # ...and its warehouse scope, unless `warehouse NAME` (or `warehouse all`) is given.
            warehouse = repo.KEEP if request.warehouse is None else (request.warehouse or None)
            old = repo.save_threshold(session, request.sku, request.warning_level, critical, channel, user, now,
                                      warehouse)
            was_auto = repo.turn_auto_off(session, request.sku)
            session.commit()
            text = replies.threshold_saved(lang, repo.get_threshold(session, request.sku), old)
            if was_auto:
                text += "\n" + t(lang, "reply.auto_was_off").strip()
            # End the read transaction before talking to Slack: an idle transaction held meanwhile
            # blocks DDL and keeps a pooled connection from the requests still to be acknowledged.
            session.close()
            respond(text=text)
            # Alert right away if already below the new level: queued (coalesced) behind a running
            # check, never waited for here.
            ctx.checker.check_soon([request.sku])
        elif isinstance(request, parse.ThresholdGet):
            found = repo.get_threshold(session, request.sku)
            respond(text=replies.threshold_shown(lang, found, repo.get_plan(session, request.sku)) if found
                    else replies.no_threshold(lang, request.sku))
        elif isinstance(request, parse.ThresholdRemove):
            old = repo.remove_threshold(session, request.sku, user, now)
            session.commit()
            if old is None:
                respond(text=replies.no_threshold(lang, request.sku))
                return
            ctx.checker.close_episode_silently(request.sku, now)
            respond(text=replies.threshold_removed(lang, old))
        elif isinstance(request, parse.ThresholdList):
            rows, total = repo.list_thresholds(session, request.prefix, request.page)
            sku_plans = repo.plans_for(session, [row.sku for row in rows])
            respond(text=replies.threshold_page(lang, rows, total, request.prefix, request.page,
                                                repo.LIST_PAGE_SIZE,
                                                frozenset(sku for sku, plan in sku_plans.items() if plan.auto)))
        elif isinstance(request, parse.ThresholdHistory):
            respond(text=replies.threshold_history(lang, request.sku,
                                                   repo.threshold_history(session, request.sku)))


def _stock(ctx, request, respond) -> None:
    lang = ctx.lang
    with open_session(ctx.engine) as session:
        if isinstance(request, parse.StockStatus):
            last_check = repo.get_meta(session, LAST_CHECK_KEY)
            next_check = (datetime.fromisoformat(last_check) + timedelta(seconds=ctx.settings.check_interval_seconds)
                          if last_check else None)
            respond(text=replies.source_status(lang, repo.list_source_states(session), next_check))
            return
        rows = repo.stock_rows(session, request.sku)
        if isinstance(request, parse.StockSet):
            session.close()  # no transaction stays open during the write, respond() and the check
            warehouse = request.warehouse
            if warehouse is None:
                if len(rows) > 1:
                    respond(text=t(lang, "reply.stock_which_warehouse", sku=request.sku,
                                           available=request.available,
                                           warehouses=", ".join(row.warehouse or "–" for row in rows)))
                    return
                warehouse = rows[0].warehouse if rows else ""
            with ctx.engine.begin() as conn:
                repo.upsert_stock(conn, [{"sku": request.sku, "warehouse": warehouse, "available": request.available,
                                          "name": None, "source": "manual", "read_at": repo.utcnow()}])
            respond(text=t(lang, "reply.stock_saved", sku=request.sku, available=f"{request.available:,}",
                                   warehouse=f" @ {warehouse}" if warehouse else ""))
            ctx.checker.check_soon([request.sku])  # a manual count is checked at once (queued)
            return
        threshold = repo.get_threshold(session, request.sku)
        if not rows:
            respond(text=t(lang, "reply.stock_unknown", sku=request.sku))
            return
        episode = repo.open_episode(session, request.sku)
        alerts = repo.alerts_for_episodes(session, [episode.id])[episode.id] if episode else []
        worst = max(alerts, key=lambda alert: alert.tier, default=None)
        open_reorders = repo.open_reorders(session, [request.sku])[request.sku]
        on_order = sum(r.quantity for r in open_reorders)
        snooze = repo.active_snooze(session, request.sku, repo.utcnow())
        text = replies.stock_shown(
            lang, request.sku, rows, threshold, Tier(worst.tier) if worst else None,
            episode.opened_at if episode else None, worst.acked_by if worst else None, on_order,
            SnoozeView(snooze.snoozed_by, snooze.until) if snooze else None)
        # how long it lasts and what to do, as in an alert
        outlook = planning.sku_outlook(session, ctx.settings, request.sku, sum(row.available for row in rows),
                                       on_order + sum(row.on_order or 0 for row in rows),
                                       [r.eta for r in open_reorders], repo.utcnow().date())
        if outlook is not None:
            available = sum(row.available for row in rows)
            tier = Tier(worst.tier) if worst else (
                Tier.WARNING if threshold and available <= threshold.warning_level else None)
            text += "\n" + "\n".join(outlook_lines(lang, outlook, tier))
        respond(text=text)


def _stock_chart(ctx, request, channel: str, respond) -> None:
    """Draw and post the chart where the command was typed; if Slack will not take it there, say
    why through the response_url (which reaches the person even where the bot cannot post)."""
    lang = ctx.lang
    if ctx.checker.charts is None:
        respond(text=t(lang, "reply.chart_nothing", sku=request.sku))
        return
    try:
        outcome = ctx.checker.charts.post_now(request.sku, channel)
    except NotifyError as exc:
        log.warning("Slack refused the /stock chart upload for %s in %s: %s", request.sku, channel, exc)
        respond(text=chart_failed_text(lang, request.sku, str(exc)))
        return
    if outcome is ChartOutcome.UNKNOWN_SKU:
        respond(text=t(lang, "reply.stock_unknown", sku=request.sku))
    elif outcome is ChartOutcome.NOTHING_TO_DRAW:
        respond(text=t(lang, "reply.chart_nothing", sku=request.sku))


def _reorder(ctx, request, user: str, respond) -> None:
    lang, today = ctx.lang, repo.utcnow().date()
    if isinstance(request, parse.ReorderList):
        with open_session(ctx.engine) as session:
            respond(text=replies.reorder_list(lang, request.sku, repo.list_open_reorders(session, request.sku), today))
        return
    if isinstance(request, parse.ReorderCancel):
        count = ctx.checker.cancel_reorders(request.sku)
        key = "reply.reorder_cancelled" if count else "reply.reorder_none_to_cancel"
        respond(text=t(lang, key, sku=request.sku, count=count))
        return
    with open_session(ctx.engine) as session:
        known = repo.get_threshold(session, request.sku) is not None or bool(repo.stock_rows(session, request.sku))
    if not known:
        respond(text=t(lang, "reply.unknown_sku", sku=request.sku))
        return
    ctx.checker.record_reorder(request.sku, request.quantity, request.eta, request.note, user)
    respond(text=replies.reorder_saved(lang, request.sku, request.quantity, request.eta))
