"""Threshold maths from sales data, as pure functions over plain numbers and dates.

No Slack, no database: the listeners, the nightly recompute and the backtest feed sales
history in and show or store what comes out.

The seed formula, exactly: reorder point = daily demand x lead days + safety stock.
`warning_level` is that reorder point; `critical_level` is the lead-time demand alone (no
safety stock): below it, a reorder placed now arrives after the shelf is empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist
from typing import Mapping, Optional, Sequence

BASES = ("avg", "max", "p90", "weighted")
# The default: levels by demand class (bot.core.demand), chosen by the backtest on a real retailer's
# 1,959 SKUs (README: "Backtest"). The bases above model a daily demand plus z x sigma x sqrt(lead),
# which real per-SKU sales (lumpy, intermittent, wholesale spikes) do not follow.
CLASS_BASIS = "class"
LEVEL_BASES = (CLASS_BASIS, *BASES)
DEFAULT_BASIS = CLASS_BASIS
DEFAULT_SERVICE = 0.98
DEFAULT_HISTORY_DAYS = 90
DEFAULT_TARGET_COVER_DAYS = 30
# Without a lead time for the SKU (its own or its supplier's): a domestic warehouse restocks in days, an
# overseas one in weeks. The defaults of Settings.lead_days_domestic / _overseas (a workspace may change them).
LEAD_DAYS_DOMESTIC = 3
LEAD_DAYS_OVERSEAS = 21
# Recent windows for the `weighted` basis: (days, weight). The last week counts most, so a SKU
# that has started selling faster is seen within days, but a month still steadies it.
WEIGHTED_WINDOWS: tuple[tuple[int, float], ...] = ((7, 0.5), (14, 0.3), (30, 0.2))
SPIKE_FACTOR = 3.0  # a day above 3x the typical selling day is damped to that (one viral video)
MIN_DAYS_FOR_WEEKDAYS = 28  # four of each weekday before day-of-week seasonality is trusted
MAX_SERVICE = 0.9999
MIN_SERVICE = 0.5
STOCKOUT_HORIZON_DAYS = 366


def z_for(service: float) -> float:
    """The standard normal quantile: the z that `service` (0.95 -> 1.645) buys."""
    if not MIN_SERVICE <= service <= MAX_SERVICE:
        raise ValueError(f"service level {service} outside {MIN_SERVICE}..{MAX_SERVICE}")
    return NormalDist().inv_cdf(service)


def service_for(z: float) -> float:
    """The cycle service level a safety factor z buys (the inverse of `z_for`)."""
    return NormalDist().cdf(z)


# ---- history ---------------------------------------------------------------------------------

def history_values(sales: Mapping[date, int], start: date, end: date) -> list[tuple[date, float]]:
    """Daily units from `start` to `end` inclusive, a day without a sales row counting 0.

    A day the shelf was empty counts what it sold: leaving such days out drops exactly the spike
    days that emptied it (the backtest on real per-SKU sales served less with it).
    """
    days = []
    day = start
    while day <= end:
        days.append((day, float(sales.get(day, 0))))
        day += timedelta(days=1)
    return days


def damp_spikes(values: Sequence[float], factor: float = SPIKE_FACTOR) -> list[float]:
    """Cap single-day spikes at `factor` x the median selling day (days with sales only, so a
    slow mover's many zero days do not make every sale look like a spike)."""
    selling = sorted(v for v in values if v > 0)
    if len(selling) < 3:
        return list(values)
    cap = factor * _median(selling)
    return [min(v, cap) for v in values]


def _median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    middle = n // 2
    return sorted_values[middle] if n % 2 else (sorted_values[middle - 1] + sorted_values[middle]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in 0..100."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def daily_demand(values: Sequence[float], basis: str = DEFAULT_BASIS) -> float:
    """Forecast daily demand from a history (oldest first) with the chosen basis."""
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}")
    if not values:
        return 0.0
    if basis == "avg":
        return sum(values) / len(values)
    if basis == "max":
        return float(max(values))
    if basis == "p90":
        return percentile(values, 90)
    total_weight = weighted = 0.0
    for window, weight in WEIGHTED_WINDOWS:
        recent = values[-window:]
        weighted += weight * sum(recent) / len(recent)
        total_weight += weight
    return weighted / total_weight


def demand_sigma(values: Sequence[float]) -> float:
    """Sample standard deviation of daily demand (0 with fewer than two days)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def weekday_profile(history: Sequence[tuple[date, float]]) -> Optional[tuple[float, ...]]:
    """Day-of-week index (Monday first; 1.0 = an average day), or None without enough history."""
    if len(history) < MIN_DAYS_FOR_WEEKDAYS:
        return None
    sums, counts = [0.0] * 7, [0] * 7
    for day, units in history:
        sums[day.weekday()] += units
        counts[day.weekday()] += 1
    if min(counts) < 4:
        return None
    overall = sum(sums) / sum(counts)
    if overall <= 0:
        return None
    return tuple(s / c / overall for s, c in zip(sums, counts))


# ---- campaigns and the demand ahead ------------------------------------------------------------

@dataclass(frozen=True)
class CampaignWindow:
    """A planned live-stream or ad push: demand x `multiplier` from `start` to `end` inclusive."""

    start: date
    end: date
    multiplier: float
    name: str = ""


def multiplier_on(day: date, campaigns: Sequence[CampaignWindow]) -> float:
    """Overlapping campaigns do not compound: the biggest one that day counts."""
    return max((c.multiplier for c in campaigns if c.start <= day <= c.end), default=1.0)


def expected_demand(daily: float, start: date, days: int, profile: Optional[Sequence[float]] = None,
                    campaigns: Sequence[CampaignWindow] = ()) -> float:
    """Units expected to sell over `days` days from `start`, with weekday shape and campaigns."""
    if not profile and not campaigns:
        return daily * days
    total = 0.0
    for offset in range(days):
        day = start + timedelta(days=offset)
        weight = profile[day.weekday()] if profile else 1.0
        total += daily * weight * multiplier_on(day, campaigns)
    return total


# ---- the reorder point ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Safety:
    """Safety stock as days of demand (`3d`), units (`450`) or a service level (`95%`)."""

    days: Optional[float] = None
    units: Optional[int] = None
    service: Optional[float] = None


@dataclass(frozen=True)
class ReorderPoint:
    daily: float
    lead_days: int
    lead_demand: float  # expected units sold while a reorder is on its way
    safety_units: float
    warning_level: int  # the reorder point
    critical_level: int  # lead-time demand without safety stock
    sigma: float = 0.0
    z: Optional[float] = None
    service: Optional[float] = None
    safety_days: Optional[float] = None
    campaign_units: float = 0.0  # extra units the campaigns in the lead window add
    campaigns: tuple[str, ...] = field(default_factory=tuple)
    seasonal: bool = False


def whole(units: float) -> int:
    """Round up to whole units, without float dust turning 1500.0000001 into 1501."""
    return max(0, math.ceil(units - 1e-6))


def reorder_point(daily: float, lead_days: int, safety: Safety = Safety(), sigma: float = 0.0,
                  start: Optional[date] = None, profile: Optional[Sequence[float]] = None,
                  campaigns: Sequence[CampaignWindow] = ()) -> ReorderPoint:
    """Daily demand x lead days + safety stock, shown with its working.

    With `start` (tomorrow, usually), the lead-time demand follows the weekday profile and any
    campaign inside the window, so a live-stream two weeks out raises the level two weeks
    (plus lead time) ahead: early enough to reorder.
    """
    if lead_days <= 0:
        raise ValueError("lead time must be at least 1 day")
    if daily < 0:
        raise ValueError("daily demand cannot be negative")
    in_window = [c for c in campaigns if start and c.start < start + timedelta(days=lead_days) and c.end >= start]
    if start is not None and (profile or in_window):
        plain = expected_demand(daily, start, lead_days, profile)
        lead_demand = expected_demand(daily, start, lead_days, profile, in_window)
    else:
        plain = lead_demand = daily * lead_days
    z = None
    if safety.service is not None:
        z = z_for(safety.service)
        safety_units = z * sigma * math.sqrt(lead_days)
    elif safety.days is not None:
        safety_units = daily * safety.days
    else:
        safety_units = float(safety.units or 0)
    return ReorderPoint(
        daily=daily, lead_days=lead_days, lead_demand=lead_demand, safety_units=safety_units,
        warning_level=whole(lead_demand + safety_units), critical_level=whole(lead_demand),
        sigma=sigma, z=z, service=safety.service, safety_days=safety.days,
        campaign_units=lead_demand - plain, campaigns=tuple(c.name or f"x{c.multiplier:g}" for c in in_window),
        seasonal=bool(profile) and start is not None)


# ---- cover, stock-out date, reorder quantity, ad guidance -----------------------------------------

def days_of_cover(available: int, daily: float) -> Optional[float]:
    """How many days the stock on the shelf lasts at the forecast rate (None: no demand)."""
    if daily <= 0:
        return None
    return max(0, available) / daily


def stockout_date(today: date, available: int, daily: float, profile: Optional[Sequence[float]] = None,
                  campaigns: Sequence[CampaignWindow] = ()) -> Optional[date]:
    """The first day the forecast demand empties the shelf (None: not within a year)."""
    if daily <= 0:
        return None
    if available <= 0:
        return today
    if not profile and not campaigns:
        days = math.ceil(available / daily - 1e-9)
        return today + timedelta(days=days) if days <= STOCKOUT_HORIZON_DAYS else None
    left = float(available)
    for offset in range(1, STOCKOUT_HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        left -= daily * (profile[day.weekday()] if profile else 1.0) * multiplier_on(day, campaigns)
        if left <= 1e-9:
            return day
    return None


def suggested_order(daily: float, lead_days: int, inventory_position: int,
                    target_cover_days: int = DEFAULT_TARGET_COVER_DAYS, case_pack: Optional[int] = None,
                    moq: Optional[int] = None, extra_units: float = 0.0, reorder_point: Optional[float] = None) -> int:
    """Enough to cover the lead time plus `target_cover_days`, minus what is on hand and on order;
    at least the MOQ, rounded up to whole case packs. 0 when nothing is needed.

    With `reorder_point` (levels by demand class), the order tops the position up to the reorder
    point plus the cover: a lumpy SKU's reorder point is far above its lead-time demand, and an
    order up to lead + cover days alone would be nothing (or 1 unit) once the position is below it."""
    cover_to = daily * lead_days if reorder_point is None else max(float(reorder_point), daily * lead_days)
    need = cover_to + daily * target_cover_days + extra_units - inventory_position
    if need <= 1e-9:
        return 0
    units = whole(need)
    if moq:
        units = max(units, moq)
    if case_pack and case_pack > 1:
        units = math.ceil(units / case_pack) * case_pack
    return units


@dataclass(frozen=True)
class AdGuidance:
    """One line of advice for the ad buyer: `reorder_now`, `slow_ads`, `scale` or None (hold)."""

    kind: Optional[str]
    days_short: int = 0  # slow_ads: days the shelf is empty before the reorder lands


def ad_guidance(available: int, daily: float, lead_days: int, on_order: int, eta: Optional[date],
                today: date) -> AdGuidance:
    cover = days_of_cover(available, daily)
    if cover is None:
        return AdGuidance(None)
    if on_order <= 0 and cover < lead_days:
        return AdGuidance("reorder_now")
    if on_order > 0 and eta is not None:
        empty_on = stockout_date(today, available, daily)
        if empty_on is not None and empty_on < eta:
            return AdGuidance("slow_ads", (eta - empty_on).days)
    if cover > 2 * lead_days:
        return AdGuidance("scale")
    return AdGuidance(None)


@dataclass(frozen=True)
class Outlook:
    """The lines every alert carries: how long stock lasts and what to do about it."""

    daily: float
    days_of_cover: Optional[float]
    stockout_date: Optional[date]
    suggested_qty: int
    guidance: AdGuidance
    lead_days: int
    method: Optional[str] = None  # how an auto level was computed (planning.describe_method)
    demand: Optional["DemandNote"] = None  # the SKU's demand class, one-off orders, launch


@dataclass(frozen=True)
class DemandNote:
    """What the history says about a SKU's demand (levels by demand class), for alerts and `/stock`."""

    klass: str  # bot.core.demand.CLASSES
    history_days: int
    adi: float = 0.0  # average days between selling days
    one_off_days: int = 0  # one-off (wholesale) order days left out of the daily demand
    one_off_min: int = 0  # the smallest of them, units
    launch: Optional[str] = None  # new SKU: "first_days" | "similar" | "manual"
