"""The threshold maths (bot.core.forecast, bot.core.auto_levels): hand-checked cases."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from bot.core import forecast as fc
from bot.core.auto_levels import compute_auto_levels

TODAY = date(2026, 11, 25)  # a Wednesday
TOMORROW = TODAY + timedelta(days=1)


# ---- the seed formula --------------------------------------------------------------------

def test_seed_example_safety_in_days_and_in_units_give_1500():
    by_days = fc.reorder_point(150, 7, fc.Safety(days=3))
    by_units = fc.reorder_point(150, 7, fc.Safety(units=450))
    for point in (by_days, by_units):
        assert point.lead_demand == 1050  # 150 x 7
        assert point.safety_units == 450  # 150 x 3, or typed
        assert point.warning_level == 1500
        assert point.critical_level == 1050  # lead-time demand, no safety stock


@pytest.mark.parametrize("daily, lead, safety, warning, critical", [
    (40, 21, fc.Safety(days=5), 40 * 21 + 200, 840),  # overseas: 840 + 200 = 1040
    (12.5, 3, fc.Safety(units=10), 48, 38),  # 37.5 -> 38 units; +10 = 47.5 -> 48
    (0, 7, fc.Safety(days=3), 0, 0),  # no demand, no level
    (7, 1, fc.Safety(), 7, 7),
])
def test_other_hand_checked_reorder_points(daily, lead, safety, warning, critical):
    point = fc.reorder_point(daily, lead, safety)
    assert (point.warning_level, point.critical_level) == (warning, critical)


def test_lead_zero_and_negative_demand_are_refused():
    with pytest.raises(ValueError):
        fc.reorder_point(150, 0)
    with pytest.raises(ValueError):
        fc.reorder_point(-1, 7)


# ---- the statistical safety stock ----------------------------------------------------------

@pytest.mark.parametrize("service, z", [(0.5, 0.0), (0.90, 1.2816), (0.95, 1.6449), (0.975, 1.9600),
                                        (0.98, 2.0537), (0.99, 2.3263)])
def test_z_matches_the_normal_table(service, z):
    assert fc.z_for(service) == pytest.approx(z, abs=1e-4)
    assert fc.service_for(fc.z_for(service)) == pytest.approx(service)


def test_service_safety_stock_is_z_sigma_sqrt_lead():
    # sigma 40/day, lead 9 days, 95%: 1.6449 x 40 x 3 = 197.4 -> safety 197.4, level 100 x 9 + 197.4 -> 1098
    point = fc.reorder_point(100, 9, fc.Safety(service=0.95), sigma=40)
    assert point.safety_units == pytest.approx(1.644854 * 40 * 3, rel=1e-5)
    assert point.warning_level == 1098
    assert point.z == pytest.approx(1.6449, abs=1e-4)


@pytest.mark.parametrize("service", [0.3, 1.0, 1.5])
def test_service_levels_outside_the_range_are_refused(service):
    with pytest.raises(ValueError):
        fc.z_for(service)


# ---- demand from history -------------------------------------------------------------------

def test_days_without_a_sales_row_count_as_zero():
    start = date(2026, 11, 1)
    history = fc.history_values({start: 9}, start, start + timedelta(days=2))
    assert [v for _, v in history] == [9, 0, 0]


def test_bases():
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert fc.daily_demand(values, "avg") == 55
    assert fc.daily_demand(values, "max") == 100
    assert fc.daily_demand(values, "p90") == pytest.approx(91)  # numpy's linear: 90 + 0.1 x 10
    # weighted: last 7 days mean 70 (x0.5), last 14 (all 10) 55 (x0.3), last 30 (all 10) 55 (x0.2)
    assert fc.daily_demand(values, "weighted") == pytest.approx(0.5 * 70 + 0.3 * 55 + 0.2 * 55)
    with pytest.raises(ValueError):
        fc.daily_demand(values, "median")


def test_single_day_spike_is_damped_to_three_times_the_typical_day():
    values = [10, 12, 0, 9, 11, 500, 10]
    damped = fc.damp_spikes(values)
    assert damped[5] == 3 * 10.5  # median selling day of 9, 10, 10, 11, 12, 500 is 10.5
    assert damped[:5] == values[:5]
    assert fc.damp_spikes([0, 0, 100]) == [0, 0, 100]  # too few selling days to call it a spike


def test_sigma_is_the_sample_standard_deviation():
    assert fc.demand_sigma([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(2.138, abs=1e-3)
    assert fc.demand_sigma([5]) == 0


def test_weekday_profile_learns_busy_weekends():
    start = date(2026, 8, 3)  # a Monday
    history = [(start + timedelta(days=i), 20.0 if (start + timedelta(days=i)).weekday() >= 5 else 10.0)
               for i in range(28)]
    profile = fc.weekday_profile(history)
    mean = (5 * 10 + 2 * 20) / 7
    assert profile == pytest.approx((10 / mean,) * 5 + (20 / mean,) * 2)
    assert fc.weekday_profile(history[:27]) is None  # fewer than four of each weekday


# ---- campaigns -----------------------------------------------------------------------------

def test_campaign_inside_the_lead_window_raises_the_level():
    live = fc.CampaignWindow(TOMORROW + timedelta(days=3), TOMORROW + timedelta(days=5), 3.0, "Double 12")
    plain = fc.reorder_point(100, 7, fc.Safety(days=3), start=TOMORROW)
    raised = fc.reorder_point(100, 7, fc.Safety(days=3), start=TOMORROW, campaigns=[live])
    assert plain.warning_level == 1000
    # three campaign days at x3 add 3 x 100 x 2 = 600 units of lead-time demand
    assert raised.lead_demand == 1300 and raised.campaign_units == 600
    assert raised.warning_level == 1600 and raised.critical_level == 1300
    assert raised.campaigns == ("Double 12",)


def test_campaign_outside_the_lead_window_changes_nothing_until_it_is_inside():
    live = fc.CampaignWindow(TOMORROW + timedelta(days=20), TOMORROW + timedelta(days=22), 3.0)
    assert fc.reorder_point(100, 7, start=TOMORROW, campaigns=[live]).warning_level == 700
    # 14 days later the campaign starts on day 7 of the lead window: one day at x3 (+200)
    later = TOMORROW + timedelta(days=14)
    assert fc.reorder_point(100, 7, start=later, campaigns=[live]).warning_level == 900


def test_overlapping_campaigns_take_the_biggest_not_the_product():
    a = fc.CampaignWindow(TOMORROW, TOMORROW, 2.0)
    b = fc.CampaignWindow(TOMORROW, TOMORROW, 3.0)
    assert fc.multiplier_on(TOMORROW, [a, b]) == 3.0
    assert fc.expected_demand(10, TOMORROW, 2, campaigns=[a, b]) == 40  # 30 + 10


# ---- cover, stock-out date, suggested order, ad guidance -----------------------------------------

def test_days_of_cover_and_stockout_date():
    assert fc.days_of_cover(1200, 150) == 8
    assert fc.stockout_date(TODAY, 1200, 150) == TODAY + timedelta(days=8)
    assert fc.stockout_date(TODAY, 1201, 150) == TODAY + timedelta(days=9)
    assert fc.stockout_date(TODAY, 0, 150) == TODAY
    assert fc.days_of_cover(100, 0) is None and fc.stockout_date(TODAY, 100, 0) is None
    # a x3 campaign the day after tomorrow: 150, 450 -> 600 gone by day 2
    live = fc.CampaignWindow(TODAY + timedelta(days=2), TODAY + timedelta(days=2), 3.0)
    assert fc.stockout_date(TODAY, 600, 150, campaigns=[live]) == TODAY + timedelta(days=2)


def test_suggested_order_covers_lead_time_and_target_cover_rounded_to_packs():
    # 150 x (7 + 30) = 5550 needed, 1200 on hand + 0 on order -> 4350
    assert fc.suggested_order(150, 7, 1200) == 4350
    assert fc.suggested_order(150, 7, 1200, case_pack=24) == 4368  # 182 cases
    assert fc.suggested_order(1, 7, 30, moq=100) == 100  # 7 needed, but the factory's minimum is 100
    assert fc.suggested_order(1, 7, 30, moq=100, case_pack=24) == 120
    assert fc.suggested_order(150, 7, 6000) == 0  # already covered


def test_ad_guidance():
    # 5 days of cover, lead 7, nothing ordered: reorder now
    assert fc.ad_guidance(500, 100, 7, 0, None, TODAY).kind == "reorder_now"
    # ordered, lands in 10 days, stock lasts 5: empty 5 days before it lands -> slow ads
    eta = TODAY + timedelta(days=10)
    guidance = fc.ad_guidance(500, 100, 7, 2000, eta, TODAY)
    assert (guidance.kind, guidance.days_short) == ("slow_ads", 5)
    # 20 days of cover > 2 x 7: scale
    assert fc.ad_guidance(2000, 100, 7, 0, None, TODAY).kind == "scale"
    # 10 days: neither
    assert fc.ad_guidance(1000, 100, 7, 0, None, TODAY).kind is None


# ---- the vectorised path agrees with the scalar one ------------------------------------------------

@pytest.mark.parametrize("basis", fc.BASES)
def test_vectorised_levels_match_the_scalar_maths(basis):
    rng = np.random.default_rng(7)
    n, days = 40, 120
    units = rng.poisson(rng.uniform(0.2, 40, (n, 1)), (n, days)).astype(float)
    units[2, 60] = 1000  # a viral day
    stockout = rng.random((n, days)) < 0.05
    lead = rng.integers(1, 25, n)
    first = TODAY - timedelta(days=days)
    levels = compute_auto_levels(units, lead, 0.95, basis, stockout, first, TOMORROW)
    for i in range(n):
        history = [(first + timedelta(days=j), units[i, j]) for j in range(days) if not stockout[i, j]]
        values = fc.damp_spikes([v for _, v in history])
        profile = fc.weekday_profile([(d, v) for (d, _), v in zip(history, values)])
        point = fc.reorder_point(fc.daily_demand(values, basis), int(lead[i]), fc.Safety(service=0.95),
                                 fc.demand_sigma(values), TOMORROW, profile)
        assert (levels.warning_level[i], levels.critical_level[i]) == (point.warning_level, point.critical_level)
        assert levels.daily[i] == pytest.approx(point.daily)


def test_vectorised_seed_example():
    units = np.full((1, 30), 150.0)  # sigma 0: the level is exactly 150 x 7
    levels = compute_auto_levels(units, np.array([7]), 0.95)
    assert (levels.warning_level[0], levels.critical_level[0]) == (1050, 1050)
    assert math.isclose(levels.sigma[0], 0.0)
