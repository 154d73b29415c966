"""The periodic check, run by APScheduler in a background thread.

With a `Leadership` (bot/leader.py) every process may run a scheduler: each job runs only in the
process that holds the lease, and a process that takes the lease over runs the check that is due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from apscheduler.schedulers.background import BackgroundScheduler

from bot.checker import LAST_CHECK_KEY, Checker
from bot.leader import Leadership
from bot.tenancy import using_team
from storage import repo
from storage.db import session as open_session

log = logging.getLogger(__name__)


def for_each_team(checker: Checker, what: str, job: Callable[[], object]) -> None:
    """Run `job` once per workspace, as that workspace's work; one team's failure is logged and
    the others still get theirs."""
    try:
        teams = checker.teams()
    except Exception:  # the installations could not be read: the next run tries again
        log.exception("%s: could not list the workspaces", what)
        return
    for team in teams:
        try:
            with using_team(team):
                job()
        except Exception:  # keep the schedule alive; the next run tries again
            log.exception("%s failed for workspace %r", what, team)


def _safe_check(checker: Checker) -> None:
    for_each_team(checker, "scheduled check", checker.run_check)


def _safe_recompute(checker: Checker) -> None:
    # A failure keeps that workspace's levels from yesterday until the next night.
    for_each_team(checker, "nightly auto-threshold recompute", checker.recompute_auto)


def _safe_prune(checker: Checker) -> None:
    for_each_team(checker, "nightly stock history prune", checker.prune_stock_history)  # old rows wait a night


def _leader_only(job_id: str, job: Callable[[Checker], None], checker: Checker,
                 leadership: Optional[Leadership]) -> None:
    if leadership is not None and not leadership.is_leader():
        log.debug("%s skipped: another process leads the scheduled work", job_id)
        return
    job(checker)


def _check_due_now(scheduler: BackgroundScheduler, checker: Checker, interval_seconds: int) -> None:
    """On taking the lease over: the next check is one interval after the last one, or now if that is past."""
    now = repo.utcnow()
    due = now
    try:
        lasts = []
        for team in checker.teams():  # the check is one job for every workspace: due when the oldest is
            with using_team(team), open_session(checker.engine) as session:
                lasts.append(repo.get_meta(session, LAST_CHECK_KEY))
        if lasts and all(lasts):
            due = max(now, min(datetime.fromisoformat(last) for last in lasts) + timedelta(seconds=interval_seconds))
    except Exception:  # unreadable: check now; checks never overlap (bot.leader.check_lock)
        log.warning("could not read the time of the last check", exc_info=True)
    try:
        scheduler.modify_job("stock_check", next_run_time=due)
    except Exception:  # the scheduler is shutting down
        log.debug("could not move the next check", exc_info=True)


def start_scheduler(checker: Checker, interval_seconds: int, run_now: bool = True,
                    leadership: Optional[Leadership] = None) -> BackgroundScheduler:
    """Start the jobs. With `leadership`, they run only while this process leads (start() it first)."""
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    first_run = {"next_run_time": datetime.now(timezone.utc)} if run_now else {}
    scheduler.add_job(
        _leader_only, "interval", args=["stock_check", _safe_check, checker, leadership], seconds=interval_seconds,
        id="stock_check",
        # One check at a time; checks missed while the process slept collapse into one.
        max_instances=1, coalesce=True, misfire_grace_time=interval_seconds,
        **first_run,
    )
    # Auto thresholds: once a night, after the day's sales are in (UTC hour, AUTO_RECOMPUTE_HOUR).
    scheduler.add_job(_leader_only, "cron", args=["auto_thresholds", _safe_recompute, checker, leadership],
                      hour=checker.settings.auto_recompute_hour, minute=5,
                      id="auto_thresholds", max_instances=1, coalesce=True, misfire_grace_time=3600)
    # Stock history older than the chart reaches: once a night, away from the recompute.
    scheduler.add_job(_leader_only, "cron", args=["stock_history_prune", _safe_prune, checker, leadership],
                      hour=checker.settings.auto_recompute_hour, minute=35,
                      id="stock_history_prune", max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.start()
    if leadership is not None:
        leadership.on_change(lambda leading: leading and _check_due_now(scheduler, checker, interval_seconds))
    log.info("scheduler started: a check every %d s", interval_seconds)
    return scheduler
