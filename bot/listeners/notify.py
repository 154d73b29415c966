"""`/notify`: where else alerts go (e-mail, DingTalk, WeCom, Feishu, SMS, webhooks). Admins only.

The text is parsed (pure, bot.core.notify) and answered in the ack when it is wrong; the rule is
stored, listed, removed or tested after the ack. Targets and secrets are never shown back in full.
"""

from __future__ import annotations

import logging
import time
import urllib.error

from slack_bolt import App
from sqlalchemy import update
from sqlmodel import col

from bot import replies
from bot.core import notify as core
from bot.core.commands import CommandError, Help
from bot.i18n import t
from bot.messages import command_error_text, usage_text
from bot.notifier import NotifyError
from bot.notify import channels, fanout
from bot.slack_text import Mrkdwn
from storage import repo
from storage.db import session as open_session
from storage.models import ChannelProblem, NotifyRule, OutboxEntry

log = logging.getLogger(__name__)


def register(app: App, ctx) -> None:
    @app.command("/notify")
    def notify_command(ack, command, respond):
        lang, user = ctx.lang, command.get("user_id", "")
        try:
            request = core.parse_notify(command.get("text"), ctx.settings.notify_hosts)
        except CommandError as error:
            ack(response_type="ephemeral", text=command_error_text(lang, "notify", error))
            return
        if isinstance(request, Help):
            ack(response_type="ephemeral", text=usage_text(lang, "notify"))
            return
        if not ctx.settings.is_admin(user):
            ack(response_type="ephemeral", text=replies.not_admin(lang, ctx.settings.threshold_admins))
            return
        if isinstance(request, core.NotifyAdd):
            settings = ctx.settings
            if request.kind == "email" and not (settings.smtp_url and settings.smtp_from):
                ack(response_type="ephemeral", text=t(lang, "reply.notify_email_off"))
                return
            if request.kind == "sms" and not (settings.sms_account_sid and settings.sms_auth_token and settings.sms_from):
                ack(response_type="ephemeral", text=t(lang, "reply.notify_sms_off"))
                return
        ack()
        ctx.after_ack(respond, "/notify", lambda: _run(ctx, request, user, respond))


def _run(ctx, request, user: str, respond) -> None:
    if isinstance(request, core.NotifyAdd):
        respond(text=_add(ctx, request, user))
    elif isinstance(request, core.NotifyList):
        respond(text=_list(ctx))
    elif isinstance(request, core.NotifyRemove):
        respond(text=_remove(ctx, request.rule_id))
    elif isinstance(request, core.NotifyTest):
        respond(text=_test(ctx, request.rule_id))


def _labels(lang: str, rule: NotifyRule) -> dict:
    filters = ""
    if rule.sku_prefix:
        filters += t(lang, "notify.filter.sku", sku=rule.sku_prefix)
    if rule.warehouse:
        filters += t(lang, "notify.filter.warehouse", warehouse=rule.warehouse)
    return dict(id=Mrkdwn(str(rule.id)), kind=fanout.kind_label(lang, rule.kind),
                target=core.mask_target(rule.kind, rule.target), tier=t(lang, f"notify.tier.{rule.tier}"),
                filter=Mrkdwn(filters), secret=t(lang, "notify.secret_set") if rule.secret else Mrkdwn(""),
                rule_lang=Mrkdwn(rule.lang))


def _add(ctx, request: core.NotifyAdd, user: str) -> str:
    lang = ctx.lang
    rule = NotifyRule(tier=request.tier, kind=request.kind, target=request.target, secret=request.secret,
                      sku_prefix=request.sku, warehouse=request.warehouse, lang=request.lang or ctx.settings.language,
                      created_by=user, created_at=repo.utcnow())
    with open_session(ctx.engine) as session:
        session.add(rule)
        session.commit()
    log.info("notification rule %s added by %s: %s to %s", rule.id, user, rule.kind,
             core.mask_target(rule.kind, rule.target))
    text = t(lang, "reply.notify_added", **_labels(lang, rule))
    if request.tier_defaulted:
        text += "\n" + t(lang, "reply.notify_sms_default")
    return text


def _list(ctx) -> str:
    lang = ctx.lang
    with open_session(ctx.engine) as session:
        rules = fanout.rules(session)
        problems = repo.channel_problems(session)
    if not rules:
        return t(lang, "reply.notify_none")
    lines = [t(lang, "reply.notify_list_header")]
    for rule in rules:
        problem = problems.get(fanout.channel_of(rule.id))
        lines.append(t(lang, "reply.notify_list_row", **_labels(lang, rule),
                       problem=t(lang, "reply.notify_list_problem", code=problem.error) if problem else Mrkdwn("")))
    return "\n".join(lines)


def _remove(ctx, rule_id: int) -> str:
    lang = ctx.lang
    with open_session(ctx.engine) as session:
        rule = session.get(NotifyRule, rule_id)
        if rule is None:
            return t(lang, "reply.notify_unknown", id=Mrkdwn(str(rule_id)))
        labels = _labels(lang, rule)
        # Its waiting messages end with it (an id a later rule might get must not inherit them).
        session.execute(update(OutboxEntry).where(OutboxEntry.channel == fanout.channel_of(rule_id),
                                                  col(OutboxEntry.done).is_(False))
                        .values(done=True, error="rule_removed"))
        problem = session.get(ChannelProblem, fanout.channel_of(rule_id))
        if problem is not None:
            session.delete(problem)
        session.delete(rule)
        session.commit()
    return t(lang, "reply.notify_removed", **labels)


def _test(ctx, rule_id: int) -> str:
    """Sent at once (not through the outbox): the admin wants the far end's answer now."""
    lang = ctx.lang
    with open_session(ctx.engine) as session:
        rule = session.get(NotifyRule, rule_id)
    if rule is None:
        return t(lang, "reply.notify_unknown", id=Mrkdwn(str(rule_id)))
    labels = _labels(lang, rule)
    now = repo.utcnow()
    event = core.Event(core.TEST, core.Tier[rule.tier] if rule.tier != core.ALL else core.Tier.WARNING, (),
                       now.isoformat())
    try:
        channels.send(ctx.settings, rule, event, f"test-{rule.id}-{time.time_ns()}")
    except NotifyError as exc:
        return t(lang, "reply.notify_test_refused", **labels, code=str(exc), hint=fanout.hint(lang, str(exc)))
    except Exception as exc:  # no answer: say what kind of failure, never the address
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        error = getattr(reason, "strerror", None) or reason.__class__.__name__
        return t(lang, "reply.notify_test_unreachable", **labels, error=str(error))
    fanout.works(ctx.engine, ctx.settings, rule, now)  # a target that failed is let go at once
    return t(lang, "reply.notify_test_sent", **labels)
