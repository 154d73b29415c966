"""Benchmark: the nightly auto-threshold recompute for 100 000 SKUs x 365 days of history.

    python bench/recompute_bench.py [--skus 100000] [--days 365] [--chunk 10000] [--sample 1000]

Times bot.core.demand.demand_levels (the default: levels by demand class; lead 3 or 21 days per
SKU; stock-out days count what sold, 0 here):
  chunked   --chunk SKUs per call, the way a recompute bounds its memory;
  whole     every SKU in one call.
Each is timed without tracemalloc (best of --repeat), then run once more under tracemalloc
for its peak (NumPy reports its buffers to tracemalloc; the peak excludes the input matrix,
whose size is printed on its own).

Baseline, same run: one SKU per call (what `/threshold calc` and an alert's outlook do) on a
--sample of SKUs, extrapolated linearly to --skus; the script asserts that both paths give
the same warning and critical levels on that sample.

Target (issue): < 30 s for 100 000 SKUs x 365 days.

The demand is SYNTHETIC LOAD DATA for timing only (seeded; not an evaluation of the
forecast, see `stockbot backtest` for that): fast movers (Poisson, 20-200 a day), steady
mid movers and slow movers (negative binomial, many zero days), a weekday shape, stock-out
runs on some SKUs (sold 0, masked) and one-day spikes on a few.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(REPO_ROOT))

from bot.core import demand, forecast  # noqa: E402

TARGET_SECONDS = 30.0
SERVICE = 0.98
FIRST_DAY = date(2024, 1, 1)
MIB = 1024 * 1024


def synthetic_demand(skus: int, days: int, seed: int = 20240101) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(units int32 SKUs x days, stock-out mask, lead days): seeded synthetic load data."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=skus, p=[0.15, 0.45, 0.40])  # fast, mid, slow
    weekday = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.25, 0.9])[(FIRST_DAY.weekday() + np.arange(days)) % 7]
    mean = np.where(kind == 0, rng.uniform(20, 200, skus), np.where(kind == 1, rng.uniform(2, 20, skus),
                                                                   rng.uniform(0.05, 1.5, skus)))
    units = np.empty((skus, days), dtype=np.int32)
    for k in range(3):  # one kind at a time keeps the float temporaries to a third
        rows = np.flatnonzero(kind == k)
        lam = mean[rows, None] * weekday[None, :]
        if k == 0:
            units[rows] = rng.poisson(lam)
        else:
            shape = 2.0 if k == 1 else 0.5  # smaller shape: burstier, more zero days
            units[rows] = rng.negative_binomial(shape, shape / (shape + lam))
    stockout = np.zeros((skus, days), dtype=bool)
    out_rows = rng.choice(skus, size=skus // 10, replace=False)  # 10% of SKUs ran out once
    starts = rng.integers(0, days - 14, size=len(out_rows))
    lengths = rng.integers(2, 15, size=len(out_rows))
    for row, start, length in zip(out_rows, starts, lengths):
        stockout[row, start:start + length] = True
    units[stockout] = 0
    spike_rows = rng.choice(skus, size=skus // 50, replace=False)  # 2%: one viral day
    spike_days = rng.integers(0, days, size=len(spike_rows))
    units[spike_rows, spike_days] = (units[spike_rows, spike_days] + 1) * rng.integers(5, 15, size=len(spike_rows))
    lead = np.where(rng.random(skus) < 0.6, forecast.LEAD_DAYS_DOMESTIC, forecast.LEAD_DAYS_OVERSEAS)
    return units, stockout, lead


def first_sales(units: np.ndarray) -> np.ndarray:
    return np.where((units > 0).any(axis=1), np.argmax(units > 0, axis=1), units.shape[1])


def vectorised(units: np.ndarray, stockout: np.ndarray, lead: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The nightly recompute's arithmetic (levels by demand class), `chunk` SKUs per call. Stock-out
    days are already 0 in `units`: the default counts what sold on them."""
    warning = np.empty(units.shape[0], dtype=np.int64)
    critical = np.empty(units.shape[0], dtype=np.int64)
    first = first_sales(units)
    for lo in range(0, units.shape[0], chunk):
        hi = lo + chunk
        levels = demand.demand_levels(units[lo:hi], first[lo:hi], lead[lo:hi], SERVICE)
        warning[lo:hi], critical[lo:hi] = levels.reorder_point, levels.critical_level
    return warning, critical


def scalar_inputs(units: np.ndarray, stockout: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per SKU, what `/threshold calc` starts from: one row of history and its first sale."""
    first = first_sales(units)
    return [(units[i:i + 1], first[i:i + 1]) for i in range(units.shape[0])]


def scalar(inputs: list[tuple[np.ndarray, np.ndarray]], lead: np.ndarray, days: int) -> tuple[list[int], list[int]]:
    """One SKU at a time, as `/threshold calc` and an alert's outlook compute it."""
    warning, critical = [], []
    for (row, first), lead_days in zip(inputs, lead):
        levels = demand.demand_levels(row, first, int(lead_days), SERVICE)
        warning.append(int(levels.reorder_point[0]))
        critical.append(int(levels.critical_level[0]))
    return warning, critical


def timed(function, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    return best, result


def traced_peak(function) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--chunk", type=int, default=10_000, help="SKUs per demand_levels call")
    parser.add_argument("--sample", type=int, default=1_000, help="SKUs for the scalar baseline")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    began = time.perf_counter()
    units, stockout, lead = synthetic_demand(args.skus, args.days)
    input_mib = (units.nbytes + stockout.nbytes + lead.nbytes) / MIB
    print(f"synthetic load data (timing only): {args.skus:,} SKUs x {args.days} days, "
          f"{(stockout.any(axis=1)).mean():.0%} of SKUs with stock-out days, {units.sum():,} units; "
          f"built in {time.perf_counter() - began:.1f} s")
    print(f"input: units int32 {units.nbytes / MIB:,.0f} MiB + stock-out mask {stockout.nbytes / MIB:,.0f} MiB "
          f"= {input_mib:,.0f} MiB")

    runs = {}
    for label, chunk in ((f"chunked ({args.chunk:,} SKUs per call)", args.chunk), ("whole (one call)", args.skus)):
        seconds, (warning, critical) = timed(lambda c=chunk: vectorised(units, stockout, lead, c), args.repeat)
        peak = traced_peak(lambda c=chunk: vectorised(units, stockout, lead, c))
        runs[label] = (seconds, peak)
        print(f"{label:34s} {seconds:6.2f} s  {args.skus / seconds:>10,.0f} SKUs/s  tracemalloc peak {peak:,.0f} MiB")

    sample = min(args.sample, args.skus)
    inputs = scalar_inputs(units[:sample], stockout[:sample])
    scalar_seconds, (scalar_warning, scalar_critical) = timed(lambda: scalar(inputs, lead[:sample], args.days), 1)
    extrapolated = scalar_seconds * args.skus / sample
    chunked_seconds = runs[f"chunked ({args.chunk:,} SKUs per call)"][0]
    label = f"one SKU per call, {sample:,} SKUs"
    print(f"{label:34s} {scalar_seconds:6.2f} s  {sample / scalar_seconds:>10,.0f} SKUs/s"
          f"  -> {extrapolated:,.0f} s for {args.skus:,} (extrapolated)")
    assert scalar_warning == warning[:sample].tolist(), "vectorised and scalar warning levels differ"
    assert scalar_critical == critical[:sample].tolist(), "vectorised and scalar critical levels differ"
    print(f"vectorised and scalar levels agree on all {sample:,} sampled SKUs")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print("\n---- figures ----")
    print(f"Auto-threshold recompute, {args.skus:,} SKUs x {args.days} days (synthetic load data; "
          f"levels by demand class, 98% service for steady SKUs, lead 3/21 days):")
    for label, (seconds, peak) in runs.items():
        print(f"  {label}: {seconds:.1f} s ({args.skus / seconds:,.0f} SKUs/s), tracemalloc peak {peak:,.0f} MiB")
    print(f"  input matrix {input_mib:,.0f} MiB; process peak RSS {rss:,.0f} MiB")
    print(f"  one SKU per call: {sample / scalar_seconds:,.0f} SKUs/s, ~{extrapolated:,.0f} s for {args.skus:,} "
          f"(extrapolated from {sample:,}); NumPy chunked is {extrapolated / chunked_seconds:,.0f}x faster")
    ok = chunked_seconds < TARGET_SECONDS
    print(f"  target < {TARGET_SECONDS:.0f} s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
