"""`/threshold calc|auto|lead`, `/campaign` and the `apply_threshold` button: thresholds from data.

Like every command, the text is parsed before `ack()`; the history queries and the
recompute run after it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

from slack_bolt import App

from bot import planning, replies
from bot.core import commands as parse
from bot.core import forecast as fc
from bot.core.commands import CommandError
from bot.i18n import t
from bot.messages import (
    ACTION_APPLY_THRESHOLD,
    DemandBasis,
    calc_message,
    class_calc_message,
    mention,
    method_text,
    more_lines,
    qty,
)
from bot.slack_text import TEXT_MAX, Mrkdwn, fit_lines, outside
from storage import repo
from storage.db import session as open_session
from storage.models import Campaign, SkuPlan

log = logging.getLogger(__name__)

MAX_SKUS_SHOWN = 10


def register(app: App, ctx) -> None:
    @app.action(ACTION_APPLY_THRESHOLD)
    def apply_threshold(ack, body, respond):
        ack()
        ctx.after_ack(respond, "apply threshold", lambda: _apply(ctx, body, respond))


# ---- /threshold calc -------------------------------------------------------------------------

def calc(ctx, request: parse.ThresholdCalc, respond) -> None:
    lang, today = ctx.lang, repo.utcnow().date()
    with open_session(ctx.engine) as session:
        forecast = planning.forecast_for(session, ctx.settings, request.sku, today, request.basis,
                                         request.history_days, request.spikes, request.lead_days)
        rows = repo.stock_rows(session, request.sku)
        on_order = sum(r.quantity for r in repo.open_reorders(session, [request.sku])[request.sku])
        on_order += sum(row.on_order or 0 for row in rows)
        known = bool(rows) or repo.sku_known(session, request.sku)
    if request.daily is None:
        if not known:
            respond(text=t(lang, "reply.unknown_sku", sku=request.sku))
            return
        if not forecast.history_days:
            respond(text=t(lang, "reply.calc_no_history", sku=request.sku))
            return
    available = sum(row.available for row in rows) if rows else None
    levels = forecast.levels
    if request.daily is None and request.safety is None and levels is not None:
        # levels by demand class: read off the SKU's own history
        if levels.reorder_point is None:
            respond(text=t(lang, "reply.calc_dead" if levels.klass == "dead" else "reply.calc_no_history",
                           sku=request.sku))
            return
        outlook = planning.outlook_for(forecast, available, on_order, None, today) if rows else None
        payload = class_calc_message(lang, request.sku, levels, forecast.daily, forecast.lead_days,
                                     forecast.history_days, forecast.sigma, fc.z_for(forecast.service),
                                     forecast.service, outlook, available)
        respond(text=payload["text"], blocks=payload["blocks"])
        return
    safety = request.safety or (fc.Safety(service=forecast.service) if request.daily is None else fc.Safety())
    if safety.service is not None and forecast.history_days < 2:
        respond(text=t(lang, "reply.calc_service_needs_history", sku=request.sku))
        return
    typed = request.daily is not None
    forecast = replace(forecast, daily=request.daily if typed else forecast.daily,
                       # a typed demand is flat: the weekday pattern belongs to the history's level
                       profile=forecast.profile if not typed else None, levels=None)
    point = fc.reorder_point(forecast.daily, forecast.lead_days, safety, forecast.sigma, today + timedelta(days=1),
                             forecast.profile, forecast.campaigns)
    outlook = planning.outlook_for(forecast, available, on_order, None, today) if rows else None
    basis = forecast.basis if forecast.basis != fc.CLASS_BASIS else "class"
    demand = DemandBasis(typed=typed, basis=basis, history_days=forecast.history_days)
    payload = calc_message(lang, request.sku, point, demand, outlook, available)
    respond(text=payload["text"], blocks=payload["blocks"])


def _apply(ctx, body: dict, respond) -> None:
    lang, user = ctx.lang, body["user"]["id"]
    try:
        value = json.loads(body["actions"][0]["value"])
        sku = parse.parse_sku(str(value["sku"]))
        warning, critical = int(value["warning"]), int(value["critical"])
        if not 0 <= critical <= warning <= parse.MAX_QUANTITY:
            raise ValueError("levels out of range")
    except (KeyError, IndexError, TypeError, ValueError, OverflowError, CommandError):  # int(1e309): overflow
        respond(text=t(lang, "reply.alert_gone"), response_type="ephemeral", replace_original=False)
        return
    if not ctx.settings.is_admin(user):
        respond(text=replies.not_admin(lang, ctx.settings.threshold_admins), response_type="ephemeral",
                replace_original=False)
        return
    now = repo.utcnow()
    with open_session(ctx.engine) as session:
        repo.save_threshold(session, sku, warning, critical, repo.KEEP, user, now, repo.KEEP)
        was_auto = repo.turn_auto_off(session, sku)
        session.commit()
    auto_off = t(lang, "reply.auto_was_off") if was_auto else ""
    respond(text=t(lang, "reply.applied", sku=sku, warning=qty(warning), critical=qty(critical), auto_off=auto_off),
            response_type="ephemeral", replace_original=False)
    ctx.checker.check_soon([sku])  # queued: a running check is never waited for


# ---- /threshold auto and lead --------------------------------------------------------------

def _target_skus(session, target: str) -> list[str]:
    if target == parse.ALL_SKUS:
        return repo.known_skus(session)
    if target.endswith("*"):
        return repo.known_skus(session, target[:-1])
    return [target] if repo.sku_known(session, target) else []


def _sku_list(skus: list[str]) -> Mrkdwn:
    shown = ", ".join(f"*{outside(sku, 64)}*" for sku in skus[:MAX_SKUS_SHOWN])
    return Mrkdwn(shown + (f" (+{len(skus) - MAX_SKUS_SHOWN})" if len(skus) > MAX_SKUS_SHOWN else ""))


def auto(ctx, request: parse.ThresholdAuto, respond) -> None:
    lang = ctx.lang
    with open_session(ctx.engine) as session:
        skus = _target_skus(session, request.target)
        if not skus:
            respond(text=t(lang, "reply.auto_no_match", target=request.target))
            return
        existing = repo.plans_for(session, skus)  # one query per 500 SKUs, not one per SKU
        for sku in skus:
            plan = existing.get(sku) or SkuPlan(sku=sku)
            plan.auto = request.on
            if request.on:
                plan.lead_days = request.lead_days or plan.lead_days
                plan.service = request.service or plan.service
                plan.basis = request.basis or plan.basis
                plan.spikes = request.spikes or plan.spikes
            session.add(plan)
        session.commit()
    if not request.on:
        respond(text=t(lang, "reply.auto_off", count=qty(len(skus)), skus=_sku_list(skus)))
        return
    # The reply shows the new levels, so they are computed here (no check lock involved); the
    # check of the SKUs whose level moved is queued.
    report = ctx.checker.recompute_auto(skus, check_now=False)
    lines = [t(lang, "reply.auto_on", count=qty(len(skus)), skus=_sku_list(skus))]
    waiting = set(report.no_history)
    with open_session(ctx.engine) as session:
        for sku in skus[:MAX_SKUS_SHOWN]:
            threshold, plan = repo.get_threshold(session, sku), repo.get_plan(session, sku)
            if sku in waiting or threshold is None or plan is None or not plan.method:
                lines.append(t(lang, "reply.auto_waiting", sku=sku))
            else:
                lines.append(t(lang, "reply.auto_levels", sku=sku, warning=qty(threshold.warning_level),
                               critical=qty(threshold.critical_level), method=method_text(lang, plan.method)))
    respond(text=fit_lines(lines, TEXT_MAX, more_lines(lang)))


def lead(ctx, request: parse.ThresholdLead, respond) -> None:
    lang = ctx.lang
    with open_session(ctx.engine) as session:
        if not repo.sku_known(session, request.sku):
            respond(text=t(lang, "reply.unknown_sku", sku=request.sku))
            return
        plan = repo.plan_for_update(session, request.sku)
        plan.lead_days = request.lead_days
        plan.case_pack = request.case_pack or plan.case_pack
        plan.moq = request.moq or plan.moq
        plan.target_cover_days = request.cover_days or plan.target_cover_days
        session.add(plan)
        session.commit()
        is_auto = plan.auto
        extra = "".join([t(lang, "reply.lead_pack", pack=qty(plan.case_pack)) if plan.case_pack else "",
                         t(lang, "reply.lead_moq", moq=qty(plan.moq)) if plan.moq else "",
                         t(lang, "reply.lead_cover", cover=plan.target_cover_days) if plan.target_cover_days else ""])
    respond(text=t(lang, "reply.lead_saved", sku=request.sku, lead=request.lead_days, extra=extra))
    if is_auto:
        ctx.checker.check_soon([request.sku], recompute=True)


# ---- /campaign -----------------------------------------------------------------------------

def _target_text(lang: str, target: str) -> str:
    return t(lang, "reply.all_skus") if target == parse.ALL_SKUS else Mrkdwn(f"*{outside(target, 80)}*")


def _campaign_fields(lang: str, campaign: Campaign) -> dict:
    return {"id": campaign.id, "target": _target_text(lang, campaign.target), "start": campaign.start.isoformat(),
            "end": campaign.end.isoformat(), "multiplier": f"{campaign.multiplier:g}",
            "name": Mrkdwn(f" “{outside(campaign.name, 100)}”") if campaign.name else ""}


def _recompute_for(ctx, target: str) -> None:
    with open_session(ctx.engine) as session:
        skus = _target_skus(session, target)
    if skus:  # the reply does not show levels: recompute and check queued, coalesced with others
        ctx.checker.check_soon(skus, recompute=True)


def campaign(ctx, request, user: str, respond) -> None:
    lang, now = ctx.lang, repo.utcnow()
    if isinstance(request, parse.CampaignList):
        with open_session(ctx.engine) as session:
            found = [c for c in repo.active_campaigns(session, now.date())
                     if request.sku is None or repo.campaign_applies(c, request.sku)]
        sku_text = f" · {request.sku}" if request.sku else ""
        if not found:
            respond(text=t(lang, "reply.campaign_list_empty", sku=sku_text))
            return
        respond(text=fit_lines([t(lang, "reply.campaign_list_header", sku=sku_text)]
                               + [t(lang, "reply.campaign_row", user=mention(c.created_by), **_campaign_fields(lang, c))
                                  for c in found], TEXT_MAX, more_lines(lang)))
        return
    if isinstance(request, parse.CampaignRemove):
        with open_session(ctx.engine) as session:
            found = session.get(Campaign, request.campaign_id)
            if found is None:
                respond(text=t(lang, "reply.campaign_not_found", id=request.campaign_id))
                return
            fields = _campaign_fields(lang, found)
            target = found.target
            session.delete(found)
            session.commit()
        respond(text=t(lang, "reply.campaign_removed", **fields))
        _recompute_for(ctx, target)
        return
    with open_session(ctx.engine) as session:
        if request.target != parse.ALL_SKUS and not _target_skus(session, request.target):
            respond(text=t(lang, "reply.auto_no_match", target=request.target))
            return
        added = Campaign(target=request.target, start=request.start, end=request.end, multiplier=request.multiplier,
                         name=request.name, created_by=user, created_at=now)
        session.add(added)
        session.commit()
        fields = _campaign_fields(lang, added)
    respond(text=t(lang, "reply.campaign_added", **fields))
    _recompute_for(ctx, request.target)
