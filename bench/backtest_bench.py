"""How long `stockbot backtest online-retail` takes: 1,959 real SKUs x 374 days, every default policy.

Prints the whole run, each policy alone, and a baseline in the same run: the same day-by-day
simulation over the same arrays with a plain NumPy level recomputed each night (mean of the
trailing year x 2 x lead: a mean and a sum, no sorting, no classes), the floor any nightly policy
sets. Target: the whole run under 15 s on this machine (2 CPUs).

    python bench/backtest_bench.py [--lead 7] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.backtest import DEFAULT_POLICIES, run_backtest  # noqa: E402
from bot.datasets import load_sales  # noqa: E402


def plain_loop(units: np.ndarray, lead: int, warmup: int = 56, cover: int = 30, history: int = 365) -> float:
    """The simulation's bookkeeping with a plain NumPy level each night: mean of the trailing year x 2 x lead."""
    demand = units.astype(np.float64)
    n, total = demand.shape
    started = time.perf_counter()
    daily = demand[:, :warmup].mean(axis=1)
    point = daily * lead * 2
    on_hand = point + daily * cover
    on_order = np.zeros(n)
    arrivals = np.zeros((n, total + lead + 1))
    sold_log = np.zeros((total - warmup, n))
    for t in range(warmup, total):
        on_hand += arrivals[:, t]
        on_order -= arrivals[:, t]
        sold = np.minimum(on_hand, demand[:, t])
        on_hand -= sold
        sold_log[t - warmup] = sold
        daily = demand[:, max(0, t + 1 - history):t + 1].mean(axis=1)
        point = daily * lead * 2
        position = on_hand + on_order
        top_up = point + daily * cover - position
        place = (position <= point) & (top_up >= 1)
        arrivals[place, t + lead] += np.ceil(top_up[place])
        on_order[place] += np.ceil(top_up[place])
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lead", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sales = load_sales("online-retail")
    print(f"online-retail: {len(sales.skus):,} SKUs x {sales.days} days, lead {args.lead}")
    whole = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        run_backtest(sales.units, sales.first_day, args.lead, DEFAULT_POLICIES)
        whole.append(time.perf_counter() - started)
    best = min(whole)
    per_policy = {}
    for name in DEFAULT_POLICIES:
        started = time.perf_counter()
        run_backtest(sales.units, sales.first_day, args.lead, [name])
        per_policy[name] = time.perf_counter() - started
    baseline = plain_loop(sales.units, args.lead)
    print(f"whole run, {len(DEFAULT_POLICIES)} policies: {best:.2f} s (target < 15 s: {'MET' if best < 15 else 'MISSED'})")
    for name, seconds in per_policy.items():
        print(f"  {name:<11} {seconds:6.2f} s  ({seconds / baseline:5.1f}x the plain loop)")
    print(f"baseline: plain NumPy loop, a mean level each night, one policy: {baseline:.2f} s; whole run = "
          f"{best / baseline:.1f}x the baseline for {len(DEFAULT_POLICIES)} policies "
          f"({best / baseline / len(DEFAULT_POLICIES):.1f}x per policy)")
    return 0 if best < 15 else 1


if __name__ == "__main__":
    sys.exit(main())
