"""The check: read stock, decide each SKU's alert lifecycle, and write what Slack must be told.

Deciding is the pure `plan_episode` (bot.core.tiers); this shell carries the plans out as
database changes, each in one transaction with the outbox entries it causes (bot.outbox).
Nothing here calls Slack: the sender (bot.sender) delivers the outbox after the check, outside
the check's lock, so a slow Slack never holds up a check, a push or a command.

The check collects every SKU's decision first and writes at the end, grouped: when more than
DIGEST_AFTER SKUs enter one tier for one channel, they become one digest message; when more
than DIGEST_AFTER recover in one channel, one summary says so.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Optional, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import digests, logs, messages, metrics, outbox, planning
from bot.alert_views import alert_view, digest_alerts
from bot.config import Settings
from bot.core.quiet import in_quiet_hours, snooze_until
from bot.core.text import clean_text
from bot.core.tiers import PostedAlert, Reading, Snooze, Tier, level_for, plan_episode
from bot.leader import check_lock
from bot.notifier import Notifier
from bot.notify import fanout  # registers the non-Slack deliveries (bot.outbox.EXTERNAL)
from bot.sender import Sender, channel_retry_delay  # noqa: F401  (channel_retry_delay: re-exported)
from bot.stock_charts import ChartPoster
from bot.sync import STOCK_WRITE_BATCH, SourceSync  # noqa: F401
from bot.team_parts import OfCurrentTeam, TeamParts
from bot.tenancy import current_team, using_team
from bot.workspaces import Workspaces
from storage import repo
from storage.db import session as open_session
from storage.models import Alert, Digest, Episode, Reorder, SkuSnooze

log = logging.getLogger(__name__)

LAST_CHECK_KEY = "last_check_at"
STOCK_HISTORY_KEEP_DAYS = 120  # the chart draws 60 days; twice that leaves room, and the table stays small
OUTBOX_KEEP_DAYS = 7  # delivered entries are kept a week for looking into what was sent, then pruned
COVER_PACE_DAYS = 28  # a digest orders SKUs by days of cover at the last four weeks' pace
WRITE_CHUNK = 1000  # decisions written per transaction where each stands alone (openings, reminders)


@dataclass
class CheckReport:
    evaluated: int = 0
    posted: list[str] = field(default_factory=list)  # "SKU:TIER" (alerts and digest members)
    digests: int = 0
    reminded: int = 0
    recovered: int = 0
    source_errors: list[str] = field(default_factory=list)  # "source: what went wrong"


@dataclass
class _Post:
    candidate: repo.Candidate
    tier: Tier
    on_order: int
    stale_source: Optional[str]
    channel: str


@dataclass
class _Recovery:
    candidate: repo.Candidate
    channel: Optional[str]  # where its alerts are; None: nothing was posted for the episode


@dataclass
class _Decisions:
    posts: list[_Post] = field(default_factory=list)
    opens: list[str] = field(default_factory=list)  # episodes to open without a post (on order covers it)
    reminders: list[repo.AlertState] = field(default_factory=list)
    recoveries: list[_Recovery] = field(default_factory=list)
    written_at: dict = field(default_factory=dict)  # source -> when it last wrote rows (stale readings)
    snoozes: dict = field(default_factory=dict)  # sku -> SkuSnooze (expired ones too: _snooze decides)
    snooze_ends: list[tuple[str, Optional[Tier]]] = field(default_factory=list)  # (SKU, the tier it posts)


def _snooze(row: Optional[SkuSnooze]) -> Optional[Snooze]:
    return Snooze(Tier(row.tier), row.until) if row is not None else None


class Checker(OfCurrentTeam, SourceSync):
    """Checks one team at a time: the current one (bot.tenancy); `settings`, `lang` and `notifier`
    are that team's (bot.team_parts). `workspaces`: every installed workspace (None: the one of
    single-workspace mode, with these settings and this notifier)."""

    def __init__(self, engine: Engine, settings: Settings, notifier: Notifier, charts: bool = True,
                 workspaces: Optional[Workspaces] = None) -> None:
        self.engine = engine
        self.parts = TeamParts(settings, notifier, workspaces)
        # Stock charts in new alerts' threads (and for /stock SKU chart); None: alerts only.
        self.charts: Optional[ChartPoster] = ChartPoster(engine, self.parts) if charts else None
        self.sender = Sender(engine, self.parts, self.charts)
        # One check at a time per process (replicas: the lease, bot.leader). Only decisions and
        # database writes happen under it; Slack is called by the sender, outside it.
        self._lock = threading.Lock()
        # SKUs waiting for an immediate check (pushes, webhooks, commands); one worker drains them,
        # so a burst becomes a few checks instead of one thread each.
        self._soon: dict[str, set[str]] = {}  # team -> SKUs
        self._recompute_soon: dict[str, set[str]] = {}  # team -> auto levels to recompute first (commands)
        self._soon_busy = False
        self._soon_changed = threading.Condition()
        self._soon_worker: Optional[threading.Thread] = None

    def deliver(self) -> None:
        """Get what was just written to the outbox on its way: wake the sender thread, or, where
        none runs (`stockbot check`, the demo, a test), deliver it here and now."""
        if self.sender.running:
            self.sender.kick()
        else:
            self.sender.drain()

    def check_soon(self, skus: Iterable[str], recompute: bool = False) -> None:
        """Check these SKUs as soon as possible, without making the caller wait (never for the
        check's lock). With `recompute`, their auto levels are recomputed first (and the SKUs
        whose level moved are checked). Requests arriving meanwhile are coalesced."""
        team = current_team()
        with self._soon_changed:
            (self._recompute_soon if recompute else self._soon).setdefault(team, set()).update(skus)
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
                # Queued per team: each team's SKUs are checked as that team's work.
                queued, self._soon = self._soon, {}
                recomputes, self._recompute_soon = self._recompute_soon, {}
                self._soon_busy = bool(queued or recomputes)
            try:
                for team in sorted(set(queued) | set(recomputes)):
                    skus, recompute = sorted(queued.get(team, ())), sorted(recomputes.get(team, ()))
                    try:
                        with using_team(team):
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
        """A full check (skus=None: read sources, evaluate every SKU) or an immediate one; timed and
        counted (bot/metrics.py), and its log lines carry one check_id (bot/logs.py)."""
        with logs.check_scope(), metrics.timed_check("full" if skus is None else "immediate") as reports:
            reports.append(self._run_check(skus, now))
        return reports[0]

    def _run_check(self, skus: Optional[Sequence[str]], now: Optional[datetime]) -> CheckReport:
        report = CheckReport()
        # One check at a time in this process, and across processes on one database.
        with self._lock, check_lock(self.engine, wait_seconds=self.settings.check_interval_seconds,
                                    team=current_team()):
            now = now or repo.utcnow()
            if skus is None:
                report.source_errors = self.sync_sources(now)
            remind_after = timedelta(hours=self.settings.remind_after_hours)
            decisions = _Decisions()
            with open_session(self.engine) as session:
                # Read once per check, not per batch: both tables are small (sources; snoozed SKUs).
                decisions.written_at = repo.source_written_at(session)
                decisions.snoozes = repo.all_snoozes(session)
            for batch in repo.iter_candidates(self.engine, skus):
                self._decide_batch(batch, now, remind_after, report, decisions)
            self._write(decisions, now, report)
            if skus is None:
                with open_session(self.engine) as session:
                    repo.set_meta(session, LAST_CHECK_KEY, now.isoformat())
                    session.commit()
        self.deliver()
        if report.posted or report.recovered or report.reminded:
            more = len(report.posted) - 20
            shown = ", ".join(report.posted[:20]) + (f" and {more} more" if more > 0 else "")
            log.info("check: %d SKUs needed a look, posted %d alerts (%d digests) [%s], reminded %d, recovered %d",
                     report.evaluated, len(report.posted), report.digests, shown, report.reminded, report.recovered)
        return report

    def _decide_batch(self, batch: list[repo.Candidate], now: datetime, remind_after: timedelta,
                      report: CheckReport, decisions: _Decisions) -> None:
        with open_session(self.engine) as session:
            # Plain rows (repo.AlertState, sums): a steady check reads these for every open episode.
            alerts = repo.alert_states(session, [c.episode_id for c in batch if c.episode_id])
            reordered = repo.open_reorder_quantities(session, [c.sku for c in batch])
        written_at, snoozes = decisions.written_at, decisions.snoozes
        settings = self.settings  # the current workspace's, looked up once for the batch
        quiet = in_quiet_hours(now, settings.quiet_hours, settings.zone)
        for candidate in batch:
            report.evaluated += 1
            on_order = reordered.get(candidate.sku, 0) + candidate.source_on_order
            posted_alerts = alerts.get(candidate.episode_id, []) if candidate.episode_id else []
            reading = Reading(candidate.sku, candidate.available, candidate.warning_level,
                              candidate.critical_level, on_order)
            plan = plan_episode(
                reading, candidate.episode_id is not None,
                [PostedAlert(a.id, Tier(a.tier), a.posted_at, a.acked_by is not None, a.last_reminded_at)
                 for a in posted_alerts],
                now, remind_after, _snooze(snoozes.get(candidate.sku)), quiet)
            if plan.is_noop:
                continue
            if plan.end_snooze:
                decisions.snooze_ends.append((candidate.sku, plan.post_tier))
            if plan.close_episode:
                decisions.recoveries.append(_Recovery(candidate, posted_alerts[0].channel if posted_alerts else None))
                continue
            if plan.post_tier is not None:
                channel = candidate.channel or settings.alert_channel
                if not channel:
                    log.error("no channel for %s: set ALERT_CHANNEL (with many workspaces: /stockbot config alert-channel) "
                              "or a channel on the threshold", candidate.sku)
                else:
                    # Missing from its source's latest successful read: the numbers are last known values.
                    stale = candidate.source is not None and \
                        candidate.read_at < written_at.get(candidate.source, candidate.read_at)
                    decisions.posts.append(_Post(candidate, Tier(plan.post_tier), on_order,
                                                 candidate.source if stale else None, channel))
            elif plan.open_episode:
                decisions.opens.append(candidate.sku)
            if plan.remind_alert_id is not None:
                decisions.reminders.append(next(a for a in posted_alerts if a.id == plan.remind_alert_id))

    # ---- writing the decisions ---------------------------------------------------------------

    def _write(self, decisions: _Decisions, now: datetime, report: CheckReport) -> None:
        for sku, post_tier in decisions.snooze_ends:
            self._end_snooze(sku, post_tier, now)
        for start in range(0, len(decisions.opens), WRITE_CHUNK):
            self._open_episodes(decisions.opens[start:start + WRITE_CHUNK], now)
        groups: dict[tuple[str, Tier], list[_Post]] = defaultdict(list)
        for post in decisions.posts:
            groups[(post.channel, post.tier)].append(post)
        for (channel, tier), posts in groups.items():
            if len(posts) > self.settings.digest_after:
                if self._write_digest(channel, tier, posts, now):
                    report.digests += 1
                    report.posted.extend(f"{p.candidate.sku}:{tier.word}" for p in posts)
                continue
            for post in posts:
                try:
                    if self._write_alert(post, now):
                        report.posted.append(f"{post.candidate.sku}:{tier.word}")
                except Exception:  # one bad SKU must not stop the check for the others
                    log.exception("writing the alert for %s failed", post.candidate.sku)
        report.reminded += self._write_reminders(decisions.reminders, now)
        by_channel: dict[Optional[str], list[_Recovery]] = defaultdict(list)
        for recovery in decisions.recoveries:
            by_channel[recovery.channel].append(recovery)
        for channel, recoveries in by_channel.items():
            try:
                report.recovered += self._write_recoveries(channel, recoveries, now)
            except Exception:
                log.exception("writing %d recoveries in %s failed", len(recoveries), channel)

    def _end_snooze(self, sku: str, post_tier: Optional[Tier], now: datetime) -> None:
        """A worse tier (or time) ended the snooze: drop it, and its line from the open alerts.
        A snooze stored since the check read it (someone chose again) is left alone."""
        with open_session(self.engine) as session:
            stored = session.get(SkuSnooze, sku)
            if stored is None or (_snooze(stored).active(now) and (post_tier or Tier.OK) <= stored.tier):
                return
            if not repo.end_snooze(session, sku, stored.snoozed_at):
                return
            episode = repo.open_episode(session, sku)
            for alert in repo.alerts_for_episodes(session, [episode.id])[episode.id] if episode else []:
                outbox.update_alert(session, alert, now)
            session.commit()

    def _open_episodes(self, skus: list[str], now: datetime) -> None:
        try:
            with open_session(self.engine) as session:
                session.add_all([Episode(sku=sku, open_sku=sku, opened_at=now) for sku in skus])
                session.commit()
        except IntegrityError:  # another process opened some of them first: one at a time
            for sku in skus:
                with open_session(self.engine) as session:
                    try:
                        self._episode_id(session, sku, now)
                        session.commit()
                    except IntegrityError:
                        session.rollback()

    @staticmethod
    def _episode_id(session: Session, sku: str, now: datetime) -> int:
        """The SKU's open episode, opened now if there is none (in the caller's transaction; a
        second writer's episode makes the flush raise IntegrityError, and the caller backs off)."""
        existing = repo.open_episode(session, sku)
        if existing is not None:
            return existing.id
        episode = Episode(sku=sku, open_sku=sku, opened_at=now)
        session.add(episode)
        session.flush()
        return episode.id

    @staticmethod
    def _new_alert(post: _Post, now: datetime, episode_id: int, digest_id: Optional[int] = None,
                   cover_days: Optional[float] = None) -> Alert:
        candidate = post.candidate
        return Alert(episode_id=episode_id, sku=candidate.sku, tier=int(post.tier), channel=post.channel,
                     posted_at=now, available=candidate.available, on_order=post.on_order,
                     warning_level=candidate.warning_level, critical_level=candidate.critical_level,
                     read_at=candidate.read_at, name=candidate.name, warehouse=candidate.warehouse,
                     source_on_order=candidate.source_on_order or None, stale_source=post.stale_source,
                     oversold=candidate.oversold or None, digest_id=digest_id, cover_days=cover_days)

    def _write_alert(self, post: _Post, now: datetime) -> bool:
        """The alert row (its episode opened if need be) and its post, in one transaction. The
        unique (episode, tier) makes a second writer back off: an alert is owed once."""
        with open_session(self.engine) as session:
            try:
                episode_id = post.candidate.episode_id or self._episode_id(session, post.candidate.sku, now)
                alert = self._new_alert(post, now, episode_id)
                session.add(alert)
                session.flush()
            except IntegrityError:
                session.rollback()
                return False
            outbox.post_alert(session, alert, now)
            fanout.notify(session, self.settings, [fanout.alert_event(session, alert, now)], now)
            session.commit()
        return True

    def _write_digest(self, channel: str, tier: Tier, posts: list[_Post], now: datetime) -> bool:
        """One digest for many SKUs: the digest, every SKU's episode and alert, the message, its
        full list in the thread and the CSV, all in one transaction."""
        with open_session(self.engine) as session:
            daily = repo.recent_daily_units(session, [p.candidate.sku for p in posts],
                                            now.date() - timedelta(days=COVER_PACE_DAYS), COVER_PACE_DAYS)
            digest = Digest(channel=channel, tier=int(tier), created_at=now, count=len(posts))
            session.add(digest)
            # SKUs entering their first tier open their episode here, in one insert (a second
            # writer's episode for one of them makes the flush raise IntegrityError).
            opened = {p.candidate.sku: Episode(sku=p.candidate.sku, open_sku=p.candidate.sku, opened_at=now)
                      for p in posts if not p.candidate.episode_id}
            session.add_all(opened.values())
            try:
                session.flush()
                rows = []
                for post in posts:
                    candidate = post.candidate
                    pace = daily.get(candidate.sku, 0.0)
                    cover = candidate.available / pace if pace > 0 else None
                    episode_id = candidate.episode_id or opened[candidate.sku].id
                    session.add(self._new_alert(post, now, episode_id, digest.id, cover))
                    rows.append(digests.DigestRow(candidate.sku, candidate.name, candidate.available,
                                                  level_for(tier, candidate.warning_level, candidate.critical_level),
                                                  cover))
                session.flush()
            except IntegrityError:  # another process wrote some of these alerts: the next check decides again
                session.rollback()
                log.warning("digest of %d %s alerts for %s collided with another writer; retried next check",
                            len(posts), tier.word, channel)
                return False
            rows.sort(key=digests.urgency)
            key = outbox.digest_key(digest.id)
            outbox.add(session, outbox.POST_DIGEST, channel, key, now, digest_id=digest.id)
            for chunk in digests.digest_list_chunks(self.lang, rows):
                outbox.add(session, outbox.DIGEST_LIST, channel, key, now, digest_id=digest.id,
                           payload={"text": chunk})
            outbox.add(session, outbox.DIGEST_FILE, channel, key, now, digest_id=digest.id)
            fanout.notify(session, self.settings, [fanout.digest_event(session, digest, now)], now)
            session.commit()
        return True

    def _write_reminders(self, alerts: list[repo.AlertState], now: datetime) -> int:
        """A reminder per unacknowledged alert; alerts in one digest share one reminder in its thread."""
        reminded = 0
        own = [a for a in alerts if a.digest_id is None]
        for start in range(0, len(own), WRITE_CHUNK):
            with open_session(self.engine) as session:
                events = []
                for stale in own[start:start + WRITE_CHUNK]:
                    alert = session.get(Alert, stale.id)
                    if alert is None or alert.acked_by:
                        continue
                    alert.last_reminded_at = now
                    session.add(alert)
                    outbox.reply(session, alert, messages.reminder_text(
                        self.lang, alert_view(session, self.settings, alert, now)), now)
                    events.append(fanout.reminder_event(alert, now))
                    reminded += 1
                fanout.notify(session, self.settings, events, now)  # the rules read once for the chunk
                session.commit()
        by_digest: dict[int, list[repo.AlertState]] = defaultdict(list)
        for alert in alerts:
            if alert.digest_id is not None:
                by_digest[alert.digest_id].append(alert)
        for digest_id, members in by_digest.items():
            with open_session(self.engine) as session:
                digest = session.get(Digest, digest_id)
                if digest is None or digest.acked_by:
                    continue
                for stale in members:
                    alert = session.get(Alert, stale.id)
                    if alert is not None:
                        alert.last_reminded_at = now
                        session.add(alert)
                digest.last_reminded_at = now
                session.add(digest)
                outbox.add(session, outbox.REPLY, digest.channel, outbox.digest_key(digest_id), now,
                           digest_id=digest_id, payload={"text": digests.digest_reminder_text(
                               self.lang, Tier(digest.tier), len(members), digest.count)})
                fanout.notify(session, self.settings, [fanout.digest_reminder_event(
                    session, digest, [m.id for m in members], now)], now)
                session.commit()
                reminded += len(members)
        return reminded

    def _write_recoveries(self, channel: Optional[str], recoveries: list[_Recovery], now: datetime) -> int:
        """Close the episodes, mark their reorders received, and make their messages look
        resolved; then a thread reply each, or (more than DIGEST_AFTER) one summary for the channel."""
        summary = channel is not None and len(recoveries) > self.settings.digest_after
        closed: list[digests.RecoveredRow] = []
        notified = []  # bot.notify: one event per SKU; more than DIGEST_AFTER for one rule become one message
        with open_session(self.engine) as session:
            for start in range(0, len(recoveries), repo.IN_LIST_SIZE):
                part = recoveries[start:start + repo.IN_LIST_SIZE]
                alerts = repo.alerts_for_episodes(session, [r.candidate.episode_id for r in part])
                reorders = repo.open_reorders(session, [r.candidate.sku for r in part])
                for recovery in part:
                    candidate = recovery.candidate
                    episode = session.get(Episode, candidate.episode_id)
                    if episode is None or episode.open_sku is None:
                        continue
                    episode.open_sku, episode.closed_at = None, now
                    episode.recovered_available = candidate.available
                    session.add(episode)
                    for reorder in reorders[candidate.sku]:
                        reorder.status, reorder.closed_at = "received", now  # stock arrived: no longer on order
                        session.add(reorder)
                    shown = alerts[episode.id]
                    for alert in shown:
                        outbox.update_alert(session, alert, now)
                    closed.append(digests.RecoveredRow(candidate.sku, candidate.available, candidate.warning_level))
                    notified.append(fanout.recovery_event(shown, candidate.available, now))
                    if shown and not summary:
                        outbox.reply(session, shown[0], messages.recovery_text(
                            self.lang, candidate.sku, candidate.available, candidate.warning_level), now)
                session.flush()
            if summary and closed:
                outbox.message(session, channel, digests.recovery_summary_text(self.lang, closed), now)
            fanout.notify(session, self.settings, notified, now)
            session.commit()
        return len(closed)

    # ---- buttons and commands -------------------------------------------------------------------

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
            # Shown again even when someone was first: the presser's screen may be out of date.
            outbox.update_alert(session, alert, now)
            session.commit()
        self.deliver()
        return alert

    def acknowledge_digest(self, digest_id: int, user: str, now: Optional[datetime] = None) -> Optional[int]:
        """`Acknowledge all`: every SKU in the digest not yet acknowledged. Returns how many (None: no digest)."""
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            digest = session.get(Digest, digest_id)
            if digest is None:
                return None
            count = 0
            for alert in digest_alerts(session, digest_id):
                if alert.acked_by is None:
                    alert.acked_by, alert.acked_at = user, now
                    session.add(alert)
                    count += 1
            if digest.acked_by is None:
                digest.acked_by, digest.acked_at = user, now
                session.add(digest)
                outbox.update_digest(session, digest_id, digest.channel, now)
            session.commit()
        self.deliver()
        return count

    def snooze(self, alert_id: int, user: str, choice: str,
               now: Optional[datetime] = None) -> tuple[Optional[Alert], Optional[SkuSnooze]]:
        """Snooze the alert's SKU (`choice`: bot.core.quiet.SNOOZE_CHOICES; replaces an earlier
        snooze) and show it on the episode's alerts. The snooze's tier is the worst one posted.

        Returns (alert, snooze); (None, None): no such alert; (alert, None): its episode is over
        (recovered), so there is nothing to snooze and nothing changed.
        """
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            alert = session.get(Alert, alert_id)
            episode = session.get(Episode, alert.episode_id) if alert is not None else None
            if episode is None or episode.open_sku is None:
                return alert, None
            alerts = repo.alerts_for_episodes(session, [episode.id])[episode.id]
            stored = repo.save_snooze(session, alert.sku, max(a.tier for a in alerts), snooze_until(choice, now),
                                      user, now)
            for other in alerts:
                outbox.update_alert(session, other, now)
            session.commit()
        self.deliver()
        return alert, stored

    def record_reorder(self, sku: str, quantity: int, eta, note: Optional[str], user: str,
                       now: Optional[datetime] = None) -> Reorder:
        """Store a reorder; if the SKU has an open alert, show it there and in its thread."""
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            reorder = self.write_reorder(session, sku, quantity, eta, note, user, now)
            session.commit()
        self.deliver()
        return reorder

    def write_reorder(self, session: Session, sku: str, quantity: int, eta, note: Optional[str], user: str,
                      now: datetime) -> Reorder:
        """record_reorder in the caller's transaction (an approved purchase order stores its
        reorders with its own changes); the caller commits and delivers."""
        # A NUL would store on SQLite and fail on Postgres; a modal's line breaks are kept.
        note = clean_text(note, keep_newlines=True).strip() or None if note else None
        reorder = Reorder(sku=sku, quantity=quantity, eta=eta, note=note, created_by=user, created_at=now)
        session.add(reorder)
        episode = repo.open_episode(session, sku)
        if episode is not None:
            alerts = repo.alerts_for_episodes(session, [episode.id])[episode.id]
            for alert in alerts:
                outbox.update_alert(session, alert, now)
            if alerts:
                view = messages.ReorderView(quantity, eta, user, note=note)
                outbox.reply(session, alerts[0], messages.reorder_reply_text(self.lang, sku, view), now)
        return reorder

    def cancel_reorders(self, sku: str, now: Optional[datetime] = None) -> int:
        now = now or repo.utcnow()
        with open_session(self.engine) as session:
            open_ones = repo.open_reorders(session, [sku])[sku]
            for reorder in open_ones:
                reorder.status, reorder.closed_at = "cancelled", now
                session.add(reorder)
            episode = repo.open_episode(session, sku)
            if episode is not None and open_ones:
                for alert in repo.alerts_for_episodes(session, [episode.id])[episode.id]:
                    outbox.update_alert(session, alert, now)
            session.commit()
        self.deliver()
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

    # ---- nightly -------------------------------------------------------------------------------

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

    def teams(self) -> list[str]:
        """Every workspace whose stock is checked (each one's work runs inside using_team)."""
        return self.parts.workspaces.teams()

    def prune_stock_history(self, now: Optional[datetime] = None) -> int:
        """Nightly: drop stock history the chart no longer reaches (it draws 60 days), and outbox
        entries delivered more than a week ago."""
        now = now or repo.utcnow()
        before = now.date() - timedelta(days=STOCK_HISTORY_KEEP_DAYS)
        with self.engine.begin() as conn:
            removed = repo.prune_stock_history(conn, before)
            sent = repo.prune_outbox(conn, now - timedelta(days=OUTBOX_KEEP_DAYS))
        if removed or sent:
            log.info("stock history: %d rows older than %s removed; outbox: %d delivered entries removed",
                     removed, before, sent)
        return removed
