"""Delivers the outbox to Slack: once, in order per key, paced per channel, retried until it lands.

One sender thread per process (and, with replicas, only in the process that holds the lease)
takes the entries that are due, oldest first, the first of each key only. For each entry:

1. If it was cut off inside an earlier call (`in_flight_at` set: the process died, or the call
   timed out), the message may be in Slack already: look for it by its metadata first.
2. Mark it in flight (committed), call Slack, then store the result (the alert's or digest's
   ts) and mark it done in one transaction.

So a crash before the call loses nothing (the entry is still there), a crash after it
duplicates nothing (the metadata finds the message), and only Slack's own answer ends an
entry. Slack refusing the channel backs the channel off (ChannelProblem) and tells
OPS_CHANNEL once; other errors retry with a growing pause (at most RETRY_MAX).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Optional

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import digests, messages, metrics, notices, outbox
from bot.alert_views import alert_view, digest_view
from bot.config import Settings
from bot.core.tiers import Tier
from bot.leader import HOST, process_gone
from bot.notifier import Notifier, NotifyError, outbox_metadata
from storage import repo
from storage.db import session as open_session
from storage.models import Alert, ChannelProblem, Digest, OutboxEntry

log = logging.getLogger(__name__)

RETRY_MIN = timedelta(seconds=2)
RETRY_MAX = timedelta(minutes=2)  # a 10-minute Slack outage is caught up within 2 minutes of its end
CHANNEL_RETRY_MIN = timedelta(minutes=1)
CHANNEL_RETRY_MAX = timedelta(hours=6)
BATCH = 500  # pending entries read per pass
# A call another, still running, process made may yet be answered: it is in doubt only after this.
IN_FLIGHT_GRACE = timedelta(minutes=2)
IDLE_WAIT = 1.0  # seconds between looks at the outbox when nothing is due (other processes write to it too)
# Slack answered, and no retry can change the answer: the entry ends with the error noted.
FINAL_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed", "thread_not_found",
                          "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "too_many_attachments",
                          "invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large"})


def retry_delay(attempts: int) -> timedelta:
    return min(RETRY_MIN * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def channel_retry_delay(failures: int, check_interval: timedelta) -> timedelta:
    """After the first refusal the next check's time tries again; then 1, 3, 7 … intervals, at most 6 hours."""
    return min(check_interval * (2 ** (max(failures, 1) - 1) - 1), CHANNEL_RETRY_MAX)


class Sender:
    def __init__(self, engine: Engine, settings: Settings, notifier: Notifier, charts=None,
                 may_send: Callable[[], bool] = lambda: True) -> None:
        self.engine, self.settings, self.notifier = engine, settings, notifier
        self.lang = settings.language
        self.charts = charts  # bot.stock_charts.ChartPoster: a new alert's chart follows in its thread
        self.may_send = may_send  # replicas: only the lease holder sends
        self.pace = settings.channel_pace_seconds
        self.me = f"{HOST}:{os.getpid()}"
        self._refused_in_pass: set[str] = set()
        self._troubled: set[str] = set()
        self._next_post: dict[str, float] = {}  # channel -> monotonic time its next message may go
        self._pass_lock = threading.Lock()  # the thread and drain() never deliver at the same time
        self._wake = threading.Condition()
        self._kicked = False
        self._busy = False
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # ---- running -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True, name="outbox-sender")
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.kick()
        if self._thread is not None:
            self._thread.join(timeout)

    def kick(self) -> None:
        """Something was written to the outbox: look now rather than at the next idle tick."""
        with self._wake:
            self._kicked = True
            self._wake.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            wait: Optional[float] = IDLE_WAIT
            if self.may_send():
                try:
                    wait = self.deliver_due()
                except Exception:  # the database blinked: keep the thread, try again shortly
                    log.exception("outbox pass failed")
            wait = IDLE_WAIT if wait is None else wait
            with self._wake:
                if not self._kicked and wait > 0:
                    self._wake.wait(min(wait, IDLE_WAIT))
                self._kicked = False

    def drain(self, timeout: float = 60.0) -> bool:
        """Deliver in this thread until nothing is due (for `stockbot check`, the demo and tests).
        False when entries were still due at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            wait = self.deliver_due()
            if wait is None or wait > 0 and not self._due_soon(wait):
                return True
            if time.monotonic() >= deadline:
                return False
            if wait > 0:
                time.sleep(min(wait, max(deadline - time.monotonic(), 0)))

    @staticmethod
    def _due_soon(wait: float) -> bool:
        # Pacing waits (about a second) are worth sitting out; a backoff or a channel's pause is not.
        return wait <= 1.5

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until nothing is due now (entries waiting for a backoff or quiet hours do not count)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open_session(self.engine) as session:
                due = session.exec(select(OutboxEntry.id).where(
                    col(OutboxEntry.done).is_(False), OutboxEntry.next_try_at <= repo.utcnow()).limit(1)).first()
            if due is None and not self._busy:
                return True
            self.kick()
            time.sleep(0.02)
        return False

    # ---- one pass --------------------------------------------------------------------------

    def deliver_due(self) -> Optional[float]:
        """Send every entry that may go now. Returns 0 when something was sent (look again at
        once), else the seconds until the next one is due (None: the outbox is empty)."""
        with self._pass_lock:
            self._busy = True
            try:
                return self._pass()
            finally:
                self._busy = False

    def _pass(self) -> Optional[float]:
        now = repo.utcnow()
        with open_session(self.engine) as session:
            entries = list(session.exec(select(OutboxEntry).where(col(OutboxEntry.done).is_(False))
                                        .order_by(col(OutboxEntry.id)).limit(BATCH)).all())
            problems = repo.channel_problems(session)
        self._troubled = set(problems)  # channels with a stored refusal: a post there may clear it
        if not entries:
            return None
        seen: set[str] = set()
        wait: Optional[float] = None
        sent = False
        self._refused_in_pass: set[str] = set()
        for entry in entries:
            if entry.key in seen:  # in order per key: only the oldest of a key may go
                continue
            if entry.channel in self._refused_in_pass:  # refused a moment ago: it waits out its backoff
                continue
            seen.add(entry.key)
            due = entry.next_try_at
            problem = problems.get(entry.channel)
            if problem is not None and problem.next_try_at > due:
                due = problem.next_try_at
            if due > now:
                wait = _min(wait, (due - now).total_seconds())
                continue
            if entry.kind in outbox.POSTS and self.pace > 0:
                ready_in = self._next_post.get(entry.channel, 0.0) - time.monotonic()
                if ready_in > 0:
                    wait = _min(wait, ready_in)
                    continue
                self._next_post[entry.channel] = time.monotonic() + self.pace
            if self._stop.is_set() and self._thread is threading.current_thread():
                break
            try:
                self._deliver(entry.id)
            except Exception:  # a bug or a database error on one entry must not stop the others
                log.exception("delivering outbox entry %s (%s) failed", entry.id, entry.kind)
                self._retry_later(entry.id, "internal_error", in_doubt=True)
            if entry.kind in outbox.POSTS and self.pace > 0:  # the pause counts from Slack's answer
                self._next_post[entry.channel] = time.monotonic() + self.pace
            sent = True
        return 0.0 if sent else wait

    # ---- one entry -------------------------------------------------------------------------

    def _deliver(self, entry_id: int) -> None:
        with open_session(self.engine) as session:
            entry = session.get(OutboxEntry, entry_id)
            if entry is None or entry.done:
                return
            now = repo.utcnow()
            seen = entry.in_flight_at
            if seen is not None:
                if not self._cut_off(entry, now):
                    return  # another sender's call may still be answered: leave it to that sender
                if entry.kind in outbox.POSTS and entry.kind != outbox.DIGEST_FILE:
                    found = self._look_for_earlier_post(session, entry)
                    if found is _UNKNOWN:
                        return
                    if found is not None:
                        log.warning("outbox entry %s was cut off after Slack had posted it: found %s, "
                                    "not posting again", entry.id, found)
                        self._finish(session, entry, found, now)
                        return
            # Claim it: compare-and-set on what was read, so two senders never both make the call.
            claimed = session.execute(
                update(OutboxEntry).where(col(OutboxEntry.id) == entry.id, col(OutboxEntry.done).is_(False),
                                          col(OutboxEntry.in_flight_at).is_(None) if seen is None
                                          else col(OutboxEntry.in_flight_at) == seen)
                .values(in_flight_at=now, claimed_by=self.me, attempts=OutboxEntry.attempts + 1))
            session.commit()
            if claimed.rowcount != 1:
                return
            session.refresh(entry)
            try:
                send = self._prepare(session, entry, now)
            except Exception:  # a bug in rendering: nothing was sent, so nothing is in doubt
                log.exception("could not render outbox entry %s (%s)", entry.id, entry.kind)
                entry.in_flight_at, entry.error = None, "render_failed"
                entry.next_try_at = now + retry_delay(entry.attempts)
                session.add(entry)
                session.commit()
                return
            try:
                ts = send() if send is not None else None
            except NotifyError as exc:
                self._refused(session, entry, str(exc), now)
                return
            except Exception as exc:  # a timeout or a dropped connection: Slack may have it; look before retrying
                log.warning("Slack call for outbox entry %s (%s) did not answer: %s", entry.id, entry.kind,
                            exc.__class__.__name__)
                entry.next_try_at = now + retry_delay(entry.attempts)
                entry.error = exc.__class__.__name__[:64]
                session.add(entry)
                session.commit()
                return
            self._finish(session, entry, ts, now)
        self._after(entry)

    def _cut_off(self, entry: OutboxEntry, now: datetime) -> bool:
        """Was the earlier call on this entry cut off (its answer will never come)? Yes when this
        process made it (it timed out), when the process that made it is gone (same host), or
        after IN_FLIGHT_GRACE."""
        return entry.claimed_by == self.me or now - entry.in_flight_at > IN_FLIGHT_GRACE or \
            process_gone(entry.claimed_by)

    def _look_for_earlier_post(self, session: Session, entry: OutboxEntry):
        thread = self._thread_ts(session, entry) if entry.kind in (outbox.REPLY, outbox.DIGEST_LIST) else None
        if entry.kind in (outbox.REPLY, outbox.DIGEST_LIST) and thread is None:
            return None
        try:
            return self.notifier.find_posted(entry.channel, entry.id, entry.in_flight_at.timestamp() - 60, thread)
        except NotifyError as exc:
            if str(exc) in ("missing_scope", "not_allowed_token_type"):
                log.error("cannot read %s's history to check for a duplicate (%s): posting again", entry.channel, exc)
                return None
            self._retry_later(entry.id, str(exc), in_doubt=True)
            return _UNKNOWN
        except Exception as exc:  # Slack did not answer: still unknown
            self._retry_later(entry.id, exc.__class__.__name__, in_doubt=True)
            return _UNKNOWN

    def _prepare(self, session: Session, entry: OutboxEntry, now: datetime) -> Optional[Callable[[], Optional[str]]]:
        """Render one entry; returns the call that sends it (it returns the new message's ts for
        posts), or None when nothing is left to send. Rendering fails before any call is made."""
        handler = outbox.EXTERNAL.get(entry.kind)
        if handler is not None:  # not Slack: e-mail, a chat robot, a webhook (bot.outbox.EXTERNAL)
            return lambda: handler(session, entry, self.settings, now)
        rendered = outbox.RENDERED.get(entry.kind)
        if rendered is not None:  # a Slack message another module renders (bot.outbox.RENDERED)
            message = rendered[0](session, entry, self.lang)
            if message is None:
                return None
            if message.ts:
                return lambda: self.notifier.update(message.channel, message.ts, message.text, message.blocks)
            return lambda: self.notifier.post(message.channel, message.text, message.blocks,
                                              metadata=outbox_metadata(entry.id))
        payload = json.loads(entry.payload) if entry.payload else {}
        metadata = outbox_metadata(entry.id)
        if entry.kind in (outbox.POST_ALERT, outbox.UPDATE_ALERT):
            alert = session.get(Alert, entry.alert_id)
            if alert is None or (entry.kind == outbox.POST_ALERT) == bool(alert.ts):
                return None  # gone, posted already, or (an update) never posted: nothing to change
            # As of the check that raised it when that is later than the clock (a check run for a given time).
            message = messages.alert_message(self.lang, alert_view(session, self.settings, alert,
                                                                   max(now, alert.posted_at)))
            if entry.kind == outbox.UPDATE_ALERT:
                return lambda: self.notifier.update(alert.channel, alert.ts, message["text"], message["blocks"])
            return lambda: self.notifier.post(alert.channel, message["text"], message["blocks"], metadata=metadata)
        if entry.kind in (outbox.POST_DIGEST, outbox.UPDATE_DIGEST):
            digest = session.get(Digest, entry.digest_id)
            if digest is None or (entry.kind == outbox.POST_DIGEST) == bool(digest.ts):
                return None
            message = digests.digest_message(self.lang, digest_view(session, digest))
            if entry.kind == outbox.UPDATE_DIGEST:
                return lambda: self.notifier.update(digest.channel, digest.ts, message["text"], message["blocks"])
            return lambda: self.notifier.post(digest.channel, message["text"], message["blocks"], metadata=metadata)
        if entry.kind == outbox.DIGEST_FILE:
            digest = session.get(Digest, entry.digest_id)
            if digest is None or not digest.ts:
                return None
            view = digest_view(session, digest)
            filename, title, comment = digests.digest_file_names(self.lang, view)
            content = digests.digest_csv(view.rows)
            return lambda: self.notifier.upload(digest.channel, filename, content, title, thread_ts=digest.ts,
                                                comment=comment)
        thread = self._thread_ts(session, entry)
        if entry.kind in (outbox.REPLY, outbox.DIGEST_LIST) and thread is None:
            log.info("outbox entry %s: its alert was never posted; the reply is dropped", entry.id)
            return None
        return lambda: self.notifier.post(entry.channel, payload.get("text", ""), payload.get("blocks"),
                                          thread_ts=thread, metadata=metadata)

    @staticmethod
    def _thread_ts(session: Session, entry: OutboxEntry) -> Optional[str]:
        if entry.alert_id is not None:
            alert = session.get(Alert, entry.alert_id)
            if alert is None:
                return None
            if alert.ts:
                return alert.ts
            digest = session.get(Digest, alert.digest_id) if alert.digest_id is not None else None
            return digest.ts if digest is not None else None
        if entry.digest_id is not None:
            digest = session.get(Digest, entry.digest_id)
            return digest.ts if digest is not None else None
        return None

    def _finish(self, session: Session, entry: OutboxEntry, ts: Optional[str], now: datetime) -> None:
        """Slack has it: store where it is and close the entry, in one transaction."""
        posted_tier = None  # (tier, "alert" or "digest"): counted once it is stored
        if ts and entry.kind == outbox.POST_ALERT:
            alert = session.get(Alert, entry.alert_id)
            if alert is not None:
                alert.ts = ts
                session.add(alert)
                posted_tier = (alert.tier, "alert")
        if ts and entry.kind == outbox.POST_DIGEST:
            digest = session.get(Digest, entry.digest_id)
            if digest is not None:
                digest.ts = ts
                session.add(digest)
                posted_tier = (digest.tier, "digest")
        posted = outbox.RENDERED.get(entry.kind, (None, None))[1]
        if ts and posted is not None:
            posted(session, entry, ts)
        entry.done, entry.sent_at, entry.ts, entry.in_flight_at, entry.error = True, now, ts, None, None
        session.add(entry)
        session.commit()
        if posted_tier is not None:
            metrics.alert_posted(Tier(posted_tier[0]).word, posted_tier[1])
        if ts:
            self._channel_works(entry.channel, now)

    def _after(self, entry: OutboxEntry) -> None:
        """A new alert's stock chart follows in its thread (drawn in the background)."""
        if entry.kind != outbox.POST_ALERT or self.charts is None or not entry.ts:
            return
        try:
            with open_session(self.engine) as session:
                alert = session.get(Alert, entry.alert_id)
                if alert is not None and self.charts.worth_a_try(session, alert, None, False):
                    self.charts.for_alert(alert.id)
        except Exception:  # the alert is out; a chart problem must not undo that
            log.exception("could not queue the stock chart for alert %s", entry.alert_id)

    def _refused(self, session: Session, entry: OutboxEntry, error: str, now: datetime) -> None:
        """Slack answered no: the call did not happen, so the entry is not in doubt."""
        entry.in_flight_at, entry.error = None, error[:64]
        if error in FINAL_ERRORS or error.startswith("final_"):
            log.error("Slack refused outbox entry %s (%s) for good: %s", entry.id, entry.kind, error)
            entry.done = True
        elif NotifyError(error).channel_refused:
            self._channel_refused(session, entry.channel, error, now)  # the channel's backoff holds the entry
            self._refused_in_pass.add(entry.channel)
        else:
            log.warning("Slack refused outbox entry %s (%s): %s; trying again", entry.id, entry.kind, error)
            entry.next_try_at = now + retry_delay(entry.attempts)
        session.add(entry)
        session.commit()

    def _retry_later(self, entry_id: int, error: str, in_doubt: bool) -> None:
        with open_session(self.engine) as session:
            entry = session.get(OutboxEntry, entry_id)
            if entry is None or entry.done:
                return
            entry.next_try_at = repo.utcnow() + retry_delay(max(entry.attempts, 1))
            entry.error = error[:64]
            if not in_doubt:
                entry.in_flight_at = None
            session.add(entry)
            session.commit()

    # ---- channels Slack refuses -------------------------------------------------------------

    def _channel_refused(self, session: Session, channel: str, error: str, now: datetime) -> ChannelProblem:
        """Remember the refusal (a restart must not report it again), back the channel off, and
        tell OPS_CHANNEL once, in plain words, how to fix it."""
        problem = session.get(ChannelProblem, channel) or ChannelProblem(
            channel=channel, error=error, first_failed_at=now, next_try_at=now)
        problem.error, problem.failures = error[:64], problem.failures + 1
        # At least a minute: every message to the channel waits with this one, and a refusal is
        # rarely fixed faster than that.
        problem.next_try_at = now + max(CHANNEL_RETRY_MIN, channel_retry_delay(
            problem.failures, timedelta(seconds=self.settings.check_interval_seconds)))
        ops = self.settings.ops_channel_or_alerts
        if problem.reported_at is None and ops and ops != channel:
            outbox.message(session, ops, notices.channel_refused_text(self.lang, channel, error), now)
            problem.reported_at = now
        session.add(problem)
        log.error("Slack refuses %s (%s): trying again after %s", channel, error, problem.next_try_at)
        return problem

    def _channel_works(self, channel: str, now: datetime) -> None:
        if channel not in self._troubled:  # nothing stored about it (as of this pass): nothing to clear
            return
        self._troubled.discard(channel)
        with open_session(self.engine) as session:
            problem = repo.clear_channel_problem(session, channel)
            if problem is None:
                return
            ops = self.settings.ops_channel_or_alerts
            if problem.reported_at is not None and ops and ops != channel:
                outbox.message(session, ops, notices.channel_works_again_text(self.lang, channel), now)
            session.commit()


_UNKNOWN = object()  # the earlier call's outcome is still unknown (Slack would not say): wait


def _min(current: Optional[float], value: float) -> float:
    return value if current is None else min(current, value)
