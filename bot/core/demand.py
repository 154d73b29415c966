"""Reorder levels that hold on real per-SKU demand: lumpy, intermittent, wholesale spikes, new products.

Pure NumPy: arrays in, arrays out; no Slack, no database. Row i of every array is one SKU,
column j of the history one day (oldest first); `valid` marks the days that are history (from
the SKU's first sale on, inside the window). Days the shelf was empty count what was sold
that day: leaving them out drops exactly the spike days that emptied it.

Why not z x sigma x sqrt(lead)? Real per-SKU sales are not normal. On a real retailer's 1,959
SKUs (README: "Backtest") no SKU is smooth, 22% of units fall on days bigger than anything in
the SKU's previous 90 days, and the 90th-percentile day is 0 for every SKU that sells on fewer
than one day in ten. So the default (`class`) method reads the lead-time demand straight off the
SKU's own history:

* **Daily demand** is the mean day of the past year with single days capped at 3x the median
  selling day (SPIKE_FACTOR): one wholesale order does not set the pace of the next 30 days.
* **Trend.** When the last 4 weeks sold faster than the year (a product taking off, the season),
  demand is scaled by that ratio (at most 3x) raised to (lead + 7) / 28: a 4-week trend,
  carried over the lead time plus a week. A slowdown does not lower the level: allowing it
  (down to half the year's pace) cost the backtest 0.7 points of fill at lead 21.
* **Reorder point** = trend x the most the SKU sold in any stretch of 2 x lead days in the past
  year (the lead time, and as long again of safety): lumpy demand arrives in bursts that last
  days, and the worst burst already seen is the one to be ready for. For smooth SKUs (few zero
  days, steady sizes) the normal formula holds and costs less: demand x lead + z x sigma x
  sqrt(lead) at the service level.
* **Critical level** = the lead-time demand alone: below it a reorder placed now lands after
  the shelf is empty.
* **One-off orders** are days above everything the SKU sold in the 90 days before and above 3x
  its median selling day. They never set the daily demand. By default the reorder point still
  covers them (unserved, they cost the most units); `spikes exclude` also leaves them out of
  the reorder point, for sellers who handle wholesale orders as special orders.
* **New** SKUs (fewer than 28 days since the first sale) get a launch level from their first
  days (or a similar SKU's pace, see `launch_levels`); **dead** SKUs (nothing sold in 90 days)
  get no level: a reorder would only add dead stock.

Demand classes follow Syntetos & Boylan (2005): ADI (average days between selling days) 1.32
and CV² (squared coefficient of variation of the selling days' sizes) 0.49 split smooth,
erratic, intermittent and lumpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from bot.core.auto_levels import whole_units
from bot.core.forecast import SPIKE_FACTOR, DemandNote, whole, z_for

CLASSES = ("new", "dead", "smooth", "erratic", "intermittent", "lumpy")
NEW, DEAD, SMOOTH, ERRATIC, INTERMITTENT, LUMPY = range(len(CLASSES))
ADI_CUTOFF = 1.32  # Syntetos & Boylan: more than 1.32 days between sales on average is intermittent
CV2_CUTOFF = 0.49  # ... and sizes varying more than this (CV²) are erratic / lumpy
HISTORY_DAYS = 365  # a year: the worst burst of last season is still in view
NEW_SKU_DAYS = 28  # fewer days since the first sale: too little to read a pattern from
DEAD_AFTER_DAYS = 90  # nothing sold in this many days: no reorder level
ONE_OFF_LOOKBACK_DAYS = 90  # a one-off order beats everything sold in the 90 days before it
TREND_DAYS = 28  # the recent pace is the last 4 weeks
TREND_CAP = 3.0  # a trend is believed up to 3x the year's pace
REVIEW_DAYS = 7  # the trend is carried over the lead time plus a week
STRETCH_LEADS = 2  # the reorder point covers the worst stretch of 2 x lead days
LAUNCH_MIN_DAYS = 7  # a launch pace is units since the first sale over at least a week
SPIKE_MODES = ("keep", "exclude")


@dataclass
class DemandLevels:
    klass: np.ndarray  # int: index into CLASSES
    adi: np.ndarray  # average days between selling days (inf: never sold)
    cv2: np.ndarray  # squared coefficient of variation of selling-day sizes
    daily: np.ndarray  # forecast units/day, trend included
    trend: np.ndarray  # multiplier on the year's pace (1 = no growth)
    stretch_days: np.ndarray  # int: the stretch the reorder point covers (2 x lead)
    worst_stretch: np.ndarray  # most units sold in any stretch of that length (before the trend)
    reorder_point: np.ndarray  # int64: the warning level
    critical_level: np.ndarray  # int64: lead-time demand, no safety
    history_days: np.ndarray  # int: days since the first sale, inside the window
    one_off_days: np.ndarray  # int: one-off order days in the history
    one_off_min: np.ndarray  # the smallest one-off day's units (0 without any)
    sigma: np.ndarray  # sample standard deviation of daily units sold


def selling_median(units: np.ndarray) -> np.ndarray:
    """Median of each row's selling (> 0) days, 0 for a row that never sold. Sorted as float32
    (exact for whole units below 16 million): a vectorised sort, where np.nanmedian loops over rows."""
    ordered = np.sort(units.astype(np.float32), axis=1)
    n, d = units.shape
    count = (units > 0).sum(axis=1)
    rows = np.arange(n)
    # the selling days are the last `count` of each sorted row
    low = ordered[rows, np.clip(d - count + (count - 1) // 2, 0, d - 1)].astype(np.float64)
    high = ordered[rows, np.clip(d - count + count // 2, 0, d - 1)].astype(np.float64)
    return np.where(count > 0, np.where(count % 2 == 1, low, (low + high) / 2), 0.0)


def prior_max(units: np.ndarray, valid: np.ndarray, lookback: int = ONE_OFF_LOOKBACK_DAYS) -> np.ndarray:
    """For each day, the most sold on any valid day in the `lookback` days before it (-1: none).
    A doubling table: log2(lookback) whole-array maxima instead of one per day of lookback."""
    base = np.where(valid, units, -1.0)
    n, d = base.shape
    result = np.full((n, d), -1.0)
    span_max = base  # span_max[:, j] = max of base[:, j - span + 1 .. j]
    span, covered = 1, 0
    remaining = lookback
    while remaining:
        if remaining & 1:  # the block of `span` days ending `covered` days before each day
            shift = covered + 1
            if shift < d:
                result[:, shift:] = np.maximum(result[:, shift:], span_max[:, :d - shift])
            covered += span
        remaining >>= 1
        if remaining:
            doubled = span_max.copy()
            if span < d:
                doubled[:, span:] = np.maximum(span_max[:, span:], span_max[:, :d - span])
            span_max, span = doubled, span * 2
    return result


def history_mask(first: np.ndarray, days: int) -> np.ndarray:
    """(n, days) True from each row's first sale on."""
    return np.arange(days)[None, :] >= np.asarray(first)[:, None]


def one_off_orders(units: np.ndarray, first: np.ndarray, median: Optional[np.ndarray] = None,
                   factor: float = SPIKE_FACTOR) -> tuple[np.ndarray, np.ndarray]:
    """(mask of one-off order days, the prior 90-day maximum of each day).

    A one-off order beats everything the SKU sold in the 90 days before it and is more than
    `factor` x its median selling day: a wholesale order, not the shelf's usual pace.
    """
    valid = history_mask(first, units.shape[1])
    before = prior_max(units, valid)
    median = selling_median(units) if median is None else median
    mask = valid & (before > 0) & (units > before) & (units > factor * median[:, None])
    return mask, before


def _classify(units: np.ndarray, selling: np.ndarray, history: np.ndarray) -> tuple[np.ndarray, ...]:
    count = selling.sum(axis=1)
    total = units.sum(axis=1)
    squares = (units * units).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(count > 0, history / np.maximum(count, 1), np.inf)
        mean = total / np.maximum(count, 1)
        var = np.maximum(squares / np.maximum(count, 1) - mean * mean, 0.0)
        cv2 = np.where(mean > 0, var / np.maximum(mean, 1e-12) ** 2, 0.0)
    d = units.shape[1]
    recent = selling[:, max(0, d - DEAD_AFTER_DAYS):].any(axis=1)
    klass = np.where(adi <= ADI_CUTOFF, np.where(cv2 < CV2_CUTOFF, SMOOTH, ERRATIC),
                     np.where(cv2 < CV2_CUTOFF, INTERMITTENT, LUMPY))
    klass = np.where(~recent, DEAD, klass)
    klass = np.where(history < NEW_SKU_DAYS, NEW, klass)
    return klass.astype(np.int64), adi, cv2


def _worst_stretch(units: np.ndarray, first: np.ndarray, stretch: int) -> np.ndarray:
    """Most units sold in any `stretch` consecutive days from the first sale on; a row with less
    history than that is scaled up from its mean day (0 for a row without history)."""
    n, d = units.shape
    history = d - first
    sums = np.concatenate([np.zeros((n, 1)), np.cumsum(units, axis=1)], axis=1)
    if d >= stretch:
        window = sums[:, stretch:] - sums[:, :-stretch]  # window k covers days k .. k + stretch - 1
        full = np.arange(d - stretch + 1)[None, :] >= first[:, None]
        best = np.where(full, window, -np.inf).max(axis=1)
    else:
        best = np.full(n, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(history > 0, sums[:, -1] / np.maximum(history, 1) * stretch, 0.0)
    return np.where(np.isfinite(best), best, scaled)


def demand_levels(units: np.ndarray, first: np.ndarray, lead_days: np.ndarray | int,
                  service: np.ndarray | float = 0.98, spikes: str = "keep", one_offs: bool = True) -> DemandLevels:
    """Levels for every row of `units` (n SKUs x d days of units sold, the last column the newest day).

    `first` is each row's first day of history (the first sale; d for a SKU that never sold);
    earlier columns are ignored. New and dead rows get reorder point and critical level 0:
    callers apply `launch_levels` to new SKUs and leave dead ones without a level.
    `one_offs=False` skips counting one-off orders (the backtest's `keep` runs do not show them).
    """
    if spikes not in SPIKE_MODES:
        raise ValueError(f"spikes must be one of {SPIKE_MODES}")
    units = np.asarray(units, dtype=np.float64)
    n, d = units.shape
    first = np.clip(np.broadcast_to(np.asarray(first, dtype=np.int64), (n,)), 0, d)
    valid = history_mask(first, d)
    units = np.where(valid & (units > 0), units, 0.0)
    lead = np.broadcast_to(np.asarray(lead_days, dtype=np.int64), (n,)).copy()
    services = np.broadcast_to(np.asarray(service, dtype=np.float64), (n,))
    if (lead < 1).any():
        raise ValueError("lead time must be at least 1 day")

    history = d - first
    selling = units > 0
    klass, adi, cv2 = _classify(units, selling, history)
    median = selling_median(units)
    if one_offs or spikes == "exclude":
        one_off, before = one_off_orders(units, first, median)
        one_off_days = one_off.sum(axis=1)
        smallest = np.where(one_off, units, np.inf).min(axis=1)
        one_off_min = np.where(np.isfinite(smallest), smallest, 0.0)
    else:
        one_off, before = None, None
        one_off_days, one_off_min = np.zeros(n, dtype=np.int64), np.zeros(n)

    # the pace: no single day above 3x the median selling day (rows with 3+ selling days)
    cap = np.where(selling.sum(axis=1) >= 3, SPIKE_FACTOR * median, np.inf)
    flat = np.minimum(units, cap[:, None])
    total = flat.sum(axis=1)
    recent_days = np.minimum(history, TREND_DAYS)
    with np.errstate(divide="ignore", invalid="ignore"):
        pace = np.where(history > 0, total / np.maximum(history, 1), 0.0)
        recent = np.where(recent_days > 0, flat[:, max(0, d - TREND_DAYS):].sum(axis=1) / np.maximum(recent_days, 1),
                          0.0)
        ratio = np.clip(np.where(pace > 0, recent / np.where(pace > 0, pace, 1.0), 1.0), 1.0, TREND_CAP)
        # the spread of the days as sold (a smooth SKU has no spikes to damp): sum over history days of
        # (units - mean)^2 from sums, days before the first sale being 0
        raw_total = units.sum(axis=1)
        mean = np.where(history > 0, raw_total / np.maximum(history, 1), 0.0)
        spread = (units * units).sum(axis=1) - 2 * mean * raw_total + history * mean * mean
        sigma = np.sqrt(np.maximum(np.where(history > 1, spread / np.maximum(history - 1, 1), 0.0), 0.0))
    trend = ratio ** ((lead + REVIEW_DAYS) / TREND_DAYS)
    daily = pace * trend

    basis = np.where(one_off, before, units) if spikes == "exclude" else units
    stretch = lead * STRETCH_LEADS
    worst = np.zeros(n)
    for days in np.unique(stretch):
        rows = stretch == days
        worst[rows] = _worst_stretch(basis[rows], first[rows], int(days))
    empirical = np.maximum(worst, pace * stretch) * trend
    z = np.array([z_for(float(s)) for s in np.unique(services)])
    z_row = z[np.searchsorted(np.unique(services), services)] if n else np.zeros(0)
    normal = daily * lead + z_row * sigma * np.sqrt(lead) * trend
    point = np.where(klass == SMOOTH, normal, empirical)
    active = (klass != NEW) & (klass != DEAD)
    return DemandLevels(
        klass=klass, adi=adi, cv2=cv2, daily=np.where(klass == DEAD, 0.0, daily), trend=trend,
        stretch_days=stretch, worst_stretch=worst, reorder_point=np.where(active, whole_units(point), 0),
        critical_level=np.where(active, whole_units(daily * lead), 0), history_days=history,
        one_off_days=np.asarray(one_off_days, dtype=np.int64), one_off_min=one_off_min, sigma=sigma)


def order_up_to(reorder_point: np.ndarray | int, daily: np.ndarray | float, cover_days: int) -> np.ndarray:
    """Where an order tops the inventory position up to: the reorder point plus `cover_days` of demand
    (a fixed cover on top of the reorder point, so a lumpy SKU's order is never 0 or 1 unit)."""
    return whole_units(np.asarray(reorder_point, dtype=np.float64) + np.asarray(daily, dtype=np.float64) * cover_days)


@dataclass(frozen=True)
class SkuLevels:
    """One SKU's levels by demand class, as alerts, `/threshold calc` and `/stock` explain them
    (campaigns in the lead window included)."""

    klass: str  # one of CLASSES
    reorder_point: Optional[int]  # None: dead, or new without anything to go on (the level is kept)
    critical_level: Optional[int]
    stretch_days: int
    worst_stretch: float
    trend: float
    adi: float
    cv2: float
    one_off_days: int
    one_off_min: int
    spikes: str
    campaign_units: float = 0.0
    launch: Optional[str] = None  # new SKUs: "first_days" | "similar"

    def note(self, history_days: int) -> DemandNote:
        return DemandNote(self.klass, history_days, self.adi, self.one_off_days, self.one_off_min, self.launch)


@dataclass(frozen=True)
class Launch:
    daily: float
    reorder_point: int
    critical_level: int
    source: str  # "first_days" | "similar" | "none"


def launch_pace(units_since_first_sale: np.ndarray, days_since_first_sale: np.ndarray) -> np.ndarray:
    """A new SKU's daily pace: units since its first sale over the days since (at least a week,
    so one opening day does not set a month's pace)."""
    return np.asarray(units_since_first_sale, dtype=np.float64) / np.maximum(days_since_first_sale, LAUNCH_MIN_DAYS)


def launch_levels(units_since_first_sale: float, days_since_first_sale: int, lead_days: int,
                  similar_daily: Optional[float] = None) -> Launch:
    """A new SKU's level: its pace since the first sale (`launch_pace`), or a similar SKU's pace
    when that is faster; the same 2 x lead stretch as established SKUs."""
    own = float(launch_pace(np.array([max(units_since_first_sale, 0.0)]), np.array([days_since_first_sale]))[0])
    daily, source = own, ("first_days" if own > 0 else "none")
    if similar_daily is not None and similar_daily > daily:
        daily, source = similar_daily, "similar"
    point = daily * lead_days * STRETCH_LEADS
    return Launch(daily, whole(point), whole(daily * lead_days), source)


def sku_family(sku: str) -> Optional[str]:
    """The part of a SKU code its variants share: `DRESS-RED-S` -> `DRESS-RED`, `85123A` -> `85123`
    (None when the code has no variant part)."""
    for separator in ("-", "_", "/", "."):
        if separator in sku:
            head = sku.rsplit(separator, 1)[0]
            return head or None
    stem = sku.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return stem if stem and stem != sku else None
