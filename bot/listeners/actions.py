"""Buttons on alert messages: `ack_restock`, `mark_reordered` (opens the reorder modal), the
`snooze` menu (1 day, 1 week, until it gets worse) and, on digests, `ack_digest` (Acknowledge all)."""

from __future__ import annotations

import re

from slack_bolt import App

from bot import replies
from bot.core.quiet import parse_snooze_value
from bot.digests import ACTION_ACK_DIGEST
from bot.i18n import t
from bot.messages import ACTION_ACK, ACTION_REORDERED, ACTION_SNOOZE, SnoozeView, reorder_modal, snooze_until_text
from storage.db import session as open_session
from storage.models import Alert

MAX_ID = 2 ** 31 - 1  # alert ids are database integers: a larger value (tampered) is no alert, not an overflow


def _alert_id(body: dict):
    try:
        value = int(body["actions"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def _selected(body: dict):
    """A select menu's chosen value, or None."""
    try:
        return body["actions"][0]["selected_option"]["value"]
    except (KeyError, IndexError, TypeError):
        return None


def _tell(respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register(app: App, ctx) -> None:
    @app.action(ACTION_ACK)
    def acknowledge(ack, body, respond):
        ack()

        def work():
            alert_id = _alert_id(body)
            alert = ctx.checker.acknowledge(alert_id, body["user"]["id"]) if alert_id is not None else None
            if alert is None:
                _tell(respond, t(ctx.lang, "reply.alert_gone"))

        ctx.after_ack(respond, "acknowledge", work)

    @app.action(ACTION_ACK_DIGEST)
    def acknowledge_digest(ack, body, respond):
        ack()

        def work():
            digest_id = _alert_id(body)  # the same kind of value: a positive database id
            count = ctx.checker.acknowledge_digest(digest_id, body["user"]["id"]) if digest_id is not None else None
            if count is None:
                _tell(respond, t(ctx.lang, "reply.digest_unknown"))
            else:
                _tell(respond, t(ctx.lang, "reply.digest_acked", count=f"{count:,}"))

        ctx.after_ack(respond, "acknowledge all", work)

    @app.action(ACTION_REORDERED)
    def mark_reordered(ack, body, respond, client):
        ack()

        def work():
            user = body["user"]["id"]
            if not ctx.settings.is_admin(user):
                _tell(respond, replies.not_admin(ctx.lang, ctx.settings.threshold_admins))
                return
            alert_id = _alert_id(body)
            with open_session(ctx.engine) as session:
                alert = session.get(Alert, alert_id) if alert_id is not None else None
            if alert is None:
                _tell(respond, t(ctx.lang, "reply.alert_gone"))
                return
            client.views_open(trigger_id=body["trigger_id"], view=reorder_modal(ctx.lang, alert.id, alert.sku))

        ctx.after_ack(respond, "mark reorder placed", work)

    @app.action(ACTION_SNOOZE)
    def snooze(ack, body, respond):
        ack()

        def work():
            user = body["user"]["id"]
            choice = parse_snooze_value(_selected(body))
            if choice is None:
                _tell(respond, t(ctx.lang, "reply.snooze_bad"))
                return
            if not ctx.settings.is_admin(user):  # silencing alerts for everyone: as for reorders
                _tell(respond, replies.not_admin(ctx.lang, ctx.settings.threshold_admins))
                return
            alert, stored = ctx.checker.snooze(choice[0], user, choice[1])
            if alert is None:
                _tell(respond, t(ctx.lang, "reply.alert_gone"))
            elif stored is None:
                _tell(respond, t(ctx.lang, "reply.snooze_recovered", sku=alert.sku))
            else:
                _tell(respond, t(ctx.lang, "reply.snoozed", sku=alert.sku,
                                 until=snooze_until_text(ctx.lang, SnoozeView(stored.snoozed_by, stored.until))))

        ctx.after_ack(respond, "snooze", work)


def register_fallback(app: App, ctx) -> None:
    """Registered after every other listener, so it only sees buttons none of them handles (an older
    version's, or a tampered payload): Slack gets its 200, the user a word, nothing changes."""
    @app.action(re.compile(".*"))
    def unknown_button(ack, respond):
        ack()
        ctx.after_ack(respond, "unknown button", lambda: _tell(respond, t(ctx.lang, "reply.unknown_button")))
