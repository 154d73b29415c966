"""Quiet hours end to end: QUIET_HOURS=22-08 in Asia/Shanghai, checks run with an explicit `now`
through the real checker; WARNING alerts and reminders wait, CRITICAL and OUT OF STOCK post."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.core.quiet import QuietHours
from tests.conftest import write_stock
from tests.test_alert_lifecycle import _alert, thread_replies, top_posts

NIGHT = QuietHours(22 * 60, 8 * 60)


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai (UTC+8, no DST) in March 2026, as the UTC `now` of a check."""
    return datetime(2026, 3, day, hour, minute, tzinfo=timezone.utc) - timedelta(hours=8)


@pytest.fixture
def quiet_bot(start_bot):
    bot = start_bot(quiet_hours=NIGHT, timezone="Asia/Shanghai", remind_after_hours=2)
    bot.ask("/threshold", "set WARN-1 1500 critical 500")
    bot.ask("/threshold", "set CRIT-1 1500 critical 500")
    return bot


def test_warning_waits_for_the_morning_and_critical_posts_at_night(quiet_bot, slack, stock_file):
    bot = quiet_bot
    write_stock(stock_file, {"WARN-1": 1400, "CRIT-1": 400})
    assert bot.checker.run_check(now=shanghai(2, 23)).posted == ["CRIT-1:CRITICAL"]
    write_stock(stock_file, {"WARN-1": 1300, "CRIT-1": 0})
    assert bot.checker.run_check(now=shanghai(3, 3)).posted == ["CRIT-1:OUT OF STOCK"]
    assert bot.checker.run_check(now=shanghai(3, 7, 59)).posted == []
    write_stock(stock_file, {"WARN-1": 1250, "CRIT-1": 0})
    # the first check after 08:00 posts the held WARNING, with the numbers as of then
    assert bot.checker.run_check(now=shanghai(3, 8, 0)).posted == ["WARN-1:WARNING"]
    warning = top_posts(slack)[-1]
    assert warning["text"].startswith("WARNING") and "1,250" in warning["text"]
    assert bot.checker.run_check(now=shanghai(3, 8, 15)).posted == []  # once


def test_a_reminder_due_at_night_goes_out_when_the_quiet_hours_end(quiet_bot, slack, stock_file):
    bot = quiet_bot
    write_stock(stock_file, {"WARN-1": 1400, "CRIT-1": 5000})
    assert bot.checker.run_check(now=shanghai(2, 20)).posted == ["WARN-1:WARNING"]  # before the quiet hours
    alert = _alert(bot, "WARN-1")
    assert bot.checker.run_check(now=shanghai(2, 21, 59)).reminded == 0  # not due yet (2 hours)
    assert bot.checker.run_check(now=shanghai(2, 22, 30)).reminded == 0  # due, but quiet
    assert bot.checker.run_check(now=shanghai(3, 7, 45)).reminded == 0
    assert thread_replies(slack, alert.ts) == []
    assert bot.checker.run_check(now=shanghai(3, 8, 5)).reminded == 1
    assert "Reminder" in thread_replies(slack, alert.ts)[0]["text"]


def test_reminders_of_a_critical_alert_wait_too(quiet_bot, slack, stock_file):
    bot = quiet_bot
    write_stock(stock_file, {"WARN-1": 5000, "CRIT-1": 400})
    assert bot.checker.run_check(now=shanghai(2, 21)).posted == ["CRIT-1:CRITICAL"]
    assert bot.checker.run_check(now=shanghai(3, 1)).reminded == 0
    assert bot.checker.run_check(now=shanghai(3, 9)).reminded == 1


def test_without_quiet_hours_nothing_waits(start_bot, slack, stock_file):
    bot = start_bot(remind_after_hours=2)
    bot.ask("/threshold", "set WARN-1 1500 critical 500")
    write_stock(stock_file, {"WARN-1": 1400})
    assert bot.checker.run_check(now=shanghai(2, 23)).posted == ["WARN-1:WARNING"]
    assert bot.checker.run_check(now=shanghai(3, 1, 1)).reminded == 1
