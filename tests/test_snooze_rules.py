"""Snooze and quiet hours as pure rules: plan_episode's holds, the quiet-hours clock, the menu values,
and the QUIET_HOURS / TZ settings (no Slack, no database)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_settings
from bot.core.quiet import (
    QuietHours,
    in_quiet_hours,
    parse_quiet_hours,
    parse_snooze_value,
    quiet_ends_at,
    snooze_until,
)
from bot.core.tiers import Plan, Snooze, Tier, plan_episode
from tests.test_tiers import REMIND, T0, posted, reading

DAY = timedelta(days=1)
FOR_A_DAY = Snooze(Tier.WARNING, T0 + DAY)
UNTIL_WORSE = Snooze(Tier.WARNING)


def plan(available: int, alerts=(), episode_open: bool = True, now: datetime = T0, snooze=None, quiet=False) -> Plan:
    return plan_episode(reading(available), episode_open, list(alerts), now, REMIND, snooze, quiet)


# ---- snooze ------------------------------------------------------------------------------------

@pytest.mark.parametrize("snooze", [Snooze(Tier.WARNING, T0 + timedelta(hours=36)), UNTIL_WORSE])
def test_a_snooze_holds_the_reminder(snooze):
    due = T0 + timedelta(hours=25)  # the reminder is due during the snooze
    assert plan(1400, [posted(1, Tier.WARNING)], now=due).remind_alert_id == 1  # as before, unsnoozed
    held = plan(1400, [posted(1, Tier.WARNING)], now=due, snooze=snooze)
    assert held == Plan(held=True)


@pytest.mark.parametrize("snooze", [FOR_A_DAY, UNTIL_WORSE])
def test_a_snooze_holds_a_warning_repeat_but_the_episode_opens(snooze):
    # the SKU recovered earlier (the snooze outlives that episode) and drops to WARNING again
    held = plan(1400, episode_open=False, now=T0 + timedelta(hours=3), snooze=snooze)
    assert held == Plan(open_episode=True, held=True)
    # the open episode with its WARNING held: later checks keep holding it
    assert plan(1300, now=T0 + timedelta(hours=4), snooze=snooze) == Plan(held=True)


@pytest.mark.parametrize("snooze", [FOR_A_DAY, UNTIL_WORSE])
def test_a_worse_tier_posts_and_ends_the_snooze(snooze):
    escalated = plan(700, [posted(1, Tier.WARNING)], now=T0 + timedelta(hours=2), snooze=snooze)
    assert escalated == Plan(post_tier=Tier.CRITICAL, end_snooze=True)
    # a held WARNING episode that turns CRITICAL: the CRITICAL is its first post
    assert plan(0, now=T0 + timedelta(hours=2), snooze=snooze) == Plan(post_tier=Tier.OUT_OF_STOCK, end_snooze=True)


def test_critical_and_out_of_stock_always_post_even_at_the_snoozed_tier():
    snoozed_critical = Snooze(Tier.CRITICAL)
    # a CRITICAL repeat in a new episode is not worse than the snooze: it posts, the snooze stays
    assert plan(700, episode_open=False, snooze=snoozed_critical) == Plan(open_episode=True, post_tier=Tier.CRITICAL)
    assert plan(1400, episode_open=False, snooze=snoozed_critical) == Plan(open_episode=True, held=True)
    assert plan(0, [posted(2, Tier.CRITICAL)], snooze=snoozed_critical) == Plan(post_tier=Tier.OUT_OF_STOCK,
                                                                                end_snooze=True)


def test_recovery_closes_the_episode_and_keeps_the_snooze():
    assert plan(1501, [posted(1, Tier.WARNING)], snooze=UNTIL_WORSE) == Plan(close_episode=True)
    assert plan(1501, [posted(1, Tier.WARNING)], snooze=FOR_A_DAY) == Plan(close_episode=True)


def test_an_expired_snooze_is_ignored_and_ended():
    after = T0 + DAY  # `until` itself is already past the snooze
    # the WARNING held during the snooze posts now, with the numbers as of now
    assert plan(1350, now=after, snooze=FOR_A_DAY) == Plan(post_tier=Tier.WARNING, end_snooze=True)
    # an unacknowledged alert is reminded again (it was due during the snooze)
    assert plan(1400, [posted(1, Tier.WARNING)], now=after, snooze=FOR_A_DAY) == Plan(remind_alert_id=1,
                                                                                      end_snooze=True)
    # an acknowledged one stays quiet, as without a snooze
    assert plan(1400, [posted(1, Tier.WARNING, acked=True)], now=after, snooze=FOR_A_DAY) == Plan(end_snooze=True)
    # just before the end it still holds
    assert plan(1350, now=after - timedelta(seconds=1), snooze=FOR_A_DAY) == Plan(held=True)
    assert plan(1501, episode_open=False, now=after, snooze=FOR_A_DAY) == Plan(end_snooze=True)
    assert not Plan(end_snooze=True).is_noop


def test_until_worse_never_expires():
    assert plan(1400, episode_open=False, now=T0 + timedelta(days=400), snooze=UNTIL_WORSE).held


# ---- quiet hours in the plan ------------------------------------------------------------------

def test_quiet_hours_hold_warning_posts_and_every_reminder():
    assert plan(1400, episode_open=False, quiet=True) == Plan(open_episode=True, held=True)
    due = T0 + timedelta(hours=25)
    assert plan(1400, [posted(1, Tier.WARNING)], now=due, quiet=True) == Plan(held=True)
    assert plan(700, [posted(1, Tier.WARNING), posted(2, Tier.CRITICAL)], now=due, quiet=True) == Plan(held=True)
    # after the quiet hours the same state posts and reminds
    assert plan(1400, now=due) == Plan(post_tier=Tier.WARNING)
    assert plan(1400, [posted(1, Tier.WARNING)], now=due).remind_alert_id == 1


def test_critical_and_out_of_stock_post_during_quiet_hours():
    assert plan(700, episode_open=False, quiet=True) == Plan(open_episode=True, post_tier=Tier.CRITICAL)
    assert plan(0, [posted(2, Tier.CRITICAL)], quiet=True) == Plan(post_tier=Tier.OUT_OF_STOCK)
    # a worse tier during quiet hours still ends a snooze
    assert plan(700, [posted(1, Tier.WARNING)], quiet=True, snooze=UNTIL_WORSE) == Plan(
        post_tier=Tier.CRITICAL, end_snooze=True)


# ---- the quiet-hours clock ----------------------------------------------------------------------

NIGHT = QuietHours(22 * 60, 8 * 60)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("moment, quiet", [
    (utc(2026, 3, 2, 21, 59), False),
    (utc(2026, 3, 2, 22, 0), True),
    (utc(2026, 3, 2, 23, 59), True),
    (utc(2026, 3, 3, 0, 0), True),
    (utc(2026, 3, 3, 7, 59), True),
    (utc(2026, 3, 3, 8, 0), False),
    (utc(2026, 3, 3, 12, 0), False),
])
def test_in_quiet_hours_wraps_midnight(moment, quiet):
    assert in_quiet_hours(moment, NIGHT, timezone.utc) is quiet


def test_in_quiet_hours_reads_the_local_clock():
    assert in_quiet_hours(utc(2026, 3, 2, 14, 30), NIGHT, SHANGHAI)  # 22:30 in Shanghai
    assert not in_quiet_hours(utc(2026, 3, 2, 0, 30), NIGHT, SHANGHAI)  # 08:30 there
    assert not in_quiet_hours(utc(2026, 3, 2, 14, 30), NIGHT, timezone.utc)
    # New York: 02:30 UTC is 21:30 in winter (EST) but 22:30 in summer (EDT)
    assert not in_quiet_hours(utc(2026, 1, 15, 2, 30), NIGHT, NEW_YORK)
    assert in_quiet_hours(utc(2026, 7, 15, 2, 30), NIGHT, NEW_YORK)
    assert not in_quiet_hours(utc(2026, 3, 2, 23, 0), None, timezone.utc)


def test_a_window_within_a_day():
    lunch = QuietHours(12 * 60 + 30, 13 * 60 + 45)
    assert [in_quiet_hours(utc(2026, 3, 2, h, m), lunch, timezone.utc) for h, m in
            [(12, 29), (12, 30), (13, 44), (13, 45)]] == [False, True, True, False]


def test_quiet_ends_at():
    assert quiet_ends_at(utc(2026, 3, 2, 23, 0), NIGHT, timezone.utc) == utc(2026, 3, 3, 8, 0)
    assert quiet_ends_at(utc(2026, 3, 3, 3, 0), NIGHT, timezone.utc) == utc(2026, 3, 3, 8, 0)
    assert quiet_ends_at(utc(2026, 3, 3, 12, 0), NIGHT, timezone.utc) is None
    # 22:30 in Shanghai on the 2nd: quiet until 08:00 there on the 3rd = 00:00 UTC on the 3rd
    assert quiet_ends_at(utc(2026, 3, 2, 14, 30), NIGHT, SHANGHAI) == utc(2026, 3, 3, 0, 0)
    # the night the clocks go forward in New York (8 March 2026): 08:00 EDT is 12:00 UTC
    assert quiet_ends_at(utc(2026, 3, 8, 4, 0), NIGHT, NEW_YORK) == utc(2026, 3, 8, 12, 0)


@pytest.mark.parametrize("text, window", [
    ("22-08", NIGHT), (" 22 - 8 ", NIGHT), ("22:30-07:00", QuietHours(22 * 60 + 30, 7 * 60)),
    ("0-6", QuietHours(0, 360)), ("23-24", QuietHours(23 * 60, 0)), ("", None), ("  ", None),
])
def test_parse_quiet_hours(text, window):
    assert parse_quiet_hours(text) == window


@pytest.mark.parametrize("text", ["22", "22-", "25-08", "22:60-08", "22-22", "ten-six", "22-08-09", "-1-8", "22h-8h"])
def test_parse_quiet_hours_refuses(text):
    with pytest.raises(ValueError):
        parse_quiet_hours(text)


# ---- the Snooze menu's values ------------------------------------------------------------------

@pytest.mark.parametrize("value, parsed", [
    ("42:1d", (42, "1d")), ("42:1w", (42, "1w")), ("7:worse", (7, "worse")), ("2147483647:1d", (2147483647, "1d")),
    ("42:2d", None), ("42", None), ("42:1d:x", None), ("x:1d", None), ("0:1d", None), ("-1:1d", None),
    ("2147483648:1d", None), ("²:1d", None), (" 42:1d", None), ("", None), (None, None), (42, None),
])
def test_parse_snooze_value(value, parsed):
    assert parse_snooze_value(value) == parsed


def test_snooze_until():
    assert snooze_until("1d", T0) == T0 + DAY
    assert snooze_until("1w", T0) == T0 + timedelta(days=7)
    assert snooze_until("worse", T0) is None


# ---- QUIET_HOURS and TZ -----------------------------------------------------------------------

def test_quiet_hours_settings():
    settings = load_settings({"QUIET_HOURS": "22-08", "TZ": "Asia/Shanghai"}, dotenv=False)
    assert settings.quiet_hours == NIGHT and settings.zone == SHANGHAI
    assert load_settings({"QUIET_HOURS": "22:30-07:00", "TZ": ":America/New_York"}, dotenv=False).zone == NEW_YORK
    assert load_settings({"QUIET_HOURS": "22-08"}, dotenv=False).zone == timezone.utc
    off = load_settings({}, dotenv=False)
    assert off.quiet_hours is None and off.zone == timezone.utc
    # TZ matters only with quiet hours: an install that sets it for other reasons is not stopped by it
    assert load_settings({"TZ": "Mars/Olympus"}, dotenv=False).quiet_hours is None


@pytest.mark.parametrize("env, named", [
    ({"QUIET_HOURS": "10pm-8am"}, "QUIET_HOURS"),
    ({"QUIET_HOURS": "22-22"}, "QUIET_HOURS"),
    ({"QUIET_HOURS": "22-08", "TZ": "Asia/Shangai"}, "TZ"),
    ({"QUIET_HOURS": "22-08", "TZ": "America"}, "TZ"),
    ({"QUIET_HOURS": "22-08", "TZ": "../../etc/passwd"}, "TZ"),
    ({"QUIET_HOURS": "22-08", "TZ": "UTC+8"}, "TZ"),
])
def test_bad_quiet_hours_or_tz_stop_the_start_with_a_clear_error(env, named):
    with pytest.raises(ConfigError) as error:
        load_settings(env, dotenv=False)
    assert str(error.value).startswith(named)
