"""The tier rules and the alert-episode plan, as pure functions (no Slack, no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.core.tiers import (
    Plan,
    PostedAlert,
    Reading,
    Tier,
    default_critical_level,
    evaluate_tier,
    is_late,
    level_for,
    plan_episode,
)

WARNING, CRITICAL = 1500, 750
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
REMIND = timedelta(hours=24)


def reading(available: int, on_order: int = 0) -> Reading:
    return Reading(sku="SKU123", available=available, warning_level=WARNING, critical_level=CRITICAL,
                   on_order=on_order)


def posted(alert_id: int, tier: Tier, at: datetime = T0, acked: bool = False,
           last_reminded_at: datetime | None = None) -> PostedAlert:
    return PostedAlert(alert_id=alert_id, tier=tier, posted_at=at, acked=acked, last_reminded_at=last_reminded_at)


# ---- evaluate_tier ---------------------------------------------------------------------

@pytest.mark.parametrize("available, expected", [
    (1_000_000, Tier.OK),
    (1501, Tier.OK),          # one above the warning level
    (1500, Tier.WARNING),     # exactly at the warning level
    (1499, Tier.WARNING),
    (751, Tier.WARNING),      # one above the critical level
    (750, Tier.CRITICAL),     # exactly at the critical level
    (1, Tier.CRITICAL),
    (0, Tier.OUT_OF_STOCK),
    (-1, Tier.OUT_OF_STOCK),  # oversold
    (-250, Tier.OUT_OF_STOCK),
])
def test_evaluate_tier_boundaries(available, expected):
    assert evaluate_tier(available, 0, WARNING, CRITICAL) is expected


@pytest.mark.parametrize("available, on_order, expected", [
    (1400, 100, Tier.WARNING),   # position 1500 == warning: still WARNING
    (1400, 101, Tier.OK),        # position 1501 > warning: covered, no WARNING
    (1400, 5000, Tier.OK),
    (751, 749, Tier.WARNING),    # position 1500: not covered
    (751, 750, Tier.OK),
    (750, 10_000, Tier.CRITICAL),   # on-order never hides CRITICAL
    (1, 10_000, Tier.CRITICAL),
    (0, 10_000, Tier.OUT_OF_STOCK),  # nor OUT OF STOCK
    (-5, 10_000, Tier.OUT_OF_STOCK),
    (1501, 0, Tier.OK),
])
def test_on_order_counts_toward_warning_only(available, on_order, expected):
    assert evaluate_tier(available, on_order, WARNING, CRITICAL) is expected


def test_critical_level_zero_means_no_critical_tier():
    assert evaluate_tier(1, 0, 10, 0) is Tier.WARNING
    assert evaluate_tier(0, 0, 10, 0) is Tier.OUT_OF_STOCK


def test_warning_level_zero_only_alerts_out_of_stock():
    assert evaluate_tier(1, 0, 0, 0) is Tier.OK
    assert evaluate_tier(0, 0, 0, 0) is Tier.OUT_OF_STOCK


def test_tier_order_and_words():
    assert Tier.OK < Tier.WARNING < Tier.CRITICAL < Tier.OUT_OF_STOCK
    assert [tier.word for tier in Tier] == ["OK", "WARNING", "CRITICAL", "OUT OF STOCK"]


@pytest.mark.parametrize("warning, expected", [(1500, 750), (1501, 750), (3, 1), (1, 0), (0, 0), (999, 499)])
def test_default_critical_level_is_half_rounded_down(warning, expected):
    assert default_critical_level(warning) == expected


def test_level_for_shows_critical_level_only_for_critical():
    assert level_for(Tier.WARNING, WARNING, CRITICAL) == 1500
    assert level_for(Tier.CRITICAL, WARNING, CRITICAL) == 750
    assert level_for(Tier.OUT_OF_STOCK, WARNING, CRITICAL) == 1500


# ---- plan_episode: opening and posting -------------------------------------------------

def test_above_warning_with_no_episode_does_nothing():
    plan = plan_episode(reading(1501), episode_open=False, posted=[], now=T0, remind_after=REMIND)
    assert plan == Plan()
    assert plan.is_noop


@pytest.mark.parametrize("available, tier", [
    (1500, Tier.WARNING), (750, Tier.CRITICAL), (0, Tier.OUT_OF_STOCK), (-3, Tier.OUT_OF_STOCK)])
def test_first_dip_opens_episode_and_posts_current_tier(available, tier):
    plan = plan_episode(reading(available), episode_open=False, posted=[], now=T0, remind_after=REMIND)
    assert plan == Plan(open_episode=True, post_tier=tier)
    assert not plan.is_noop


def test_dip_covered_by_on_order_opens_episode_without_posting():
    plan = plan_episode(reading(1400, on_order=200), episode_open=False, posted=[], now=T0, remind_after=REMIND)
    assert plan == Plan(open_episode=True, post_tier=None)


def test_same_tier_is_posted_only_once_per_episode():
    plan = plan_episode(reading(1200), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0 + timedelta(hours=1), remind_after=REMIND)
    assert plan == Plan()
    assert plan.is_noop


@pytest.mark.parametrize("before, available, after", [
    (Tier.WARNING, 750, Tier.CRITICAL),
    (Tier.WARNING, 0, Tier.OUT_OF_STOCK),
    (Tier.CRITICAL, 0, Tier.OUT_OF_STOCK),
    (Tier.CRITICAL, -1, Tier.OUT_OF_STOCK),
])
def test_escalation_posts_again(before, available, after):
    plan = plan_episode(reading(available), episode_open=True, posted=[posted(1, before)],
                        now=T0 + timedelta(hours=1), remind_after=REMIND)
    assert plan == Plan(post_tier=after)


def test_escalation_with_reorder_on_order_still_posts_critical():
    plan = plan_episode(reading(700, on_order=5000), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0, remind_after=REMIND)
    assert plan.post_tier is Tier.CRITICAL


@pytest.mark.parametrize("worst, available", [
    (Tier.OUT_OF_STOCK, 10),     # now CRITICAL
    (Tier.OUT_OF_STOCK, 1000),   # now WARNING
    (Tier.CRITICAL, 1500),       # now WARNING, exactly at the level
])
def test_improvement_within_episode_posts_nothing(worst, available):
    plan = plan_episode(reading(available), episode_open=True, posted=[posted(7, worst)],
                        now=T0 + timedelta(hours=1), remind_after=REMIND)
    assert plan.post_tier is None
    assert plan.close_episode is False
    assert plan.open_episode is False


def test_falling_back_after_improvement_does_not_repost_a_tier_already_posted():
    # WARNING -> CRITICAL -> WARNING -> CRITICAL again: CRITICAL was already posted this episode.
    alerts = [posted(1, Tier.WARNING), posted(2, Tier.CRITICAL, acked=True)]
    plan = plan_episode(reading(700), episode_open=True, posted=alerts, now=T0 + timedelta(hours=2),
                        remind_after=REMIND)
    assert plan == Plan()


def test_skipping_straight_to_out_of_stock_posts_once_then_nothing_for_lower_tiers():
    alerts = [posted(1, Tier.OUT_OF_STOCK)]
    for available in (0, 500, 1500):
        plan = plan_episode(reading(available), episode_open=True, posted=alerts, now=T0 + timedelta(hours=1),
                            remind_after=REMIND)
        assert plan.post_tier is None, available


# ---- plan_episode: reminders -----------------------------------------------------------

def test_no_reminder_before_remind_after():
    plan = plan_episode(reading(1200), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0 + REMIND - timedelta(seconds=1), remind_after=REMIND)
    assert plan.remind_alert_id is None


def test_reminder_exactly_at_remind_after():
    plan = plan_episode(reading(1200), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0 + REMIND, remind_after=REMIND)
    assert plan == Plan(remind_alert_id=1)
    assert not plan.is_noop


def test_acked_alert_is_not_reminded():
    plan = plan_episode(reading(1200), episode_open=True, posted=[posted(1, Tier.WARNING, acked=True)],
                        now=T0 + 10 * REMIND, remind_after=REMIND)
    assert plan.remind_alert_id is None
    assert plan.is_noop


def test_reminders_repeat_from_last_reminded_at():
    reminded = T0 + REMIND
    alert = posted(1, Tier.WARNING, last_reminded_at=reminded)
    early = plan_episode(reading(1200), episode_open=True, posted=[alert],
                         now=reminded + REMIND - timedelta(minutes=1), remind_after=REMIND)
    assert early.remind_alert_id is None
    due = plan_episode(reading(1200), episode_open=True, posted=[alert], now=reminded + REMIND,
                       remind_after=REMIND)
    assert due.remind_alert_id == 1


def test_only_the_highest_posted_alert_is_reminded():
    alerts = [posted(11, Tier.WARNING), posted(12, Tier.CRITICAL, at=T0 + timedelta(hours=1))]
    plan = plan_episode(reading(700), episode_open=True, posted=alerts, now=T0 + timedelta(hours=30),
                        remind_after=REMIND)
    assert plan.remind_alert_id == 12


def test_highest_alert_measured_from_its_own_post_time():
    # The WARNING is 30h old but the CRITICAL only 20h: the superseded WARNING is not reminded.
    alerts = [posted(11, Tier.WARNING), posted(12, Tier.CRITICAL, at=T0 + timedelta(hours=10))]
    plan = plan_episode(reading(700), episode_open=True, posted=alerts, now=T0 + timedelta(hours=30),
                        remind_after=REMIND)
    assert plan.remind_alert_id is None


def test_lower_unacked_alert_is_not_reminded_when_the_highest_is_acked():
    alerts = [posted(11, Tier.WARNING), posted(12, Tier.CRITICAL, acked=True)]
    plan = plan_episode(reading(700), episode_open=True, posted=alerts, now=T0 + 5 * REMIND,
                        remind_after=REMIND)
    assert plan.remind_alert_id is None


def test_highest_alert_still_reminded_after_stock_improves_within_episode():
    plan = plan_episode(reading(1000), episode_open=True, posted=[posted(5, Tier.OUT_OF_STOCK)],
                        now=T0 + REMIND, remind_after=REMIND)
    assert plan == Plan(remind_alert_id=5)


def test_escalation_posts_instead_of_reminding():
    plan = plan_episode(reading(0), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0 + 3 * REMIND, remind_after=REMIND)
    assert plan == Plan(post_tier=Tier.OUT_OF_STOCK, remind_alert_id=None)


# ---- plan_episode: recovery and new episodes -------------------------------------------

def test_recovery_closes_the_episode_one_above_warning():
    plan = plan_episode(reading(1501), episode_open=True, posted=[posted(1, Tier.CRITICAL)],
                        now=T0 + timedelta(hours=1), remind_after=REMIND)
    assert plan == Plan(close_episode=True)
    assert not plan.is_noop


def test_exactly_at_warning_does_not_recover():
    plan = plan_episode(reading(1500), episode_open=True, posted=[posted(1, Tier.CRITICAL)],
                        now=T0 + timedelta(hours=1), remind_after=REMIND)
    assert plan.close_episode is False


def test_on_order_does_not_recover_an_episode():
    # Available is still at/below warning: in-transit stock covers WARNING but does not close.
    plan = plan_episode(reading(1400, on_order=10_000), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0 + timedelta(hours=1), remind_after=REMIND)
    assert plan.close_episode is False
    assert plan.post_tier is None


def test_recovery_wins_over_a_due_reminder():
    plan = plan_episode(reading(2000), episode_open=True, posted=[posted(1, Tier.WARNING)],
                        now=T0 + 5 * REMIND, remind_after=REMIND)
    assert plan == Plan(close_episode=True)


def test_later_dip_after_recovery_opens_a_new_episode_and_posts_again():
    first = plan_episode(reading(1400), episode_open=False, posted=[], now=T0, remind_after=REMIND)
    assert first == Plan(open_episode=True, post_tier=Tier.WARNING)
    recovered = plan_episode(reading(1600), episode_open=True, posted=[posted(1, Tier.WARNING)],
                             now=T0 + timedelta(hours=2), remind_after=REMIND)
    assert recovered == Plan(close_episode=True)
    # The new episode has no posted alerts of its own: the same tier is posted again.
    again = plan_episode(reading(1400), episode_open=False, posted=[], now=T0 + timedelta(hours=3),
                         remind_after=REMIND)
    assert again == Plan(open_episode=True, post_tier=Tier.WARNING)


# ---- is_late ---------------------------------------------------------------------------

def test_is_late():
    today = date(2026, 3, 10)
    assert is_late(date(2026, 3, 9), today) is True
    assert is_late(date(2026, 3, 10), today) is False   # due today is not late yet
    assert is_late(date(2026, 3, 11), today) is False
    assert is_late(None, today) is False
