"""The outbox: every Slack message Stockbot owes, written in the transaction that causes it.

A check (or a button, or a command) changes its rows and adds the Slack calls that change
needs to the same session; one commit stores both or neither. The sender (bot.sender)
delivers them afterwards, outside any lock a command waits on. Nothing here calls Slack.

Entries with one `key` go out in id order: an alert's update or thread reply never
overtakes the alert itself. Messages are rendered when they are sent where they show
state (alerts, digests: the latest acknowledgement, reorder, recovery), and when they are
written where they report a moment (a reminder, a recovery note, a notice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import event, func
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from storage import repo
from storage.models import Alert, OutboxEntry

# kinds
POST_ALERT = "post_alert"  # the alert's own message; its ts is stored on the alert
UPDATE_ALERT = "update_alert"  # re-render the alert's message (ack, reorder, recovery)
REPLY = "reply"  # a thread reply under an alert (or its digest): payload text
MESSAGE = "message"  # a top-level message: payload text (and blocks)
POST_DIGEST = "post_digest"  # one message for many SKUs; its ts is stored on the digest
UPDATE_DIGEST = "update_digest"
DIGEST_LIST = "digest_list"  # one chunk of the digest's full list, in its thread: payload text
DIGEST_FILE = "digest_file"  # the digest's full list as CSV, in its thread
POST_PURCHASE = "post_purchase"  # a purchase request (bot.purchases): rendered when sent, ts stored on it
UPDATE_PURCHASE = "update_purchase"  # re-render it (approved, rejected)

# Kinds that post a new message: Slack asks for about one a second per channel, and after a
# crash inside the call the sender looks for the message before posting it again.
POSTS = frozenset({POST_ALERT, REPLY, MESSAGE, POST_DIGEST, DIGEST_LIST, DIGEST_FILE, POST_PURCHASE})
UPDATES = frozenset({UPDATE_ALERT, UPDATE_DIGEST, UPDATE_PURCHASE})


# Deliveries that are not Slack calls (e-mail, chat robots, webhooks), by kind:
# handler(session, entry, settings, now). It renders and sends the entry; it raises
# bot.notifier.NotifyError(code) when the far end answered no (retried with backoff; a code in
# bot.sender.FINAL_ERRORS or starting "final_" ends the entry) and any other exception when the
# outcome is unknown (retried: a receiver may see it twice, so send the entry id as an
# idempotency key where the far end has one). Modules register their kinds at import.
EXTERNAL: dict[str, Callable] = {}


def register_external(kind: str, handler: Callable) -> None:
    EXTERNAL[kind] = handler


@dataclass(frozen=True)
class Rendered:
    """A Slack message another module renders when its entry is sent: posted when `ts` is None,
    else the message at `ts` is updated."""

    channel: str
    text: str
    blocks: Optional[list] = None
    ts: Optional[str] = None


# Slack kinds rendered elsewhere (purchase requests), by kind: (render, posted).
# render(session, entry, lang) -> Rendered, or None when there is nothing to send (gone, not
# posted yet); posted(session, entry, ts) stores a new message's ts, in the transaction that
# closes the entry. Modules register their kinds at import (bot.app imports them).
RENDERED: dict[str, tuple[Callable, Optional[Callable]]] = {}


def register_rendered(kind: str, render: Callable, posted: Optional[Callable] = None) -> None:
    RENDERED[kind] = (render, posted)


def sku_key(sku: str) -> str:
    return f"sku:{sku}"


def digest_key(digest_id: int) -> str:
    return f"digest:{digest_id}"


def channel_key(channel: str) -> str:
    return f"channel:{channel}"


def add(session: Session, kind: str, channel: str, key: str, now: datetime, *, alert_id: Optional[int] = None,
        digest_id: Optional[int] = None, payload: Optional[dict] = None,
        not_before: Optional[datetime] = None) -> OutboxEntry:
    # Delivery runs on the wall clock, whatever moment the change is dated (`now`: a check may be
    # run for a given time); `not_before` holds an entry back until then.
    written = repo.utcnow()
    if kind in UPDATES:  # see _waiting: this transaction has queued that update
        session.info.setdefault(_QUEUED, set()).add((kind, alert_id, digest_id))
    entry = OutboxEntry(key=key, kind=kind, channel=channel, alert_id=alert_id, digest_id=digest_id,
                        payload=json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                        created_at=written, next_try_at=max(written, not_before) if not_before else written)
    session.add(entry)
    return entry


def post_alert(session: Session, alert: Alert, now: datetime) -> OutboxEntry:
    """The alert must have its id (flush first)."""
    return add(session, POST_ALERT, alert.channel, sku_key(alert.sku), now, alert_id=alert.id)


def update_alert(session: Session, alert: Alert, now: datetime) -> Optional[OutboxEntry]:
    """Re-render the alert's message (its digest's, when it is part of one). An update already
    waiting renders the latest state when it goes out, so a second one is not added."""
    if alert.digest_id is not None:
        return update_digest(session, alert.digest_id, alert.channel, now)
    if _waiting(session, UPDATE_ALERT, alert_id=alert.id):
        return None
    return add(session, UPDATE_ALERT, alert.channel, sku_key(alert.sku), now, alert_id=alert.id)


def update_digest(session: Session, digest_id: int, channel: str, now: datetime) -> Optional[OutboxEntry]:
    if _waiting(session, UPDATE_DIGEST, digest_id=digest_id):
        return None
    return add(session, UPDATE_DIGEST, channel, digest_key(digest_id), now, digest_id=digest_id)


def reply(session: Session, alert: Alert, text: str, now: datetime, not_before: Optional[datetime] = None) -> OutboxEntry:
    """A thread reply under the alert's message, or under its digest's."""
    return add(session, REPLY, alert.channel, sku_key(alert.sku), now, alert_id=alert.id,
               payload={"text": text}, not_before=not_before)


def message(session: Session, channel: str, text: str, now: datetime, blocks: Optional[list] = None,
            key: Optional[str] = None) -> OutboxEntry:
    return add(session, MESSAGE, channel, key or channel_key(channel), now,
               payload={"text": text, **({"blocks": blocks} if blocks else {})})


_QUEUED = "outbox_updates_queued"  # session.info key: (kind, alert_id, digest_id) added in this transaction


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_queued(session, transaction) -> None:
    if transaction.parent is None:  # committed or rolled back: the sender may take those entries now
        session.info.pop(_QUEUED, None)


def _waiting(session: Session, kind: str, alert_id: Optional[int] = None, digest_id: Optional[int] = None) -> bool:
    """An entry of this kind for this alert/digest not yet sent nor started. A recovery of many SKUs
    in one digest asks once per SKU: after the first, the session answers without a query."""
    if (kind, alert_id, digest_id) in session.info.get(_QUEUED, ()):
        return True
    query = select(func.count()).select_from(OutboxEntry).where(
        col(OutboxEntry.done).is_(False), OutboxEntry.kind == kind, col(OutboxEntry.in_flight_at).is_(None))
    query = query.where(OutboxEntry.alert_id == alert_id) if alert_id is not None else \
        query.where(OutboxEntry.digest_id == digest_id)
    return bool(session.exec(query).one())


def backlog(session: Session) -> tuple[int, Optional[datetime]]:
    """How many entries wait to be delivered, and when the oldest of them was written."""
    waiting = col(OutboxEntry.done).is_(False)
    count = session.exec(select(func.count()).select_from(OutboxEntry).where(waiting)).one()
    oldest = session.exec(select(OutboxEntry.created_at).where(waiting).order_by(col(OutboxEntry.id)).limit(1)).first()
    return int(count), oldest
