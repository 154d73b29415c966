"""Alerts beyond Slack: the events the checker writes fan out to the notification rules, as
outbox entries in the same transaction as the Slack entries (so they are owed exactly when
the Slack message is), and the sender delivers them through the handlers registered here.

The checker calls `notify(session, settings, events, now)` with the facts of what it decided
(`alert_event`, `digest_event`, `reminder_event`, `digest_reminder_event`, `recovery_event`).
Each matching rule gets one entry per event (one per digest, not one per SKU; more than
DIGEST_AFTER recoveries for one rule in one check become one summary). Entries are keyed
`notify:{rule}:{sku}` (in order per target and SKU) on channel `notify:{rule}`: the sender's
channel backoff (ChannelProblem) then holds back a failing target as a whole.

At send time the handler re-reads the rule (a removed rule: the entry ends quietly), adds the
Slack link and the days of cover, and sends. A target that keeps failing is reported once to
OPS_CHANNEL (through the outbox) with its masked target, and once when it works again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Iterable, Optional, Sequence

from sqlmodel import Session, col, select

from bot import outbox
from bot.config import Settings
from bot.core import notify as core
from bot.core.tiers import Tier
from bot.i18n import t
from bot.notifier import NotifyError
from bot.notify import channels
from bot.slack_text import Mrkdwn
from storage.db import session as open_session
from storage.models import Alert, ChannelProblem, Digest, Episode, NotifyRule, OutboxEntry

log = logging.getLogger(__name__)

KIND_PREFIX = "notify_"  # outbox kinds: notify_email, notify_dingtalk, …
REPORT_AFTER = 3  # failures in a row (not counting refusals for good) before OPS_CHANNEL hears of it


def channel_of(rule_id: int) -> str:
    return f"notify:{rule_id}"


# ---- events from what the checker decided -----------------------------------------------------

def _item(alert: Alert, cover: Optional[float] = None) -> core.Item:
    return core.Item(sku=alert.sku, tier=alert.tier, available=alert.available, warning_level=alert.warning_level,
                     critical_level=alert.critical_level, name=alert.name, warehouse=alert.warehouse,
                     on_order=alert.on_order or 0, cover_days=cover if cover is not None else alert.cover_days,
                     alert_id=alert.id)


def alert_event(session: Session, alert: Alert, now: datetime) -> core.Event:
    """A new alert (`notify` makes it an escalation when its episode had a lower tier posted)."""
    return core.Event(core.ALERT, alert.tier, (_item(alert),), now.isoformat(), alert.channel, alert.id,
                      alert.digest_id, 1)


def _escalation(session: Session, event: core.Event) -> core.Event:
    alert = session.get(Alert, event.alert_id)
    if alert is None:
        return event
    before = session.exec(select(Alert.tier).where(Alert.episode_id == alert.episode_id, Alert.id != alert.id)
                          .order_by(col(Alert.tier).desc()).limit(1)).first()
    if before is None:
        return event
    return core.Event(**{**event.to_payload(), "items": event.items, "kind": core.ESCALATION,
                         "previous_tier": before})


def reminder_event(alert: Alert, now: datetime) -> core.Event:
    return core.Event(core.REMINDER, alert.tier, (_item(alert),), now.isoformat(), alert.channel, alert.id,
                      alert.digest_id, 1)


def digest_event(session: Session, digest: Digest, now: datetime) -> core.Event:
    alerts = session.exec(select(Alert).where(Alert.digest_id == digest.id)).all()
    items = tuple(sorted((_item(a) for a in alerts), key=_urgency))
    return core.Event(core.DIGEST, digest.tier, items, now.isoformat(), digest.channel, None, digest.id, len(items))


def digest_reminder_event(session: Session, digest: Digest, alert_ids: Sequence[int], now: datetime) -> core.Event:
    alerts = session.exec(select(Alert).where(col(Alert.id).in_(list(alert_ids)))).all() if alert_ids else []
    items = tuple(sorted((_item(a) for a in alerts), key=_urgency))
    return core.Event(core.DIGEST_REMINDER, digest.tier, items, now.isoformat(), digest.channel, None, digest.id,
                      len(items))


def recovery_event(shown: Sequence[Alert], available: int, now: datetime) -> Optional[core.Event]:
    """A SKU back above its level; None when nothing was posted for its episode."""
    if not shown:
        return None
    worst = max(shown, key=lambda a: a.tier)
    item = core.Item(sku=worst.sku, tier=worst.tier, available=available, warning_level=worst.warning_level,
                     critical_level=worst.critical_level, name=worst.name, warehouse=worst.warehouse,
                     alert_id=shown[0].id)
    return core.Event(core.RECOVERY, worst.tier, (item,), now.isoformat(), shown[0].channel, shown[0].id,
                      shown[0].digest_id, 1)


def _urgency(item: core.Item) -> tuple:
    cover = item.cover_days if item.cover_days is not None else float("inf")
    return cover, item.available / max(item.critical_level if item.tier == Tier.CRITICAL else item.warning_level, 1), \
        item.sku


# ---- fan-out ---------------------------------------------------------------------------------

def rules(session: Session) -> list[NotifyRule]:
    return list(session.exec(select(NotifyRule).order_by(col(NotifyRule.id))).all())


def notify(session: Session, settings: Settings, events: Iterable[Optional[core.Event]], now: datetime) -> int:
    """Add an outbox entry per matching rule and event to the caller's transaction. Returns how many."""
    events = [event for event in events if event is not None]
    if not events:
        return 0
    found = rules(session)
    if not found:
        return 0
    events = [_escalation(session, e) if e.kind == core.ALERT and e.alert_id else e for e in events]
    added = 0
    for rule in found:
        mine = [seen for seen in (core.for_rule(rule.tier, rule.sku_prefix, rule.warehouse, e) for e in events) if seen]
        groupable = [e for e in mine if e.kind in core.GROUPS]
        if len(groupable) > settings.digest_after:  # many recoveries in one check: one message
            mine = [e for e in mine if e.kind not in core.GROUPS]
            items = tuple(item for e in groupable for item in e.items)
            mine.append(core.Event(core.GROUPS[groupable[0].kind], max(e.tier for e in groupable), items,
                                   now.isoformat(), groupable[0].channel, count=len(items)))
        for event in mine:
            key = f"notify:{rule.id}:" + (f"digest:{event.digest_id}" if event.kind in (core.DIGEST, core.DIGEST_REMINDER)
                                          else event.items[0].sku if len(event.items) == 1 else "many")
            outbox.add(session, KIND_PREFIX + rule.kind, channel_of(rule.id), key[:96], now,
                       alert_id=event.alert_id, digest_id=event.digest_id, payload=event.to_payload())
            added += 1
    return added


# ---- delivery (the sender calls these through bot.outbox.EXTERNAL) ----------------------------

def _enrich(session: Session, settings: Settings, event: core.Event, now: datetime) -> core.Event:
    """At send time: the link to the Slack message (posted by now, when Slack took it), and for a
    single alert its days of cover at the current pace."""
    extra = dict(event.extra)
    channel, ts = event.channel, None
    if event.alert_id is not None:
        alert = session.get(Alert, event.alert_id)
        if alert is not None:
            ts = alert.ts
            if not ts and alert.digest_id is not None:
                digest = session.get(Digest, alert.digest_id)
                ts = digest.ts if digest is not None else None
    elif event.digest_id is not None:
        digest = session.get(Digest, event.digest_id)
        ts = digest.ts if digest is not None else None
    from bot.notify.render import slack_link
    extra["slack_link"] = slack_link(channel, ts)
    items = event.items
    if event.kind in (core.ALERT, core.ESCALATION, core.REMINDER) and len(items) == 1 and items[0].cover_days is None \
            and items[0].available > 0:  # sold out: "0 left" says it all
        items = (_with_cover(session, settings, items[0], now),)
    return core.Event(**{**event.to_payload(), "items": items, "extra": extra})


def _with_cover(session: Session, settings: Settings, item: core.Item, now: datetime) -> core.Item:
    from dataclasses import replace

    from bot import planning
    alert = session.get(Alert, item.alert_id) if item.alert_id else None
    episode = session.get(Episode, alert.episode_id) if alert is not None else None
    if episode is None or episode.open_sku is None:
        return item
    try:
        outlook = planning.sku_outlook(session, settings, item.sku, item.available, item.on_order, [], now.date())
    except Exception:  # the forecast is a nicety here: the message goes out without it
        log.exception("days of cover for %s", item.sku)
        return item
    return replace(item, cover_days=outlook.days_of_cover) if outlook is not None else item


def deliver(session: Session, entry: OutboxEntry, settings: Settings, now: datetime) -> None:
    rule = session.get(NotifyRule, int(entry.channel.split(":", 1)[1]))
    if rule is None:
        log.info("outbox entry %s: its notification rule was removed; not sent", entry.id)
        return
    event = _enrich(session, settings, core.Event.from_payload(json.loads(entry.payload or "{}")), now)
    engine = session.get_bind()
    try:
        channels.send(settings, rule, event, str(entry.id))
    except NotifyError as exc:
        final = str(exc).startswith("final_")
        _failed(engine, settings, rule, str(exc), now, final)
        raise
    except Exception as exc:  # no answer: unknown outcome, retried by the sender
        _failed(engine, settings, rule, exc.__class__.__name__, now, final=False)
        raise
    if session.get(ChannelProblem, channel_of(rule.id)) is not None:
        works(engine, settings, rule, now)


def _failed(engine, settings: Settings, rule: NotifyRule, code: str, now: datetime, final: bool) -> None:
    """Count the failure (in its own transaction: the sender records the entry's outcome), hold
    the target back with the sender's backoff, and tell OPS_CHANNEL once."""
    from bot.sender import retry_delay

    log.warning("notification rule %s (%s) failed: %s", rule.id, rule.kind, code)
    with open_session(engine) as session:
        problem = session.get(ChannelProblem, channel_of(rule.id)) or ChannelProblem(
            channel=channel_of(rule.id), error=code[:64], first_failed_at=now, next_try_at=now)
        problem.error, problem.failures = code[:64], problem.failures + 1
        problem.next_try_at = now if final else now + retry_delay(problem.failures)
        ops = settings.ops_channel_or_alerts
        if problem.reported_at is None and ops and (final or problem.failures >= REPORT_AFTER):
            outbox.message(session, ops, failing_text(settings.language, rule, code, final), now)
            problem.reported_at = now
        session.add(problem)
        session.commit()


def works(engine, settings: Settings, rule: NotifyRule, now: datetime) -> None:
    with open_session(engine) as session:
        problem = session.get(ChannelProblem, channel_of(rule.id))
        if problem is None:
            return
        ops = settings.ops_channel_or_alerts
        if problem.reported_at is not None and ops:
            outbox.message(session, ops, t(settings.language, "notify.works_again", id=Mrkdwn(str(rule.id)),
                                           kind=kind_label(settings.language, rule.kind),
                                           target=core.mask_target(rule.kind, rule.target)), now)
        session.delete(problem)
        session.commit()


def kind_label(lang: str, kind: str) -> Mrkdwn:
    return t(lang, f"notify.kind.{kind}")


def hint(lang: str, code: str) -> Mrkdwn:
    number = code.rsplit("_", 1)[-1]
    key = f"notify.hint.{number}" if number.isdigit() else f"notify.hint.{code}"
    from bot.i18n import STRINGS
    return t(lang, key) if key in STRINGS["en"] else Mrkdwn("")


def failing_text(lang: str, rule: NotifyRule, code: str, final: bool) -> Mrkdwn:
    return t(lang, "notify.refused" if final else "notify.failing", id=Mrkdwn(str(rule.id)),
             kind=kind_label(lang, rule.kind), target=core.mask_target(rule.kind, rule.target), code=code,
             hint=hint(lang, code))


for _kind in core.KINDS:
    outbox.register_external(KIND_PREFIX + _kind, deliver)
