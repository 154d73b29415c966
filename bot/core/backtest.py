"""Replay real daily sales against reorder policies: how often would each one have run out,
and how much stock would it have held? Pure NumPy: arrays in, numbers out; no Slack, no DB.

Every policy computes its levels with the code the nightly recompute runs
(`bot.core.demand.demand_levels` for the default `auto`, `bot.core.auto_levels` for the older
bases), so the backtest measures the production maths, not a copy.

Semantics (one run, every policy on the same demand, every SKU of a policy in one array):

* Warm-up. The first `warmup` days (default 56) are history only, all demand served. A SKU
  with sales in the warm-up is **established**: on the first evaluated day it starts with
  on-hand = its policy's order-up-to level. A SKU without is **new**: it starts with nothing
  on hand and no forecast; until its first delivery its demand is seen (the listing's first
  orders), after that only what it sold.
* Each evaluated day t, in this order:
    1. orders due on day t arrive (added to on-hand);
    2. demand d_t is served: sold = min(on_hand, d_t), lost = d_t - sold (lost sales, no
       backorders). A day with lost > 0 is a stock-out day. The policy's history records what
       was sold, as production's sales feed does (a stock-out day is not left out: leaving it
       out drops exactly the spike days that emptied the shelf);
    3. the nightly recompute: levels from the trailing history (365 days for `auto`, 90 for
       the older bases) up to and including t; if inventory position (on hand + on order) <=
       the reorder point, an order tops the position up to the **order-up-to level** =
       reorder point + `cover` days of the policy's daily demand (the same rule for every
       policy); it arrives at the start of day t + lead.
* Spike handling (`spikes="exclude"`): demand above everything the SKU sold in the 90 days
  before (a one-off order) is a **special order**: ordered in for that customer, not served
  from the shelf. Fill rate and stock-outs then measure the shelf's demand; the special-order
  units are reported apart. `auto` also leaves one-off orders out of its reorder point.
* Metrics, for all SKUs, established and new apart, and per demand class:
    cycle service level  share of orders whose lead time (the days after the order up to
                         and including its arrival day, receipt first) saw no lost demand;
                         orders arriving after the last day are not judged;
    fill rate            units sold / units demanded over the evaluated days;
    stock-out days       SKU-days with lost demand;
    stock in days        average end-of-day units on hand / average daily demand;
    orders placed        every order, judged or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Optional, Sequence

import numpy as np

from bot.core import demand as dm
from bot.core.auto_levels import compute_auto_levels, whole_units
from bot.core.forecast import (
    BASES,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_SERVICE,
    DEFAULT_TARGET_COVER_DAYS,
    MAX_SERVICE,
    MIN_SERVICE,
)

DEFAULT_WARMUP_DAYS = 56
SEED_SAFETY_DAYS = 3.0  # the seed's example: 150/day x 7 days + 450 = 3 days of demand
CLASS_METHOD = "class"


@dataclass(frozen=True)
class Policy:
    name: str
    basis: str  # a demand basis of bot.core.forecast, or "class" (bot.core.demand)
    damp: bool
    service: Optional[float] = None  # safety z x sigma x sqrt(lead) at this cycle service level
    safety_days: Optional[float] = None  # or safety = this many days of demand
    weekdays: bool = True  # learn and apply the day-of-week profile (the seed rule does not)

    @property
    def history_days(self) -> int:
        return dm.HISTORY_DAYS if self.basis == CLASS_METHOD else DEFAULT_HISTORY_DAYS

    def describe(self) -> str:
        if self.basis == CLASS_METHOD:
            return (f"{self.name}: by demand class - the worst 2 x lead stretch of the past year (normal formula at "
                    f"{(self.service or DEFAULT_SERVICE) * 100:g}% for smooth SKUs), 4-week trend, "
                    f"launch level for new SKUs, none for dead ones")
        safety = f"{self.service * 100:g}% service" if self.service is not None else f"safety {self.safety_days:g} days"
        return f"{self.name}: basis {self.basis}, {safety}, {'spikes damped' if self.damp else 'no damping'}" \
               f"{', weekday profile' if self.weekdays else ''}"


POLICIES: dict[str, Policy] = {
    "seed-max": Policy("seed-max", "max", damp=False, safety_days=SEED_SAFETY_DAYS, weekdays=False),
    "seed-avg": Policy("seed-avg", "avg", damp=False, safety_days=SEED_SAFETY_DAYS, weekdays=False),
    "avg98": Policy("avg98", "avg", damp=True, service=DEFAULT_SERVICE),
    "weighted98": Policy("weighted98", "weighted", damp=True, service=DEFAULT_SERVICE),
    # the previous default: the 90th-percentile day at 98% service
    "p90-98": Policy("p90-98", "p90", damp=True, service=DEFAULT_SERVICE),
    # the default auto policy: what `/threshold auto` runs every night
    "auto": Policy("auto", CLASS_METHOD, damp=True, service=DEFAULT_SERVICE),
}
DEFAULT_POLICIES = tuple(POLICIES)
DEFAULT_POLICY = "auto"
_SERVICE_NAME = re.compile(r"^(avg|weighted|p90-|max-)(\d{2}(?:\.\d+)?)$")
_SEED_NAME = re.compile(r"^seed-(\w+)$")


def policy_named(name: str) -> Policy:
    """A policy by name: the defaults, `avg<pct>` / `weighted<pct>` / `p90-<pct>` at any service
    level (weighted99.5), or `seed-<basis>` (safety 3 days, no damping)."""
    name = name.strip()
    if name in POLICIES:
        return POLICIES[name]
    match = _SERVICE_NAME.match(name)
    if match:
        service = float(match.group(2)) / 100
        if not MIN_SERVICE <= service <= MAX_SERVICE:
            raise ValueError(f"policy {name!r}: service level must be {MIN_SERVICE:.0%}..{MAX_SERVICE:.2%}")
        basis = {"avg": "avg", "weighted": "weighted", "p90-": "p90", "max-": "max"}[match.group(1)]
        return Policy(name, basis, damp=True, service=service)
    match = _SEED_NAME.match(name)
    if match and match.group(1) in BASES:
        return Policy(name, match.group(1), damp=False, safety_days=SEED_SAFETY_DAYS, weekdays=False)
    raise ValueError(f"unknown policy {name!r}: use {', '.join(POLICIES)}, avg<pct> (avg95), weighted<pct>, "
                     f"p90-<pct> or seed-<basis> ({', '.join(BASES)})")


@dataclass
class Metrics:
    """One group of SKUs under one policy."""

    skus: int
    demand: float
    sold: float
    stockout_days: int
    average_on_hand: float
    days: int
    orders_placed: int
    cycles_judged: int
    cycles_ok: int
    special_units: float = 0.0

    @property
    def fill_rate(self) -> Optional[float]:
        return self.sold / self.demand if self.demand else None

    @property
    def cycle_service_level(self) -> Optional[float]:
        return self.cycles_ok / self.cycles_judged if self.cycles_judged else None

    @property
    def stock_days(self) -> Optional[float]:
        """Average units on hand in days of average demand."""
        return self.average_on_hand / (self.demand / self.days) if self.demand and self.days else None


@dataclass
class PolicyResult:
    policy: Policy
    on_hand: np.ndarray  # (evaluated days, n) end-of-day units on hand
    sold: np.ndarray  # (evaluated days, n)
    lost: np.ndarray  # (evaluated days, n)
    orders: list[tuple[int, int, int]] = field(default_factory=list)  # (sku row, evaluated day placed, units)
    judged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per SKU
    ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per SKU
    special: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per SKU: special-order units

    @property
    def orders_placed(self) -> int:
        return len(self.orders)

    @property
    def cycles_judged(self) -> int:
        return int(self.judged.sum())

    @property
    def cycles_ok(self) -> int:
        return int(self.ok.sum())

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

    def metrics(self, rows: np.ndarray) -> Metrics:
        """The metrics of the SKUs where `rows` (a boolean mask) is set."""
        sold, lost = self.sold[:, rows], self.lost[:, rows]
        days = self.on_hand.shape[0]
        placed = sum(1 for row, _, _ in self.orders if rows[row])
        return Metrics(
            skus=int(rows.sum()), demand=float(sold.sum() + lost.sum()), sold=float(sold.sum()),
            stockout_days=int((lost > 0).sum()),
            average_on_hand=float(self.on_hand[:, rows].sum(axis=1).mean()) if days else 0.0, days=days,
            orders_placed=placed, cycles_judged=int(self.judged[rows].sum()), cycles_ok=int(self.ok[rows].sum()),
            special_units=float(self.special[rows].sum()) if len(self.special) else 0.0)


@dataclass
class Backtest:
    first_day: date  # date of column 0 of the demand
    warmup: int
    lead_days: int
    cover_days: int
    spikes: str
    results: list[PolicyResult]
    established: np.ndarray  # per SKU: sold in the warm-up
    klass: np.ndarray  # per SKU: demand class over the whole data (bot.core.demand.CLASSES)

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

    def groups(self) -> list[tuple[str, np.ndarray]]:
        """(label, SKU mask): all, established, new, then established SKUs by demand class."""
        n = len(self.established)
        groups = [("all SKUs", np.ones(n, dtype=bool)), ("established", self.established),
                  ("new (no sales in the warm-up)", ~self.established)]
        for index, name in enumerate(dm.CLASSES):
            rows = self.established & (self.klass == index)
            if name != "new" and rows.any():
                groups.append((f"  {name}", rows))
        return groups


def run_backtest(units: np.ndarray, first_day: date, lead_days: int, policies: Sequence[Policy | str] = DEFAULT_POLICIES,
                 warmup: int = DEFAULT_WARMUP_DAYS, cover: int = DEFAULT_TARGET_COVER_DAYS,
                 spikes: str = "keep") -> Backtest:
    """Replay `units` (n SKUs x d days of demand, oldest first; column 0 is `first_day`)."""
    demand = np.asarray(units, dtype=np.float64)
    if demand.ndim != 2:
        raise ValueError("units must be a 2-d array: SKUs x days")
    if np.isnan(demand).any() or (demand < 0).any():
        raise ValueError("demand must be non-negative numbers")
    if lead_days < 1:
        raise ValueError("lead time must be at least 1 day")
    if warmup < 1 or cover < 0:
        raise ValueError("the warm-up needs at least 1 day, cover cannot be negative")
    if demand.shape[1] <= warmup:
        raise ValueError(f"{demand.shape[1]} days of sales: need more than the {warmup}-day warm-up")
    if spikes not in dm.SPIKE_MODES:
        raise ValueError(f"spikes must be one of {', '.join(dm.SPIKE_MODES)}")
    chosen = [policy_named(p) if isinstance(p, str) else p for p in policies]
    if not chosen:
        raise ValueError("no policy to test")
    shelf = demand
    if spikes == "exclude":
        before = dm.prior_max(demand, np.ones(demand.shape, dtype=bool))
        shelf = np.where((before > 0) & (demand > before), before, demand)
    results = [_simulate(demand, shelf, lead_days, p, warmup, cover, spikes) for p in chosen]
    established = demand[:, :warmup].sum(axis=1) > 0
    first = _first_sale(demand)
    klass = dm.demand_levels(demand, first, lead_days, one_offs=False).klass
    return Backtest(first_day, warmup, lead_days, cover, spikes, results, established, klass)


def _first_sale(units: np.ndarray) -> np.ndarray:
    return np.where((units > 0).any(axis=1), np.argmax(units > 0, axis=1), units.shape[1])


def levels(policy: Policy, window: np.ndarray, first: np.ndarray, lead_days: int, window_first: date,
           start: date, spikes: str = "keep") -> tuple[np.ndarray, np.ndarray]:
    """(reorder point, daily demand) per SKU from a history window; `first` is each SKU's first
    sale as a column of the window (its width for a SKU that has not sold yet)."""
    if policy.basis == CLASS_METHOD:
        found = dm.demand_levels(window, first, lead_days, policy.service or DEFAULT_SERVICE, spikes, one_offs=False)
        point, daily = found.reorder_point.astype(np.float64), found.daily
        new = found.klass == dm.NEW
        if new.any():  # the launch rule, from the first days (the backtest has no similar SKUs to ask)
            days = found.history_days[new]
            sold = np.where(dm.history_mask(first[new], window.shape[1]), window[new], 0.0).sum(axis=1)
            launch = dm.launch_pace(sold, days)
            daily = daily.copy()
            daily[new] = launch
            point[new] = whole_units(launch * lead_days * dm.STRETCH_LEADS)
        return point, daily
    before_first = ~dm.history_mask(first, window.shape[1])
    auto = compute_auto_levels(window, lead_days, policy.service if policy.service is not None else DEFAULT_SERVICE,
                               basis=policy.basis, stockout=before_first, damp=policy.damp,
                               first_day=window_first if policy.weekdays else None,
                               start=start if policy.weekdays else None)
    if policy.service is not None:
        return auto.warning_level.astype(np.float64), auto.daily
    return whole_units(auto.lead_demand + auto.daily * policy.safety_days).astype(np.float64), auto.daily


def _simulate(demand: np.ndarray, shelf: np.ndarray, lead: int, policy: Policy, warmup: int, cover: int,
              spikes: str) -> PolicyResult:
    n, total_days = demand.shape
    days = total_days - warmup
    history = policy.history_days
    seen = demand.copy()  # what the policy's sales history shows
    first = _first_sale(demand)  # a new SKU's history starts with its first orders
    established = first < warmup
    received = established.copy()  # new SKUs show their demand until their first delivery
    arrivals = np.zeros((n, total_days + lead + 1))
    on_hand_log = np.zeros((days, n))
    sold_log = np.zeros((days, n))
    lost_log = np.zeros((days, n))
    orders: list[tuple[int, int, int]] = []
    first_day = date(2000, 1, 3)  # weekday alignment only matters relative to itself

    def recompute(last: int) -> tuple[np.ndarray, np.ndarray]:
        lo = max(0, last + 1 - history)
        window_first = np.clip(first - lo, 0, last + 1 - lo)
        return levels(policy, seen[:, lo:last + 1], window_first, lead, first_day + timedelta(days=lo),
                      first_day + timedelta(days=last + 1), spikes)

    point, daily = recompute(warmup - 1)
    on_hand = np.where(established, dm.order_up_to(point, daily, cover), 0).astype(np.float64)
    on_order = np.zeros(n)
    for t in range(warmup, total_days):
        e = t - warmup
        arriving = arrivals[:, t]
        on_hand += arriving
        on_order -= arriving
        received |= arriving > 0
        sold = np.minimum(on_hand, shelf[:, t])
        lost = shelf[:, t] - sold
        on_hand -= sold
        special = demand[:, t] - shelf[:, t]
        seen[:, t] = np.where(received, sold + special, demand[:, t])
        on_hand_log[e], sold_log[e], lost_log[e] = on_hand, sold, lost

        point, daily = recompute(t)
        position = on_hand + on_order
        top_up = dm.order_up_to(point, daily, cover) - position
        place = (position <= point) & (top_up >= 1) & (first <= t)
        if place.any():
            rows = np.flatnonzero(place)
            qty = np.ceil(top_up[rows] - 1e-6)
            arrivals[rows, t + lead] += qty
            on_order[rows] += qty
            orders.extend((int(r), e, int(q)) for r, q in zip(rows, qty))

    special_units = (demand - shelf)[:, warmup:].sum(axis=1)
    result = PolicyResult(policy, on_hand_log, sold_log, lost_log, orders, np.zeros(n, dtype=np.int64),
                          np.zeros(n, dtype=np.int64), special_units)
    # cycle service: the lead window of an order placed on evaluated day e is days e+1 .. e+lead
    short = np.concatenate([np.zeros((1, n), dtype=np.int64), np.cumsum(lost_log > 0, axis=0)])
    for row, e, _ in orders:
        if e + lead <= days - 1:
            result.judged[row] += 1
            result.ok[row] += int(short[e + lead + 1, row] - short[e + 1, row] == 0)
    return result


# ---- the report ----------------------------------------------------------------------------------

def _pct(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _days(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def format_table(backtest: Backtest, rows: Optional[np.ndarray] = None) -> str:
    """Policies side by side, one metric a line, for the SKUs in `rows` (all by default)."""
    mask = np.ones(len(backtest.established), dtype=bool) if rows is None else rows
    metrics = [r.metrics(mask) for r in backtest.results]
    lines: list[tuple[str, list[str]]] = [
        ("fill rate", [_pct(m.fill_rate) for m in metrics]),
        ("cycle service level", [_pct(m.cycle_service_level) for m in metrics]),
        ("stock in days of demand", [_days(m.stock_days) for m in metrics]),
        ("stock-out days", [f"{m.stockout_days:,}" for m in metrics]),
        ("orders placed", [f"{m.orders_placed:,}" for m in metrics]),
        ("  judged for service", [f"{m.cycles_judged:,}" for m in metrics]),
        ("average on-hand units", [f"{m.average_on_hand:,.0f}" for m in metrics]),
        ("units lost", [f"{m.demand - m.sold:,.0f}" for m in metrics]),
    ]
    if backtest.spikes == "exclude":
        lines.append(("special-order units", [f"{m.special_units:,.0f}" for m in metrics]))
    names = [r.policy.name for r in backtest.results]
    label_width = max(len(label) for label, _ in lines)
    width = max(10, *(len(name) for name in names), *(len(v) for _, values in lines for v in values)) + 2
    out = [" " * label_width + "".join(name.rjust(width) for name in names)]
    out += [label.ljust(label_width) + "".join(v.rjust(width) for v in values) for label, values in lines]
    return "\n".join(out)


def format_groups(backtest: Backtest) -> str:
    """Fill rate / cycle service / stock in days / orders of every policy for each group of SKUs."""
    names = [r.policy.name for r in backtest.results]
    rows = []
    for label, mask in backtest.groups():
        cells = []
        for result in backtest.results:
            m = result.metrics(mask)
            cells.append(f"{_pct(m.fill_rate)} / {_pct(m.cycle_service_level)} / {_days(m.stock_days)} / "
                         f"{m.orders_placed:,}")
        rows.append((f"{label} ({mask.sum():,})", cells))
    legend = "fill / CSL / days / orders"
    label_width = max(len(label) for label, _ in rows) + 1
    width = max(len(legend), *(len(name) for name in names), *(len(c) for _, cells in rows for c in cells)) + 2
    out = [" " * label_width + "".join(name.rjust(width) for name in names),
           " " * label_width + "".join(legend.rjust(width) for _ in names)]
    out += [label.ljust(label_width) + "".join(c.rjust(width) for c in cells) for label, cells in rows]
    return "\n".join(out)


def describe_run(backtest: Backtest, skus: int) -> str:
    last = backtest.first_evaluated + timedelta(days=backtest.evaluated_days - 1)
    spikes = ("; spike handling on: demand above the SKU's previous 90-day maximum is a special order, "
              "not served from the shelf" if backtest.spikes == "exclude" else "")
    return (f"lead {backtest.lead_days} days, warm-up {backtest.warmup} days, order up to the reorder point + "
            f"{backtest.cover_days} days of demand{spikes}\n"
            f"evaluated {backtest.evaluated_days} days, {backtest.first_evaluated}..{last}, {skus:,} SKU"
            f"{'' if skus == 1 else 's'} ({int(backtest.established.sum()):,} established, "
            f"{int((~backtest.established).sum()):,} new); average demand {backtest.average_daily_demand:,.1f} units/day")
