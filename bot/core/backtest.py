"""Replay real daily sales against reorder policies: how often would each one have run out,
and how much stock would it have held? Pure NumPy: arrays in, numbers out; no Slack, no DB.

Every policy computes its levels with `bot.core.auto_levels.compute_auto_levels`, the code
the nightly recompute runs, so the backtest measures the production maths, not a copy.

Semantics (one run, every policy on the same demand, every SKU of a policy in one array):

* Warm-up. The first `warmup` days (default 56) are history only. On the first evaluated
  day each policy starts with on-hand = its own order-up-to level, daily x (lead + cover)
  rounded up, computed on the warm-up history (the trailing `history` days of it); nothing
  is on order.
* Each evaluated day t, in this order:
    1. orders due on day t arrive (added to on-hand);
    2. demand d_t is served: sold = min(on_hand, d_t), lost = d_t - sold (lost sales, no
       backorders). A day with lost > 0 is a stock-out day for that SKU, and is marked as
       a stock-out in the policy's own history: like production, the policy leaves the day
       out of its forecast (0 stock is not 0 demand); days without a stock-out count their
       full demand (= sold);
    3. the nightly recompute: levels from the trailing `history` days (default 90) up to
       and including t, first_day/start given when the policy uses the weekday profile;
       then if inventory position (on hand + on order) <= the reorder point, an order of
       max(1, ceil(daily x (lead + cover) - position)) is placed; it arrives at the start
       of day t + lead.
* Policies. Safety stock is either a service level (warning = AutoLevels.warning_level,
  i.e. lead-time demand + z x sigma x sqrt(lead)) or N days of demand (warning =
  ceil(lead_demand + daily x N), the seed's rule: 150/day x 7 days + 450 uses N = 3).
* Metrics, summed over SKUs:
    cycle service level  share of orders whose lead time (the days after the order up to
                         and including its arrival day, receipt first) saw no lost demand;
                         orders arriving after the last day are not judged;
    fill rate            units sold / units demanded over the evaluated days;
    stock-out days       SKU-days with lost demand;
    average on-hand      end-of-day units on hand, summed over SKUs, mean over the days;
    orders placed        every order, judged or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Optional, Sequence

import numpy as np

from bot.core.auto_levels import AutoLevels, compute_auto_levels, whole_units
from bot.core.forecast import (
    BASES,
    DEFAULT_BASIS,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_SERVICE,
    DEFAULT_TARGET_COVER_DAYS,
    MAX_SERVICE,
    MIN_SERVICE,
)

DEFAULT_WARMUP_DAYS = 56
SEED_SAFETY_DAYS = 3.0  # the seed's example: 150/day x 7 days + 450 = 3 days of demand


@dataclass(frozen=True)
class Policy:
    name: str
    basis: str
    damp: bool
    service: Optional[float] = None  # safety z x sigma x sqrt(lead) at this cycle service level
    safety_days: Optional[float] = None  # or safety = this many days of demand
    weekdays: bool = True  # learn and apply the day-of-week profile (the seed rule does not)

    def describe(self) -> str:
        safety = f"{self.service * 100:g}% service" if self.service is not None else f"safety {self.safety_days:g} days"
        return f"{self.name}: basis {self.basis}, {safety}, {'spikes damped' if self.damp else 'no damping'}" \
               f"{', weekday profile' if self.weekdays else ''}"


POLICIES: dict[str, Policy] = {
    "seed-max": Policy("seed-max", "max", damp=False, safety_days=SEED_SAFETY_DAYS, weekdays=False),
    "seed-avg": Policy("seed-avg", "avg", damp=False, safety_days=SEED_SAFETY_DAYS, weekdays=False),
    "avg98": Policy("avg98", "avg", damp=True, service=DEFAULT_SERVICE),
    "weighted98": Policy("weighted98", "weighted", damp=True, service=DEFAULT_SERVICE),
    "auto95": Policy("auto95", DEFAULT_BASIS, damp=True, service=0.95),
    # the default auto policy: what `/threshold auto` runs every night
    "auto98": Policy("auto98", DEFAULT_BASIS, damp=True, service=DEFAULT_SERVICE),
}
DEFAULT_POLICIES = tuple(POLICIES)
_SERVICE_NAME = re.compile(r"^(auto|avg|weighted|p90-)(\d{2}(?:\.\d+)?)$")
_SEED_NAME = re.compile(r"^seed-(\w+)$")


def policy_named(name: str) -> Policy:
    """A policy by name: the defaults, `auto<pct>` (the default basis) / `avg<pct>` / `weighted<pct>` /
    `p90-<pct>` at any service level (auto90, weighted99.5), or `seed-<basis>` (safety 3 days, no damping)."""
    name = name.strip()
    if name in POLICIES:
        return POLICIES[name]
    match = _SERVICE_NAME.match(name)
    if match:
        service = float(match.group(2)) / 100
        if not MIN_SERVICE <= service <= MAX_SERVICE:
            raise ValueError(f"policy {name!r}: service level must be {MIN_SERVICE:.0%}..{MAX_SERVICE:.2%}")
        basis = {"auto": DEFAULT_BASIS, "avg": "avg", "weighted": "weighted", "p90-": "p90"}[match.group(1)]
        return Policy(name, basis, damp=True, service=service)
    match = _SEED_NAME.match(name)
    if match and match.group(1) in BASES:
        return Policy(name, match.group(1), damp=False, safety_days=SEED_SAFETY_DAYS, weekdays=False)
    raise ValueError(f"unknown policy {name!r}: use {', '.join(POLICIES)}, auto<pct> (auto90), avg<pct>, "
                     f"weighted<pct>, p90-<pct> or seed-<basis> ({', '.join(BASES)})")


@dataclass
class PolicyResult:
    policy: Policy
    on_hand: np.ndarray  # (evaluated days, n) end-of-day units on hand
    sold: np.ndarray  # (evaluated days, n)
    lost: np.ndarray  # (evaluated days, n)
    orders: list[tuple[int, int, int]] = field(default_factory=list)  # (sku row, evaluated day placed, units)
    cycles_judged: int = 0
    cycles_ok: int = 0

    @property
    def orders_placed(self) -> int:
        return len(self.orders)

    @property
    def cycle_service_level(self) -> Optional[float]:
        return self.cycles_ok / self.cycles_judged if self.cycles_judged else None

    @property
    def demand(self) -> float:
        return float(self.sold.sum() + self.lost.sum())

    @property
    def units_lost(self) -> float:
        return float(self.lost.sum())

    @property
    def fill_rate(self) -> Optional[float]:
        demand = self.demand
        return float(self.sold.sum()) / demand if demand else None

    @property
    def stockout_days(self) -> int:
        return int((self.lost > 0).sum())

    @property
    def average_on_hand(self) -> float:
        return float(self.on_hand.sum(axis=1).mean()) if len(self.on_hand) else 0.0


@dataclass
class Backtest:
    first_day: date  # date of column 0 of the demand
    warmup: int
    lead_days: int
    history_days: int
    cover_days: int
    results: list[PolicyResult]

    @property
    def evaluated_days(self) -> int:
        return self.results[0].on_hand.shape[0] if self.results else 0

    @property
    def first_evaluated(self) -> date:
        return self.first_day + timedelta(days=self.warmup)

    @property
    def average_daily_demand(self) -> float:
        return self.results[0].demand / self.evaluated_days if self.results and self.evaluated_days else 0.0

    def result(self, name: str) -> PolicyResult:
        return next(r for r in self.results if r.policy.name == name)


def run_backtest(units: np.ndarray, first_day: date, lead_days: int, policies: Sequence[Policy | str] = DEFAULT_POLICIES,
                 warmup: int = DEFAULT_WARMUP_DAYS, history: int = DEFAULT_HISTORY_DAYS,
                 cover: int = DEFAULT_TARGET_COVER_DAYS) -> Backtest:
    """Replay `units` (n SKUs x d days of demand, oldest first; column 0 is `first_day`)."""
    demand = np.asarray(units, dtype=np.float64)
    if demand.ndim != 2:
        raise ValueError("units must be a 2-d array: SKUs x days")
    if np.isnan(demand).any() or (demand < 0).any():
        raise ValueError("demand must be non-negative numbers")
    if lead_days < 1:
        raise ValueError("lead time must be at least 1 day")
    if warmup < 1 or history < 1 or cover < 0:
        raise ValueError("warm-up and history need at least 1 day, cover cannot be negative")
    if demand.shape[1] <= warmup:
        raise ValueError(f"{demand.shape[1]} days of sales: need more than the {warmup}-day warm-up")
    chosen = [policy_named(p) if isinstance(p, str) else p for p in policies]
    if not chosen:
        raise ValueError("no policy to test")
    results = [_simulate(demand, first_day, lead_days, p, warmup, history, cover) for p in chosen]
    return Backtest(first_day, warmup, lead_days, history, cover, results)


def levels(policy: Policy, window: np.ndarray, stockout: np.ndarray, lead_days: int, window_first: date,
           start: date) -> tuple[AutoLevels, np.ndarray]:
    """AutoLevels for a history window, and the policy's reorder point per SKU."""
    auto = compute_auto_levels(window, lead_days, policy.service if policy.service is not None else DEFAULT_SERVICE,
                               basis=policy.basis, stockout=stockout, damp=policy.damp,
                               first_day=window_first if policy.weekdays else None,
                               start=start if policy.weekdays else None)
    if policy.service is not None:
        return auto, auto.warning_level
    return auto, whole_units(auto.lead_demand + auto.daily * policy.safety_days)


def _simulate(demand: np.ndarray, first_day: date, lead: int, policy: Policy, warmup: int, history: int,
              cover: int) -> PolicyResult:
    n, total_days = demand.shape
    days = total_days - warmup
    stockout = np.zeros((n, total_days), dtype=bool)
    arrivals = np.zeros((n, total_days + lead + 1), dtype=np.int64)
    on_hand_log = np.zeros((days, n))
    sold_log = np.zeros((days, n))
    lost_log = np.zeros((days, n))
    orders: list[tuple[int, int, int]] = []

    def recompute(last: int) -> tuple[AutoLevels, np.ndarray]:
        lo = max(0, last + 1 - history)
        return levels(policy, demand[:, lo:last + 1], stockout[:, lo:last + 1], lead,
                      first_day + timedelta(days=lo), first_day + timedelta(days=last + 1))

    auto, _ = recompute(warmup - 1)
    on_hand = whole_units(auto.daily * (lead + cover)).astype(np.float64)
    on_order = np.zeros(n)
    for t in range(warmup, total_days):
        e = t - warmup
        arriving = arrivals[:, t]
        on_hand += arriving
        on_order -= arriving
        sold = np.minimum(on_hand, demand[:, t])
        lost = demand[:, t] - sold
        on_hand -= sold
        stockout[:, t] = lost > 0
        on_hand_log[e], sold_log[e], lost_log[e] = on_hand, sold, lost

        auto, reorder_point = recompute(t)
        position = on_hand + on_order
        place = position <= reorder_point
        if place.any():
            need = auto.daily[place] * (lead + cover) - position[place]
            qty = np.maximum(1, whole_units(need))
            rows = np.flatnonzero(place)
            arrivals[rows, t + lead] += qty
            on_order[rows] += qty
            orders.extend((int(r), e, int(q)) for r, q in zip(rows, qty))

    result = PolicyResult(policy, on_hand_log, sold_log, lost_log, orders)
    # cycle service: the lead window of an order placed on evaluated day e is days e+1 .. e+lead
    short = np.concatenate([np.zeros((1, n), dtype=np.int64), np.cumsum(lost_log > 0, axis=0)])
    for row, e, _ in orders:
        if e + lead <= days - 1:
            result.cycles_judged += 1
            result.cycles_ok += int(short[e + lead + 1, row] - short[e + 1, row] == 0)
    return result


# ---- the report ----------------------------------------------------------------------------------

def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def format_table(backtest: Backtest) -> str:
    """Policies side by side, one metric a line."""
    daily = backtest.average_daily_demand
    rows: list[tuple[str, list[str]]] = [
        ("cycle service level", [_pct(r.cycle_service_level) for r in backtest.results]),
        ("fill rate", [_pct(r.fill_rate) for r in backtest.results]),
        ("stock-out days", [f"{r.stockout_days:,}" for r in backtest.results]),
        ("average on-hand units", [f"{r.average_on_hand:,.0f}" for r in backtest.results]),
        ("  in days of demand", [f"{r.average_on_hand / daily:.1f}" if daily else "n/a" for r in backtest.results]),
        ("orders placed", [f"{r.orders_placed:,}" for r in backtest.results]),
        ("  judged for service", [f"{r.cycles_judged:,}" for r in backtest.results]),
        ("units lost", [f"{r.units_lost:,.0f}" for r in backtest.results]),
    ]
    names = [r.policy.name for r in backtest.results]
    label_width = max(len(label) for label, _ in rows)
    width = max(10, *(len(name) for name in names), *(len(v) for _, values in rows for v in values)) + 2
    lines = [" " * label_width + "".join(name.rjust(width) for name in names)]
    lines += [label.ljust(label_width) + "".join(v.rjust(width) for v in values) for label, values in rows]
    return "\n".join(lines)


def describe_run(backtest: Backtest, skus: int) -> str:
    last = backtest.first_evaluated + timedelta(days=backtest.evaluated_days - 1)
    return (f"lead {backtest.lead_days} days, warm-up {backtest.warmup} days, history {backtest.history_days} days, "
            f"order up to {backtest.lead_days} + {backtest.cover_days} days of demand\n"
            f"evaluated {backtest.evaluated_days} days, {backtest.first_evaluated}..{last}, {skus:,} SKU"
            f"{'' if skus == 1 else 's'}; average demand {backtest.average_daily_demand:,.1f} units/day")
