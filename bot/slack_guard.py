"""What /slack/events checks before Bolt sees a request: size, signature headers, replays and retries.

Bolt verifies signatures too, but it reads any body it is given and raises on a malformed
timestamp header. Here, in order:

1. A body over SLACK_MAX_BODY_BYTES is refused (413) without being read.
2. The timestamp and signature headers must look like Slack's (digits; `v0=` + 64 hex) and
   the signature must match, within Slack's 5-minute window: else 401, never a traceback.
3. A correctly signed request is executed once: its signature is stored, so the same
   request sent again within the window (by anyone who captured it) is answered 200 and
   ignored, also by another process sharing the database.
4. An event Slack sends again (same `event_id`, with `X-Slack-Retry-Num`) is acknowledged
   and not processed a second time, across restarts.

Seen keys live in the `webhook_delivery` table and are forgotten after SEEN_FOR.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy.engine import Engine

from storage import repo
from storage.db import make_engine
from storage.db import session as open_session

log = logging.getLogger(__name__)

SLACK_MAX_BODY_BYTES = 1024 * 1024  # Slack's own payloads are a few kB; a modal submission stays far below
SIGNATURE_WINDOW_SECONDS = 5 * 60  # what Slack documents, and what Bolt enforces
# Slack retries an event after ~1 minute and ~5 minutes; replayed signatures die after the window.
SEEN_FOR = timedelta(hours=1)
PRUNE_EVERY = timedelta(minutes=10)
SIGNATURE_KEY, EVENT_KEY = "slack-sig:", "slack-event:"

_TIMESTAMP = re.compile(r"^\d{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
_last_prune = [0.0]
_prune_lock = threading.Lock()


def signature_ok(secret: str, body: bytes, timestamp: Optional[str], signature: Optional[str],
                 now: Optional[float] = None) -> bool:
    """Slack's v0 signature of `body`, checked in constant time; malformed headers are simply False."""
    if not secret or not timestamp or not signature:
        return False
    timestamp, signature = timestamp.strip(), signature.strip()
    if not _TIMESTAMP.match(timestamp) or not _SIGNATURE.match(signature):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def event_id_of(body: bytes, content_type: str) -> Optional[str]:
    """The `event_id` of an Events API callback; None for commands, buttons and unreadable bodies."""
    if not content_type.lower().startswith("application/json") or not body.lstrip().startswith(b"{"):
        return None
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None  # Bolt refuses it with a 400
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    return event_id[:100] if isinstance(event_id, str) and event_id else None


GUARD_WAIT_SECONDS = 0.15


def guard_engine(database_url: str) -> Engine:
    """The request guard's own connections: every Slack request records its key here before its ack,
    so it must never queue behind work after ack (which may hold pooled connections while Slack is
    slow) nor wait long for a SQLite write (a source sync writes all its rows in one transaction).
    Past GUARD_WAIT_SECONDS the insert fails and the request is processed anyway (bot.web)."""
    return make_engine(database_url, busy_timeout=GUARD_WAIT_SECONDS, pool_size=16, max_overflow=8,
                       pool_timeout=GUARD_WAIT_SECONDS)


def first_time(engine: Engine, key: str, now: datetime) -> bool:
    """Record `key`; False when it was recorded before (by this or any process sharing the database)."""
    _prune(engine, now)
    with open_session(engine) as session:
        return repo.record_delivery(session, key, now)


def _prune(engine: Engine, now: datetime) -> None:
    with _prune_lock:
        if time.monotonic() - _last_prune[0] < PRUNE_EVERY.total_seconds():
            return
        _last_prune[0] = time.monotonic()
    try:
        with open_session(engine) as session:
            for prefix in (SIGNATURE_KEY, EVENT_KEY):
                repo.forget_deliveries(session, now - SEEN_FOR, prefix)
    except Exception:  # pruning is housekeeping: never refuse a request over it
        log.warning("could not forget old Slack request keys", exc_info=True)


def signature_key(signature: str) -> str:
    return SIGNATURE_KEY + signature.strip()


def event_key(event_id: str) -> str:
    return EVENT_KEY + event_id
