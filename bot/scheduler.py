"""The periodic check, run by APScheduler in a background thread."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from bot.checker import Checker

log = logging.getLogger(__name__)


def _safe_check(checker: Checker) -> None:
    try:
        checker.run_check()
    except Exception:  # keep the schedule alive; the next run tries again
        log.exception("scheduled check failed")


def _safe_recompute(checker: Checker) -> None:
    try:
        checker.recompute_auto()
    except Exception:  # keep the schedule alive; yesterday's levels stay until the next night
        log.exception("nightly auto-threshold recompute failed")


def _safe_prune(checker: Checker) -> None:
    try:
        checker.prune_stock_history()
    except Exception:  # old rows wait for the next night
        log.exception("nightly stock history prune failed")


def start_scheduler(checker: Checker, interval_seconds: int, run_now: bool = True) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    first_run = {"next_run_time": datetime.now(timezone.utc)} if run_now else {}
    scheduler.add_job(
        _safe_check, "interval", args=[checker], seconds=interval_seconds, id="stock_check",
        # One check at a time; checks missed while the process slept collapse into one.
        max_instances=1, coalesce=True, misfire_grace_time=interval_seconds,
        **first_run,
    )
    # Auto thresholds: once a night, after the day's sales are in (UTC hour, AUTO_RECOMPUTE_HOUR).
    scheduler.add_job(_safe_recompute, "cron", args=[checker], hour=checker.settings.auto_recompute_hour, minute=5,
                      id="auto_thresholds", max_instances=1, coalesce=True, misfire_grace_time=3600)
    # Stock history older than the chart reaches: once a night, away from the recompute.
    scheduler.add_job(_safe_prune, "cron", args=[checker], hour=checker.settings.auto_recompute_hour, minute=35,
                      id="stock_history_prune", max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.start()
    log.info("scheduler started: a check every %d s", interval_seconds)
    return scheduler
