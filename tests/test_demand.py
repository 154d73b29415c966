"""Levels by demand class (bot.core.demand): pure NumPy, checked by hand and against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core import demand as dm


def levels(rows, lead=7, **kwargs):
    units = np.array(rows, dtype=float)
    first = np.where((units > 0).any(axis=1), np.argmax(units > 0, axis=1), units.shape[1])
    return dm.demand_levels(units, first, lead, **kwargs)


def test_classes_by_hand():
    steady = [10, 12] * 30  # sells every day, sizes close: smooth
    erratic = [2, 30] * 30  # every day, sizes far apart: erratic
    intermittent = [5, 0, 0] * 20  # 1 day in 3, same size: intermittent
    lumpy = [2, 0, 0, 40, 0, 0] * 10  # 1 day in 3, sizes far apart: lumpy
    new = [0] * 40 + [3] * 20  # first sale 20 days ago: new
    dead = [4] * 20 + [0] * 100  # nothing in the last 90 days: dead
    found = levels([steady * 2, erratic * 2, intermittent * 2, lumpy * 2, [0] * 60 + new, dead])
    assert [dm.CLASSES[k] for k in found.klass] == ["smooth", "erratic", "intermittent", "lumpy", "new", "dead"]
    assert found.adi[2] == pytest.approx(3.0) and found.cv2[2] == pytest.approx(0.0)
    # erratic: sizes 2 and 30, mean 16, population variance 196: CV² 196 / 256
    assert found.cv2[1] == pytest.approx(196 / 256)
    # new and dead SKUs get no level from this function (launch rule / keep the level)
    assert found.reorder_point[4] == 0 and found.reorder_point[5] == 0 and found.daily[5] == 0


def test_one_off_orders_beat_the_previous_90_days_and_three_times_the_median():
    units = [5] * 100
    units[50] = 40  # above everything before and 3 x 5: a one-off order
    units[70] = 12  # a record? no: 40 is still in the 90 days before it; and 12 < 15
    units[95] = 14  # below 3 x the median: an ordinary busy day
    mask, before = dm.one_off_orders(np.array([units], dtype=float), np.array([0]))
    assert np.flatnonzero(mask[0]).tolist() == [50]
    assert before[0, 50] == 5 and before[0, 51] == 40
    found = levels([units])
    assert found.one_off_days[0] == 1 and found.one_off_min[0] == 40


@pytest.mark.parametrize("days", [1, 2, 5, 64, 91, 200])
def test_prior_max_matches_brute_force(days):
    rng = np.random.default_rng(days)
    units = (rng.poisson(0.5, (6, days)) * rng.integers(1, 20, (6, days))).astype(float)
    valid = rng.random((6, days)) > 0.1
    found = dm.prior_max(units, valid, 90)
    for i in range(6):
        for j in range(days):
            window = [units[i, k] for k in range(max(0, j - 90), j) if valid[i, k]]
            assert found[i, j] == (max(window) if window else -1)


def test_selling_median_matches_numpy():
    rng = np.random.default_rng(3)
    units = (rng.poisson(0.6, (40, 50)) * rng.integers(1, 30, (40, 50))).astype(float)
    expected = [np.median(row[row > 0]) if (row > 0).any() else 0.0 for row in units]
    assert np.allclose(dm.selling_median(units), expected)


def test_worst_stretch_reorder_point_and_trend_by_hand():
    # 56 days at 10, then the last 28 days at 20 (a product taking off). Lead 7: the worst 14 days are the
    # last 14, 280 units. Pace (no day above 3x the median) 1,120 + 560 ... = (28 x 10 + 28 x 20 ... ) / 84.
    units = [10] * 56 + [20] * 28
    found = levels([units])
    pace = (56 * 10 + 28 * 20) / 84  # 13.33
    trend = min(20 / pace, 3.0) ** ((7 + 7) / 28)  # 1.5 ** 0.5 = 1.2247
    assert found.trend[0] == pytest.approx(trend)
    assert found.worst_stretch[0] == 280
    # a steady-sizes SKU selling every day is smooth: the normal formula, daily x lead + z sigma sqrt(lead) x trend
    assert dm.CLASSES[found.klass[0]] == "smooth"
    sigma = np.std(units, ddof=1)
    z = 2.0537489  # 98%
    assert found.reorder_point[0] == int(np.ceil(pace * trend * 7 + z * sigma * np.sqrt(7) * trend - 1e-6))
    assert found.critical_level[0] == int(np.ceil(pace * trend * 7 - 1e-6))


def test_lumpy_reorder_point_is_the_worst_stretch_and_short_histories_scale_up():
    units = [12, 0, 0] * 20  # intermittent, 60 days, 4 a day on average; the last 4 weeks no faster
    found = levels([units], lead=3)
    # worst 6-day stretch: 2 selling days, 24 units; the pace 4 x 6 = 24 is the same; no trend
    assert found.worst_stretch[0] == 24 and found.reorder_point[0] == 24
    # lead 45: a 90-day stretch is longer than the 60 days of history: the mean day x 90 = 360
    long = levels([units], lead=45)
    assert long.worst_stretch[0] == pytest.approx(360)


def test_spikes_exclude_leaves_one_off_orders_out_of_the_reorder_point():
    units = [5] * 100
    units[60] = 200
    keep, exclude = levels([units], spikes="keep"), levels([units], spikes="exclude")
    assert keep.worst_stretch[0] == 13 * 5 + 200
    assert exclude.worst_stretch[0] == 14 * 5  # the one-off counts as the 5 it beat
    assert keep.daily[0] == exclude.daily[0]  # never in the daily demand: capped at 3x the median day
    with pytest.raises(ValueError):
        levels([units], spikes="sometimes")


def test_order_up_to_adds_the_cover_to_the_reorder_point():
    assert dm.order_up_to(np.array([87]), np.array([2.2]), 30).tolist() == [153]  # 87 + 66


def test_launch_levels():
    # 12 units in the first 3 days: over at least a week, 12 / 7 a day; 2 x lead 7 days: 24
    launch = dm.launch_levels(12, 3, 7)
    assert launch.daily == pytest.approx(12 / 7) and launch.reorder_point == 24 and launch.source == "first_days"
    assert launch.critical_level == 12
    # a similar SKU selling faster sets the pace
    similar = dm.launch_levels(12, 3, 7, similar_daily=5.0)
    assert similar.source == "similar" and similar.reorder_point == 70
    assert dm.launch_levels(0, 3, 7).source == "none"


@pytest.mark.parametrize("sku, family", [("DRESS-RED-S", "DRESS-RED"), ("85123A", "85123"), ("22423", None),
                                         ("连衣裙-红-XL", "连衣裙-红"), ("A_B", "A"), ("-X", None)])
def test_sku_family(sku, family):
    assert dm.sku_family(sku) == family
