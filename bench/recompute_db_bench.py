"""The nightly auto-threshold recompute end to end: history read from the database, levels
computed with NumPy, thresholds and plans written back (bot.planning.recompute_auto).

recompute_bench.py times the arithmetic alone; this adds what the database costs. Baseline
in the same run: the arithmetic alone on the same history, so the ratio is the database's share.

    python bench/recompute_db_bench.py                 # 10 000 SKUs x 90 days, SQLite
    python bench/recompute_db_bench.py --skus 20000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Synthetic load data (seeded), for timing only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import text

from bot.config import Settings
from bot.core import demand, forecast
from bot.planning import recompute_auto
from storage import repo
from storage.db import init_db, make_engine
from storage.models import SkuPlan

NOW = datetime(2026, 11, 25, 2, 5, tzinfo=timezone.utc)
DAYS = forecast.DEFAULT_HISTORY_DAYS


def build(engine, skus: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = rng.gamma(0.6, 12.0, skus)
    units = rng.poisson(rates[:, None], (skus, DAYS)).astype(np.int64)
    first = NOW.date() - timedelta(days=DAYS)
    names = [f"SKU{i:07d}" for i in range(skus)]
    with engine.begin() as conn:
        for start in range(0, skus, 2000):
            batch = range(start, min(start + 2000, skus))
            repo.upsert_stock(conn, [{"sku": names[i], "warehouse": "", "available": 1000, "name": None,
                                      "on_order": None, "source": "bench", "read_at": NOW} for i in batch])
            repo.upsert_sales(conn, [{"sku": names[i], "warehouse": "", "day": first + timedelta(days=d),
                                      "source": "bench", "units": int(units[i, d])}
                                     for i in batch for d in range(DAYS) if units[i, d]])
            conn.execute(SkuPlan.__table__.insert(), [{"sku": names[i], "auto": True}
                                                      for i in batch])
    return units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'recompute.db'}"
        engine = make_engine(url)
        if not url.startswith("sqlite"):
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS bench_recompute CASCADE"))
                conn.execute(text("CREATE SCHEMA bench_recompute"))
            engine.dispose()
            engine = make_engine(url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dbench_recompute")
        init_db(engine)
        started = time.perf_counter()
        units = build(engine, args.skus)
        print(f"loaded {args.skus:,} SKUs x {DAYS} days ({int((units > 0).sum()):,} sales rows) "
              f"in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        demand.demand_levels(units, np.argmax(units > 0, axis=1), np.full(args.skus, 3), forecast.DEFAULT_SERVICE)
        arithmetic = time.perf_counter() - started

        settings = Settings(database_url=url)
        tracemalloc.start()
        started = time.perf_counter()
        report = recompute_auto(engine, settings, NOW)
        end_to_end = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert report.recomputed + len(report.no_history) == args.skus, report.recomputed

        print(f"first recompute: {end_to_end:.2f} s ({args.skus / end_to_end:,.0f} SKUs/s), "
              f"{len(report.changed):,} thresholds written ({len(report.no_history)} SKUs without sales kept theirs), "
              f"traced peak {peak / 2**20:,.1f} MiB")
        started = time.perf_counter()
        again = recompute_auto(engine, settings, NOW)
        steady = time.perf_counter() - started
        print(f"next night, nothing changed: {steady:.2f} s ({args.skus / steady:,.0f} SKUs/s), "
              f"{len(again.changed)} thresholds written")
        print(f"arithmetic alone (baseline): {arithmetic:.2f} s -> the database is "
              f"{steady / max(arithmetic, 1e-9):.0f}x the arithmetic")
        print(f"extrapolated to 100,000 SKUs: ~{steady * 100_000 / args.skus:.0f} s a night")
        engine.dispose()


if __name__ == "__main__":
    main()
