"""Benchmark: the steady check at 100k / 300k / 1M SKUs, SQLite and Postgres side by side.

    python bench/check_scale_bench.py [--sizes 100000 300000 1000000] [--dbs sqlite postgres]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--below 0.01] [--repeats 3]

Each size gets a fresh database: a SQLite file, or a schema of its own in the Postgres
database (dropped afterwards). It is bulk-loaded (sqlite3 executemany / Postgres COPY) with
thresholds and two stock rows per SKU; about `--below` of the SKUs sit at or under their
warning level and already have an open episode and the alert of their tier posted, so the
steady check (the every-15-minutes case) has nothing to post. Stock sources: none (the stock
is already in the database). Postgres tables are VACUUM ANALYZEd after the load, as
autovacuum would have done in a live install.

Measured in a fresh subprocess per database and size (the loader's memory is not counted):

  raw query     storage.repo.raw_below_threshold_query(): the same threshold/stock join a DBA
                would write, fully fetched; best of --repeats.
  steady check  Checker.run_check() with an in-memory notifier (records posts; none may be
                made); best of --repeats after one warm-up run.
  ratio         steady / raw (target <= 2x, on both databases).
  growth        per-SKU time of a size / per-SKU time of the previous size (1.0 = linear;
                the quadratic plan showed ~ the size ratio here).
  traced peak   tracemalloc: peak of Python allocations during one steady check, above what
                was allocated when it started (tracemalloc.reset_peak() just before it).
  RSS peak      VmHWM after one steady check minus VmRSS just before it, after gc.collect()
                and malloc_trim(0) (freed memory back to the OS, so the check cannot hide in
                it) and a reset of the high-water mark through /proc/self/clear_refs ("5"):
                everything the check touched, including libpq / SQLite memory tracemalloc
                cannot see. Run without tracemalloc. Calibrated in the same way around a
                known 32 MiB allocation (printed), to show the method sees allocations.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(path) not in sys.path:  # run as a script: make `bot`, `storage` and check_bench importable
        sys.path.insert(0, str(path))

from check_bench import sku_rows, stored_datetime_text  # noqa: E402

from bot.core.tiers import evaluate_tier  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ALERT_CHANNEL = "C0ALERTS"
LOAD_CHUNK = 50_000
MIB = 1024 * 1024


# ---- the data ------------------------------------------------------------------------------

def catalogue(size: int, below: float, warehouses: int, seed: int):
    """Yield (sku, warning, critical, channel, per-warehouse available) in SKU order: the same
    catalogue as bench/check_bench.py (about `below` of the SKUs at or under their warning level)."""
    for (sku, warning, critical, channel), stock_rows in sku_rows(size, below, warehouses, seed):
        yield sku, warning, critical, channel, [available for _, _, available, _ in stock_rows]


def rows(size: int, below: float, warehouses: int, now, stamp):
    """Rows of threshold, stock, episode and alert, in chunks; `stamp(now)` is how a time is written."""
    at = stamp(now)
    thresholds, stock, episodes, alerts = [], [], [], []
    episode_id = 0
    for sku, warning, critical, channel, shares in catalogue(size, below, warehouses, seed=size):
        thresholds.append((sku, warning, critical, channel, "UBENCH", at))
        stock.extend((sku, f"WH{w}", shares[w], f"Product {sku}", "bench", at) for w in range(warehouses))
        total = sum(shares)
        if total <= warning:  # already alerted: an open episode and the alert of its tier
            episode_id += 1
            episodes.append((episode_id, sku, sku, at))
            tier = int(evaluate_tier(total, 0, warning, critical))
            alerts.append((episode_id, episode_id, sku, tier, channel or ALERT_CHANNEL, f"1700000000.{episode_id:06d}",
                           at, total, 0, warning, critical, at))
        if len(thresholds) >= LOAD_CHUNK:
            yield thresholds, stock, episodes, alerts
            thresholds, stock, episodes, alerts = [], [], [], []
    yield thresholds, stock, episodes, alerts


COLUMNS = {
    "threshold": "sku, warning_level, critical_level, channel, updated_by, updated_at",
    "stock": "sku, warehouse, available, name, source, read_at",
    "episode": "id, sku, open_sku, opened_at",
    "alert": "id, episode_id, sku, tier, channel, ts, posted_at, available, on_order, warning_level, "
             "critical_level, read_at",
}


def load_sqlite(path: Path, size: int, below: float, warehouses: int) -> int:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    below_count = 0
    with conn:
        for chunk in rows(size, below, warehouses, datetime.now(timezone.utc), stored_datetime_text):
            for table, values in zip(COLUMNS, chunk):
                if values:
                    marks = ", ".join("?" * len(values[0]))
                    conn.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", values)
            below_count += len(chunk[2])
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return below_count


def pg_url_in(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def new_schema(url: str):
    """A schema of its own on the Postgres server for one run, and the function that drops it."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def cleanup() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return schema, cleanup


def load_postgres(url: str, schema: str, size: int, below: float, warehouses: int) -> int:
    import psycopg

    engine = make_engine(pg_url_in(url, schema))
    init_db(engine)
    engine.dispose()
    below_count = 0
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, options=f"-csearch_path={schema}") as conn:
        with conn.cursor() as cur:
            for chunk in rows(size, below, warehouses, datetime.now(timezone.utc), lambda now: now):
                for table, values in zip(COLUMNS, chunk):
                    with cur.copy(f'COPY "{table}" ({COLUMNS[table]}) FROM STDIN') as copy:
                        for row in values:
                            copy.write_row(row)
                below_count += len(chunk[2])
            cur.execute("SELECT setval(pg_get_serial_sequence('episode', 'id'), GREATEST(%s, 1))", (below_count,))
            cur.execute("SELECT setval(pg_get_serial_sequence('alert', 'id'), GREATEST(%s, 1))", (below_count,))
        conn.commit()
        conn.autocommit = True
        for table in COLUMNS:
            conn.execute(f'VACUUM ANALYZE "{table}"')
    return below_count


# ---- measuring (a fresh subprocess per database and size) ----------------------------------------

class MemoryNotifier:
    """Records posts in memory (a bench stand-in for Slack): the steady check must make none."""

    def __init__(self) -> None:
        self.posts: list[tuple] = []

    def post(self, channel, text, blocks=None, thread_ts=None, **_):
        self.posts.append((channel, text, thread_ts))
        return f"1800000000.{len(self.posts):06d}"

    def update(self, channel, ts, text, blocks=None) -> None:
        self.posts.append((channel, text, ts))

    def find_posted(self, *args, **kwargs):
        return None

    def upload(self, *args, **kwargs) -> None:
        self.posts.append(args)


def proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def rss_peak_of(action) -> int:
    """KiB the process's RSS rose above its start while `action` ran."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current RSS
    before = proc_status_kib("VmRSS")
    action()
    return proc_status_kib("VmHWM") - before


def best_of(repeats: int, action) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(url: str, repeats: int) -> dict:
    from bot.checker import Checker
    from bot.config import Settings
    from storage import repo

    engine = make_engine(url)
    notifier = MemoryNotifier()
    settings = Settings(database_url=url, alert_channel=ALERT_CHANNEL, stock_source="", channel_pace_seconds=0.0)
    checker = Checker(engine, settings, notifier, charts=False)
    raw_sql = repo.raw_below_threshold_query()

    def raw_query() -> list:
        with engine.connect() as conn:
            return conn.exec_driver_sql(raw_sql).fetchall()

    raw_query()  # warm the cache and the pool, as for the check below
    raw_s, raw_rows = best_of(repeats, raw_query)
    checker.run_check()
    steady_s, steady = best_of(repeats, checker.run_check)
    if notifier.posts or steady.posted or steady.recovered or steady.reminded:
        raise SystemExit(f"the steady check was not idle: {steady}, {len(notifier.posts)} posts")
    if steady.evaluated != len(raw_rows):
        raise SystemExit(f"the check saw {steady.evaluated} SKUs, the raw query {len(raw_rows)}")

    # Hand memory freed by the earlier runs back to the OS first: otherwise the check reuses it
    # and its peak never shows in the RSS (the delta read ~0 MiB whatever the check allocated).
    rss_peak_kib = rss_peak_of(checker.run_check)
    calibration_kib = rss_peak_of(lambda: bytearray(32 * MIB))  # zero-filled: every page is touched

    tracemalloc.start()
    checker.run_check()  # once, to fill the caches tracemalloc would otherwise count
    tracemalloc.reset_peak()
    traced_before, _ = tracemalloc.get_traced_memory()
    checker.run_check()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return {"raw_s": raw_s, "raw_rows": len(raw_rows), "steady_s": steady_s, "evaluated": steady.evaluated,
            "traced_peak_mib": (traced_peak - traced_before) / MIB, "rss_peak_mib": rss_peak_kib / 1024,
            "calibration_mib": calibration_kib / 1024}


# ---- driver ------------------------------------------------------------------------------------

def run_one(db: str, size: int, args, work_dir: Path) -> dict:
    started = time.perf_counter()
    if db == "sqlite":
        path = work_dir / f"scale_{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        below = load_sqlite(path, size, args.below, args.warehouses)
        url, cleanup = f"sqlite:///{path}", lambda: [Path(f"{path}{s}").unlink(missing_ok=True)
                                                     for s in ("", "-wal", "-shm")]
    else:
        schema, cleanup = new_schema(args.pg_url)
        try:
            below = load_postgres(args.pg_url, schema, size, args.below, args.warehouses)
        except BaseException:
            cleanup()
            raise
        url = pg_url_in(args.pg_url, schema)
    load_s = time.perf_counter() - started
    try:
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", url,
                                "--repeats", str(args.repeats)],
                               cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    finally:
        cleanup()
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"measuring {db} at {size} SKUs failed (exit {child.returncode})")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result.update(db=db, size=size, below=below, load_s=load_s)
    if result["raw_rows"] != below:
        raise SystemExit(f"{db} {size}: raw query found {result['raw_rows']}, {below} were loaded below warning")
    r = result
    print(f"[{db:>8} {size:>9,}] loaded in {load_s:.0f}s, {below:,} below | raw {r['raw_s']:.3f}s | "
          f"steady {r['steady_s']:.3f}s | {r['steady_s'] / r['raw_s']:.2f}x | traced peak "
          f"{r['traced_peak_mib']:.1f} MiB | RSS peak +{r['rss_peak_mib']:.1f} MiB "
          f"(a 32 MiB allocation reads +{r['calibration_mib']:.1f})", flush=True)
    return result


def print_table(results: list[dict], dbs: list[str], sizes: list[int]) -> None:
    by = {(r["db"], r["size"]): r for r in results}
    header = ["size"]
    for db in dbs:
        header += [f"{db} raw s", "check s", "check/raw", "growth/SKU", "traced MiB", "RSS MiB"]
    table = []
    for i, size in enumerate(sizes):
        cells = [f"{size:,}"]
        for db in dbs:
            r = by[(db, size)]
            growth = "-"
            if i:
                previous = by[(db, sizes[i - 1])]
                growth = f"{(r['steady_s'] / size) / (previous['steady_s'] / sizes[i - 1]):.2f}"
            cells += [f"{r['raw_s']:.3f}", f"{r['steady_s']:.3f}", f"{r['steady_s'] / r['raw_s']:.2f}x", growth,
                      f"{r['traced_peak_mib']:.1f}", f"{r['rss_peak_mib']:.1f}"]
        table.append(cells)
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print()
    print(" | ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in table:
        print(" | ".join(c.rjust(w) for c, w in zip(row, widths)))
    print("\ngrowth/SKU: per-SKU check time over the previous size's (1.00 = linear). traced: tracemalloc peak "
          "during one check; RSS: VmHWM - VmRSS around one check (clear_refs reset).")


def verdict(results: list[dict]) -> bool:
    ok = True
    for r in results:
        if r["steady_s"] / r["raw_s"] > 2.0:
            ok = False
            print(f"NOT MET: {r['db']} at {r['size']:,} SKUs: check/raw {r['steady_s'] / r['raw_s']:.2f}x > 2x")
    print("speed target (check <= 2x raw, every size, both databases):", "MET" if ok else "NOT MET")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--dbs", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--below", type=float, default=0.01, help="share of SKUs at/below warning level")
    parser.add_argument("--warehouses", type=int, default=2, help="stock rows per SKU")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure this database here
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeats)))
        return
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{args.below:.1%} below warning, {args.warehouses} warehouses per SKU", flush=True)
    with tempfile.TemporaryDirectory(prefix="check_scale_") as tmp:
        results = [run_one(db, size, args, Path(tmp)) for size in args.sizes for db in args.dbs]
    print_table(results, args.dbs, args.sizes)
    sys.exit(0 if verdict(results) else 1)


if __name__ == "__main__":
    main()
