"""The imperative shell around the tier rules: read stock, evaluate, talk to Slack.

`Checker` owns every action that changes an alert message, so the scheduled check, the
slash commands and the buttons all render alerts the same way.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Optional, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import messages, notices, planning
from bot.config import Settings
from bot.core.text import clean_optional, clean_text
from bot.core.tiers import PostedAlert, Reading, Tier, is_late, plan_episode
from bot.notifier import Notifier, NotifyError
from bot.sources import Reason, SalesRow, SourceError, StockRow, reason_of
from bot.sources.registry import PUSH_SOURCE, Source, plan_sources
from bot.stock_charts import ChartPoster
from storage import repo
from storage.db import session as open_session
from storage.models import Alert, ChannelProblem, Episode, Reorder

log = logging.getLogger(__name__)

STOCK_WRITE_BATCH = 5000
LAST_CHECK_KEY = "last_check_at"
STOCK_HISTORY_KEEP_DAYS = 120  # the chart draws 60 days; twice that leaves room, and the table stays small
CHANNEL_RETRY_MAX = timedelta(hours=6)


def channel_retry_delay(failures: int, check_interval: timedelta) -> timedelta:
    """After the first refusal the next check tries again; then 1, 3, 7 … check intervals, at most 6 hours."""
    return min(check_interval * (2 ** (max(failures, 1) - 1) - 1), CHANNEL_RETRY_MAX)


@dataclass
class CheckReport:
    evaluated: int = 0
    posted: list[str] = field(default_factory=list)  # "SKU:TIER"
    reminded: int = 0
    recovered: int = 0
    source_errors: list[str] = field(default_factory=list)  # "source: what went wrong"


class Checker:
    def __init__(self, engine: Engine, settings: Settings, notifier: Notifier, charts: bool = True) -> None:
        self.engine = engine
        self.settings = settings
        self.notifier = notifier
        self.lang = settings.language
        # Stock charts in new alerts' threads (and for /stock SKU chart); None: alerts only.
        self.charts: Optional[ChartPoster] = ChartPoster(engine, settings, notifier) if charts else None
        # One check at a time per process; across processes the unique constraints on
        # episodes and alerts make a second poster back off.
        self._lock = threading.Lock()
        # SKUs waiting for an immediate check (pushes, webhooks); one worker drains them, so a
        # burst of pushes becomes a few checks instead of one thread each.
        self._soon: set[str] = set()
        self._recompute_soon: set[str] = set()  # auto levels to recompute first (commands that change inputs)
        self._soon_busy = False
        self._soon_changed = threading.Condition()
        self._soon_worker: Optional[threading.Thread] = None
        # Channels Slack refuses: the stored problems as of this check's start, and the channels
        # not to try again in this check (refused earlier in it, or waiting for their backoff).
        self._channel_problems: dict[str, ChannelProblem] = {}
        self._skip_channels: set[str] = set()

    def check_soon(self, skus: Iterable[str], recompute: bool = False) -> None:
        """Check these SKUs as soon as possible, without making the caller wait (never for the
        check's lock). With `recompute`, their auto levels are recomputed first (and the SKUs
        whose level moved are checked). Requests arriving meanwhile are coalesced."""
        with self._soon_changed:
            (self._recompute_soon if recompute else self._soon).update(skus)
            if self._soon_worker is None or not self._soon_worker.is_alive():
                self._soon_worker = threading.Thread(target=self._drain_soon, daemon=True, name="check-soon")
                self._soon_worker.start()
            self._soon_changed.notify_all()

    def wait_soon(self, timeout: float) -> bool:
        """Wait until every queued immediate check (and recompute) is done; False on timeout."""
        with self._soon_changed:
            return self._soon_changed.wait_for(
                lambda: not (self._soon or self._recompute_soon or self._soon_busy), timeout)

    def _drain_soon(self) -> None:
        while True:
            with self._soon_changed:
                if not (self._soon or self._recompute_soon) and not self._soon_changed.wait(timeout=30):
                    self._soon_worker = None  # idle: let the thread end; the next push starts one
                    return
            with self._lock:  # a check is running: what is queued meanwhile becomes one check after it
                pass
            with self._soon_changed:
                skus, self._soon = sorted(self._soon), set()
                recompute, self._recompute_soon = sorted(self._recompute_soon), set()
                self._soon_busy = bool(skus or recompute)
            try:
                if recompute:
                    self.recompute_auto(recompute)
                if skus:
                    self.run_check(skus)
            except Exception:  # keep draining: one failed check must not stop the next pushes' checks
                log.exception("immediate check of %d SKUs (%d recomputed) failed", len(skus), len(recompute))
            finally:
                with self._soon_changed:
                    self._soon_busy = False
                    self._soon_changed.notify_all()

    # ---- the check -------------------------------------------------------------------------

    def run_check(self, skus: Optional[Sequence[str]] = None, now: Optional[datetime] = None) -> CheckReport:
        """A full check (skus=None: read sources, evaluate every SKU) or an immediate one."""
        report = CheckReport()
        with self._lock:
            now = now or repo.utcnow()
            with open_session(self.engine) as session:
                self._channel_problems = repo.channel_problems(session)
            self._skip_channels = {channel for channel, problem in self._channel_problems.items()
                                   if now < problem.next_try_at}
            if skus is None:
                report.source_errors = self.sync_sources(now)
            remind_after = timedelta(hours=self.settings.remind_after_hours)
            for batch in repo.iter_candidates(self.engine, skus):
                self._process_batch(batch, now, remind_after, report)
            if skus is None:
                with open_session(self.engine) as session:
                    repo.set_meta(session, LAST_CHECK_KEY, now.isoformat())
                    session.commit()
        if report.posted or report.recovered or report.reminded:
            log.info("check: %d SKUs needed a look, posted %s, reminded %d, recovered %d",
                     report.evaluated, report.posted, report.reminded, report.recovered)
        return report

    def _process_batch(self, batch: list[repo.Candidate], now: datetime, remind_after: timedelta,
                       report: CheckReport) -> None:
        with open_session(self.engine) as session:
            alerts = repo.alerts_for_episodes(session, [c.episode_id for c in batch if c.episode_id])
            reorders = repo.open_reorders(session, [c.sku for c in batch])
            written_at = repo.source_written_at(session)
        for candidate in batch:
            report.evaluated += 1
            on_order = sum(r.quantity for r in reorders[candidate.sku]) + candidate.source_on_order
            posted_alerts = alerts.get(candidate.episode_id, []) if candidate.episode_id else []
            reading = Reading(candidate.sku, candidate.available, candidate.warning_level,
                              candidate.critical_level, on_order)
            plan = plan_episode(
                reading, candidate.episode_id is not None,
                [PostedAlert(a.id, Tier(a.tier), a.posted_at, a.acked_by is not None, a.last_reminded_at)
                 for a in posted_alerts],
                now, remind_after)
            if plan.is_noop:
                continue
            # Missing from its source's latest successful read: the numbers are last known values.
            stale = candidate.source is not None and candidate.read_at < written_at.get(candidate.source, candidate.read_at)
            try:
                self._carry_out(plan, candidate, on_order, posted_alerts, now, report,
                                candidate.source if stale else None)
            except Exception:  # one bad SKU must not stop the check for the others
                log.exception("check failed for SKU %s", candidate.sku)

    def _carry_out(self, plan, candidate: repo.Candidate, on_order: int, posted_alerts: list[Alert],
                   now: datetime, report: CheckReport, stale_source: Optional[str]) -> None:
        if plan.close_episode:
            self._recover(candidate, now)
            report.recovered += 1
            return
        episode_id = candidate.episode_id
        if plan.open_episode:
            episode_id = self._open_episode(candidate.sku, now)
        if plan.post_tier is not None and episode_id is not None:
            if self._post_alert(episode_id, candidate, Tier(plan.post_tier), on_order, now, stale_source):
                report.posted.append(f"{candidate.sku}:{Tier(plan.post_tier).word}")
        if plan.remind_alert_id is not None:
            alert = next(a for a in posted_alerts if a.id == plan.remind_alert_id)
            self._remind(alert, now)
            report.reminded += 1

    def _open_episode(self, sku: str, now: datetime) -> Optional[int]:
        with open_session(self.engine) as session:
            episode = Episode(sku=sku, open_sku=sku, opened_at=now)
            session.add(episode)
            try:
                session.commit()
                return episode.id
            except IntegrityError:  # another process opened it first
                session.rollback()
                existing = repo.open_episode(session, sku)
                return existing.id if existing else None

    def _channel_for(self, candidate_channel: Optional[str]) -> str:
        return candidate_channel or self.settings.alert_channel

    def _post_alert(self, episode_id: int, candidate: repo.Candidate, tier: Tier, on_order: int,
                    now: datetime, stale_source: Optional[str] = None) -> bool:
        channel = self._channel_for(candidate.channel)
        if not channel:
            log.error("no channel for %s: set ALERT_CHANNEL or a channel on the threshold", candidate.sku)
            return False
        if channel in self._skip_channels:  # refused: tried again after its backoff, never twice a check
            return False
        alert = Alert(episode_id=episode_id, sku=candidate.sku, tier=int(tier), channel=channel,
                      posted_at=now, available=candidate.available, on_order=on_order,
                      warning_level=candidate.warning_level, critical_level=candidate.critical_level,
                      read_at=candidate.read_at, name=candidate.name, warehouse=candidate.warehouse,
                      source_on_order=candidate.source_on_order or None, stale_source=stale_source,
                      oversold=candidate.oversold or None)
        with open_session(self.engine) as session:
            # Claim the (episode, tier) slot before posting, so a restart or a second
            # process can never post the same alert twice.
            session.add(alert)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            view = self._alert_view(session, alert, now)
            payload = messages.alert_message(self.lang, view)
            try:
                alert.ts = self.notifier.post(channel, payload["text"], payload["blocks"])
            except NotifyError as exc:
                # Release the claim: a later check tries again.
                log.error("Slack refused the %s alert for %s in %s: %s", tier.word, candidate.sku, channel, exc)
                session.delete(alert)
                session.commit()
                if exc.channel_refused:
                    self._channel_refused(channel, str(exc), now)
                return False
            session.add(alert)
            session.commit()
            self._queue_chart(session, alert, view)
        self._channel_works(channel)
        return True

    def _channel_refused(self, channel: str, error: str, now: datetime) -> None:
        """Remember the refusal (in the database: a restart must not report it again), back off,
        and tell OPS_CHANNEL once, in plain words, how to fix it."""
        self._skip_channels.add(channel)
        with open_session(self.engine) as session:
            problem = session.get(ChannelProblem, channel) or ChannelProblem(
                channel=channel, error=error, first_failed_at=now, next_try_at=now)
            problem.error, problem.failures = error[:64], problem.failures + 1
            problem.next_try_at = now + channel_retry_delay(
                problem.failures, timedelta(seconds=self.settings.check_interval_seconds))
            session.add(problem)
            session.commit()
            self._channel_problems[channel] = problem
            ops = self.settings.ops_channel_or_alerts
            if problem.reported_at is not None or not ops or ops == channel:
                return
            try:
                self.notifier.post(ops, notices.channel_refused_text(self.lang, channel, error))
            except NotifyError as exc:
                log.error("could not tell %s that %s refuses alerts: %s", ops, channel, exc)
                return
            problem.reported_at = now
            session.add(problem)
            session.commit()

    def _channel_works(self, channel: str) -> None:
        if channel not in self._channel_problems:
            return
        with open_session(self.engine) as session:
            problem = repo.clear_channel_problem(session, channel)
            session.commit()
        del self._channel_problems[channel]
        ops = self.settings.ops_channel_or_alerts
        if problem is not None and problem.reported_at is not None and ops and ops != channel:
            try:
                self.notifier.post(ops, notices.channel_works_again_text(self.lang, channel))
            except NotifyError as exc:
                log.error("Slack refused the channel recovery notice: %s", exc)

    def _queue_chart(self, session: Session, alert: Alert, view: messages.AlertView) -> None:
        """The alert is posted and stored: its chart follows in the thread, drawn in the background."""
        if self.charts is None:
            return
        try:
            if self.charts.worth_a_try(session, alert, view.outlook.daily if view.outlook else None,
                                       any(r.eta for r in view.reorders)):
                self.charts.for_alert(alert.id)
        except Exception:  # the alert is out; a chart problem must not turn it into a failed post
            log.exception("could not queue the stock chart for %s", alert.sku)

    def _remind(self, alert: Alert, now: datetime) -> None:
        with open_session(self.engine) as session:
            stored = session.get(Alert, alert.id)
            if stored is None or stored.ts is None or stored.acked_by or stored.channel in self._skip_channels:
                return
            view = self._alert_view(session, stored, now)
            try:
                self.notifier.post(stored.channel, messages.reminder_text(self.lang, view), thread_ts=stored.ts)
            except NotifyError as exc:
                log.error("Slack refused the reminder for %s: %s", stored.sku, exc)
                if exc.channel_refused:
                    self._channel_refused(stored.channel, str(exc), now)
                return
            stored.last_reminded_at = now
            session.add(stored)
            session.commit()

    def _recover(self, candidate: repo.Candidate, now: datetime) -> None:
        with open_session(self.engine) as session:
            episode = session.get(Episode, candidate.episode_id)
            if episode is None or episode.open_sku is None:
                return
            episode.open_sku = None
            episode.closed_at = now
            episode.recovered_available = candidate.available
            for reorder in repo.open_reorders(session, [candidate.sku])[candidate.sku]:
                reorder.status, reorder.closed_at = "received", now  # stock arrived: no longer on order
                session.add(reorder)
            session.add(episode)
            session.commit()
            alerts = [a for a in repo.alerts_for_episodes(session, [episode.id])[episode.id] if a.ts]
            for alert in alerts:
                self._update_message(session, alert, now)
            if alerts:
                first = alerts[0]
                try:
                    self.notifier.post(first.channel, messages.recovery_text(
                        self.lang, candidate.sku, candidate.available, candidate.warning_level), thread_ts=first.ts)
                except NotifyError as exc:
                    log.error("Slack refused the recovery note for %s: %s", candidate.sku, exc)

    # ---- rendering and message updates -------------------------------------------------------

    def _alert_view(self, session: Session, alert: Alert, now: datetime) -> messages.AlertView:
        episode = session.get(Episode, alert.episode_id)
        reorders = repo.reorders_for_episode(session, episode) if episode else []
        today = now.date()
        recovered = episode is not None and episode.open_sku is None
        on_order = (sum(r.quantity for r in reorders if r.status == "open") + (alert.source_on_order or 0)
                    if not recovered else alert.on_order)
        outlook = None if recovered else planning.sku_outlook(
            session, self.settings, alert.sku, alert.available, on_order,
            [r.eta for r in reorders if r.status == "open"], today)
        return messages.AlertView(
            alert_id=alert.id or 0, sku=alert.sku, tier=Tier(alert.tier), available=alert.available,
            warning_level=alert.warning_level, critical_level=alert.critical_level, read_at=alert.read_at,
            name=alert.name,
            on_order=on_order, outlook=outlook,
            warehouse=alert.warehouse, stale_source=alert.stale_source,
            acked_by=alert.acked_by, acked_at=alert.acked_at,
            reorders=tuple(messages.ReorderView(r.quantity, r.eta, r.created_by,
                                                late=r.status == "open" and is_late(r.eta, today), note=r.note)
                           for r in reorders),
            recovered_available=episode.recovered_available if recovered else None,
            recovered_at=episode.closed_at if recovered else None,
            oversold=alert.oversold or 0,
        )

    def _update_message(self, session: Session, alert: Alert, now: datetime) -> None:
        if not alert.ts:
            return
        payload = messages.alert_message(self.lang, self._alert_view(session, alert, now))
        try:
            self.notifier.update(alert.channel, alert.ts, payload["text"], payload["blocks"])
        except NotifyError as exc:
            log.error("Slack refused to update the alert for %s: %s", alert.sku, exc)

    def acknowledge(self, alert_id: int, user: str, now: Optional[datetime] = None) -> Optional[Alert]:
        """Record who acknowledged (first one wins) and show it on the message. None: no such alert."""
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return None
            if alert.acked_by is None:
                alert.acked_by, alert.acked_at = user, now
                session.add(alert)
                session.commit()
            self._update_message(session, alert, now)
            return alert

    def record_reorder(self, sku: str, quantity: int, eta, note: Optional[str], user: str,
                       now: Optional[datetime] = None) -> Reorder:
        """Store a reorder; if the SKU has an open alert, show it there and in its thread."""
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            # A NUL would store on SQLite and fail on Postgres; a modal's line breaks are kept.
            note = clean_text(note, keep_newlines=True).strip() or None if note else None
            reorder = Reorder(sku=sku, quantity=quantity, eta=eta, note=note, created_by=user, created_at=now)
            session.add(reorder)
            session.commit()
            episode = repo.open_episode(session, sku)
            if episode is not None:
                alerts = [a for a in repo.alerts_for_episodes(session, [episode.id])[episode.id] if a.ts]
                for alert in alerts:
                    self._update_message(session, alert, now)
                if alerts:
                    view = messages.ReorderView(quantity, eta, user, note=note)
                    try:
                        self.notifier.post(alerts[0].channel, messages.reorder_reply_text(self.lang, sku, view),
                                           thread_ts=alerts[0].ts)
                    except NotifyError as exc:
                        log.error("Slack refused the reorder note for %s: %s", sku, exc)
            return reorder

    def cancel_reorders(self, sku: str, now: Optional[datetime] = None) -> int:
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            open_ones = repo.open_reorders(session, [sku])[sku]
            for reorder in open_ones:
                reorder.status, reorder.closed_at = "cancelled", now
                session.add(reorder)
            session.commit()
            episode = repo.open_episode(session, sku)
            if episode is not None and open_ones:
                for alert in repo.alerts_for_episodes(session, [episode.id])[episode.id]:
                    self._update_message(session, alert, now)
        return len(open_ones)

    def close_episode_silently(self, sku: str, now: Optional[datetime] = None) -> None:
        """When a threshold is removed there is nothing left to alert on: close without posting."""
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            episode = repo.open_episode(session, sku)
            if episode is not None:
                episode.open_sku, episode.closed_at = None, now
                session.add(episode)
                session.commit()

    # ---- auto thresholds -----------------------------------------------------------------------

    def recompute_auto(self, skus: Optional[Sequence[str]] = None, now: Optional[datetime] = None,
                       check_now: bool = True) -> planning.RecomputeReport:
        """Recompute auto levels (nightly, or for SKUs just switched to auto), then check the SKUs
        whose level moved, so a raised level alerts at once (check_now=False: queued, check_soon)."""
        now = now or repo.utcnow()
        report = planning.recompute_auto(self.engine, self.settings, now, skus)
        log.info("auto thresholds: %d recomputed, %d changed, %d without sales history",
                 report.recomputed, len(report.changed), len(report.no_history))
        if report.changed and check_now:
            self.run_check(report.changed, now)
        elif report.changed:
            self.check_soon(report.changed)
        return report

    def prune_stock_history(self, now: Optional[datetime] = None) -> int:
        """Nightly: drop stock history the chart no longer reaches (it draws 60 days)."""
        before = (now or repo.utcnow()).date() - timedelta(days=STOCK_HISTORY_KEEP_DAYS)
        with self.engine.begin() as conn:
            removed = repo.prune_stock_history(conn, before)
        if removed:
            log.info("stock history: %d rows older than %s removed", removed, before)
        return removed

    # ---- sources -----------------------------------------------------------------------------

    def sync_sources(self, now: datetime) -> list[str]:
        """Read every configured stock source into the database. Returns the errors.

        Each source is all or nothing: its rows are written in one transaction, and a read
        that fails (or is empty) writes nothing, so a broken sync never lowers stored stock
        or raises an alert. SKUs a successful read leaves out keep their last value (and
        show its time). A failure is posted once, the recovery once.
        """
        plan = plan_sources(self.settings, self.engine)
        errors = []
        for name, problem in plan.errors:
            self._source_failed(name, problem, now)
            errors.append(f"{name}: {problem}")
        for source in plan.sources:
            error = self.sync_source(source, now)
            if error:
                errors.append(f"{source.name}: {error}")
        return errors

    def sync_source(self, source: Source, now: datetime) -> Optional[str]:
        try:
            fingerprint = source.fingerprint() if source.fingerprint else None
            with open_session(self.engine) as session:
                unchanged = fingerprint is not None and repo.source_state(session, source.name).content_hash == fingerprint
            rows = 0 if unchanged else self.write_stock(source.name, source.read(), now)
            if source.sync_sales is not None:
                source.sync_sales(self.engine, now)
        except SourceError as exc:
            self._source_failed(source.name, reason_of(exc), now)  # the Reason: worded in the reader's language
            return str(exc)
        self._source_succeeded(source.name, fingerprint, rows, unchanged, now)
        return None

    def accept_push(self, rows: Sequence[StockRow], now: Optional[datetime] = None, source: str = PUSH_SOURCE) -> int:
        """Store pushed (or uploaded) stock in one transaction and check those SKUs at once, in the background.

        A push carries only the SKUs that changed, so it never marks other SKUs stale.
        """
        now = now or repo.utcnow()
        count = self.write_stock(source, rows, now)
        with open_session(self.engine) as session:
            state = repo.source_state(session, source)
            state.last_success_at, state.rows_read = now, count
            session.add(state)
            session.commit()
        self.check_soon(row.sku for row in rows)
        return count

    def write_sales(self, source_name: str, rows: Iterable[SalesRow]) -> int:
        """Write daily sales in one transaction; returns how many (sku, warehouse, day) rows."""
        batch = [{"sku": r.sku, "warehouse": clean_text(r.warehouse), "day": r.day, "units": r.units,
                  "source": source_name} for r in rows]
        with self.engine.begin() as conn:
            for start in range(0, len(batch), STOCK_WRITE_BATCH):
                repo.upsert_sales(conn, batch[start:start + STOCK_WRITE_BATCH])
        return len(batch)

    def write_stock(self, source_name: str, rows: Iterable[StockRow], now: datetime) -> int:
        """Write rows in one transaction (a SourceError raised while iterating rolls all of it back).

        Returns how many rows were written. An empty read is an error, never "all gone".
        """
        count = 0
        batch: list[dict] = []
        with self.engine.begin() as conn:
            for row in rows:
                # Negative available is oversold: stored as 0 available (OUT OF STOCK, and sums over
                # warehouses stay true) with the oversold units kept beside it, whatever the source.
                batch.append({"sku": row.sku, "warehouse": clean_text(row.warehouse),
                              "available": max(row.available, 0),
                              "oversold": -row.available if row.available < 0 else None,
                              "name": clean_optional(row.name), "on_order": row.on_order, "source": source_name,
                              "read_at": now})
                count += 1
                if len(batch) >= STOCK_WRITE_BATCH:
                    repo.upsert_stock(conn, batch)
                    batch = []
            if count == 0:
                raise SourceError("the read returned no stock rows", "read_empty")
            repo.upsert_stock(conn, batch)
        return count

    def _source_failed(self, spec: str, error: str, now: datetime) -> None:
        log.warning("stock source %s failed: %s", spec, error)
        with open_session(self.engine) as session:
            state = repo.source_state(session, spec)
            first_failure = not state.failing
            state.failing, state.last_error, state.last_error_at = True, error[:1000], now
            state.last_error_reason = error.to_json() if isinstance(error, Reason) and error.code else None
            session.add(state)
            session.commit()
        if first_failure and self.settings.ops_channel_or_alerts:
            try:
                self.notifier.post(self.settings.ops_channel_or_alerts,
                                   notices.source_failed_text(self.lang, spec, error))
            except NotifyError as exc:
                log.error("Slack refused the source failure notice: %s", exc)

    def _source_succeeded(self, spec: str, fingerprint: Optional[str], rows: int, unchanged: bool,
                          now: datetime) -> None:
        with open_session(self.engine) as session:
            state = repo.source_state(session, spec)
            was_failing = state.failing
            state.failing, state.last_success_at, state.content_hash = False, now, fingerprint
            if not unchanged:
                state.rows_read, state.last_written_at = rows, now
            session.add(state)
            session.commit()
            rows_read = state.rows_read
        if was_failing and self.settings.ops_channel_or_alerts:
            try:
                self.notifier.post(self.settings.ops_channel_or_alerts,
                                   notices.source_recovered_text(self.lang, spec, rows_read))
            except NotifyError as exc:
                log.error("Slack refused the source recovery notice: %s", exc)
