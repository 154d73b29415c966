"""Benchmark: one full check over 100 000 and 1 000 000 SKUs on SQLite.

    python bench/check_bench.py [--skus 100000 1000000] [--below 0.01] [--warehouses 2]

For each size it builds a fresh SQLite file, then measures in a *fresh subprocess* (so
peak RSS of one size is not inherited by the next, and the loader's memory is not
counted):

  raw query     storage.repo.raw_below_threshold_query(), fully fetched; best of 3.
  first check   Checker.run_check() on the fresh data: opens an episode and posts one
                alert for every below-threshold SKU, over real loopback HTTP.
  steady check  run_check() again, nothing new to post: the every-15-minutes case;
                best of 3. This is what is compared with the raw query.

Target (issue): steady check within 2x of the raw query, and memory flat in the number
of SKUs (peak must not grow ~10x from 100k to 1M).

Memory is reported two ways because they answer different questions: tracemalloc peak
(Python allocations during one steady check, run separately because tracemalloc slows
Python down and would distort the timings) and the growth of the subprocess's peak RSS
from just before the first query to the end (everything, including SQLite and the
first check's HTTP traffic).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `bot`, `storage` and `tests` importable
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy.dialects import sqlite as sqlite_dialect  # noqa: E402

from storage.db import init_db, make_engine  # noqa: E402
from storage.models import Stock, Threshold  # noqa: E402

ALERT_CHANNEL = "C0ALERTS"
TEAM_CHANNELS = ("C0TEAMA", "C0TEAMB")  # a few thresholds override the channel, as in real use
LOAD_CHUNK = 50_000  # rows per executemany: keeps the loader's own memory small at 1M SKUs
MIB = 1024 * 1024


# ---- building the database ---------------------------------------------------------------

def stored_datetime_text(value: datetime) -> str:
    """The exact text SQLModel's UTCDateTime writes on SQLite, taken from the column type
    itself rather than a hand-written format string, so the bulk load cannot drift from it."""
    dialect = sqlite_dialect.dialect()
    column_type = Stock.__table__.c.read_at.type
    return column_type.dialect_impl(dialect).bind_processor(dialect)(value)


def sku_rows(size: int, below: float, warehouses: int, seed: int):
    """Yield (threshold row, [stock rows]) per SKU, in SKU order (cheap B-tree appends).

    About `below` of the SKUs sit at or under their warning level, split evenly between
    WARNING, CRITICAL and OUT OF STOCK, and scattered randomly over the key space so
    the keyset pages see realistic gaps.
    """
    rng = random.Random(seed)
    for i in range(size):
        sku = f"SKU-{i:07d}"
        warning = rng.randint(20, 100)
        critical = warning // 2
        channel = TEAM_CHANNELS[i % 2] if i % 10 == 0 else None
        if rng.random() < below:
            kind = rng.randrange(3)
            total = 0 if kind == 0 else rng.randint(1, critical) if kind == 1 else rng.randint(critical + 1, warning)
        else:
            total = warning + 1 + rng.randint(0, 500)
        # Spread the total over the warehouses: the SKU's available is their SUM.
        shares = [total // warehouses] * warehouses
        shares[0] += total - sum(shares)
        yield (sku, warning, critical, channel), [(sku, f"WH{w}", shares[w], f"Product {i}") for w in range(warehouses)]


def build_database(path: Path, size: int, below: float, warehouses: int) -> tuple[int, float]:
    """Create the schema with the app's own models, then bulk-load with plain sqlite3.

    Returns (SKUs below warning, seconds). The ORM would take minutes for 1M SKUs;
    executemany with stored-format datetimes takes seconds and yields identical rows.
    """
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()

    now = datetime.now(timezone.utc)
    now_text = stored_datetime_text(now)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")  # a scratch file: durability during the load is pointless
    thresholds: list[tuple] = []
    stock: list[tuple] = []
    below_count = 0

    def flush() -> None:
        conn.executemany("INSERT INTO threshold (sku, warning_level, critical_level, channel, updated_by, "
                         "updated_at) VALUES (?, ?, ?, ?, 'UBENCH', ?)", thresholds)
        conn.executemany("INSERT INTO stock (sku, warehouse, available, name, source, read_at) "
                         "VALUES (?, ?, ?, ?, 'bench', ?)", stock)
        thresholds.clear()
        stock.clear()

    with conn:
        for threshold, stock_rows in sku_rows(size, below, warehouses, seed=size):
            thresholds.append((*threshold, now_text))
            stock.extend((*row, now_text) for row in stock_rows)
            below_count += sum(row[2] for row in stock_rows) <= threshold[1]
            if len(thresholds) >= LOAD_CHUNK:
                flush()
        flush()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return below_count, time.perf_counter() - started


def check_roundtrip(path: Path) -> None:
    """Fail fast if the bulk-loaded datetimes do not read back as SQLModel's aware UTC values."""
    from sqlmodel import Session, select

    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        threshold = session.exec(select(Threshold).limit(1)).one()
        stock = session.exec(select(Stock).limit(1)).one()
    engine.dispose()
    for value in (threshold.updated_at, stock.read_at):
        if not isinstance(value, datetime) or value.utcoffset() is None or value.utcoffset().total_seconds():
            raise SystemExit(f"bulk-loaded datetime does not round-trip as aware UTC: {value!r}")


# ---- measuring (runs in a fresh subprocess per size) -------------------------------------

def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def best_of(repeats: int, action) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(db_path: str, api_url: str, repeats: int) -> dict:
    from bot.checker import Checker
    from bot.config import Settings
    from bot.notifier import SlackNotifier, make_web_client
    from storage import repo
    from tests.slack_server import BOT_TOKEN

    engine = make_engine(f"sqlite:///{db_path}")
    # stock_source="": the data is already loaded; the check must not read a source.
    # One message per alert, sent as fast as the loopback answers: this bench measures the check and the
    # per-alert path at scale; digests and pacing have their own (bench/delivery_bench.py).
    settings = Settings(database_url=f"sqlite:///{db_path}", alert_channel=ALERT_CHANNEL, stock_source="",
                        digest_after=10 ** 9, channel_pace_seconds=0.0)
    checker = Checker(engine, settings, SlackNotifier(make_web_client(BOT_TOKEN, api_url)))
    raw_sql = repo.raw_below_threshold_query()

    def raw_query() -> list:
        with engine.connect() as conn:
            return conn.exec_driver_sql(raw_sql).fetchall()

    rss_before = peak_rss_mib()
    raw_s, raw_rows = best_of(repeats, raw_query)

    started = time.perf_counter()
    first = checker.run_check()
    first_s = time.perf_counter() - started

    steady_s, steady = best_of(repeats, checker.run_check)
    if steady.posted or steady.recovered or steady.reminded:
        raise SystemExit(f"steady check was not idle: {steady}")
    if steady.evaluated != len(raw_rows) or first.evaluated != len(raw_rows):
        # Every below-threshold SKU has an open episode by now, so both must see the same rows.
        raise SystemExit(f"check saw {first.evaluated}/{steady.evaluated} SKUs, raw query {len(raw_rows)}")

    tracemalloc.start()
    checker.run_check()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return {
        "raw_s": raw_s, "raw_rows": len(raw_rows), "first_s": first_s, "alerts": len(first.posted),
        "steady_s": steady_s, "evaluated": steady.evaluated, "traced_peak_mib": traced_peak / MIB,
        "rss_peak_mib": peak_rss_mib(), "rss_growth_mib": peak_rss_mib() - rss_before,
    }


# ---- driver ------------------------------------------------------------------------------

def run_size(size: int, args, work_dir: Path, slack) -> dict:
    db_path = work_dir / f"check_bench_{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    below, load_s = build_database(db_path, size, args.below, args.warehouses)
    check_roundtrip(db_path)
    print(f"[{size:>9,} SKUs] loaded {size * args.warehouses:,} stock rows, {below:,} below warning "
          f"in {load_s:.1f}s ({db_path.stat().st_size / MIB:.0f} MiB)", flush=True)

    posts_before = len(slack.of("chat.postMessage"))
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(db_path), "--api-url", slack.api_url,
         "--repeats", str(args.repeats)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"measurement for {size} SKUs failed (exit {child.returncode})")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    # Cross-check with what actually arrived over HTTP, then drop it: the fake Slack keeps every call.
    result["received"] = len(slack.of("chat.postMessage")) - posts_before
    slack.reset()
    result.update(size=size, below=below)
    if result["alerts"] != below or result["received"] != below:
        raise SystemExit(f"expected {below} alerts, check reported {result['alerts']}, "
                         f"Slack received {result['received']}")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)

    r = result
    print(f"[{size:>9,} SKUs] raw query {r['raw_s']:.3f}s ({size / r['raw_s']:,.0f} SKUs/s, {r['raw_rows']:,} rows) | "
          f"first check {r['first_s']:.2f}s, {r['alerts']:,} alerts | steady check {r['steady_s']:.3f}s "
          f"({size / r['steady_s']:,.0f} SKUs/s) | ratio {r['steady_s'] / r['raw_s']:.2f}x | "
          f"traced peak {r['traced_peak_mib']:.1f} MiB, RSS +{r['rss_growth_mib']:.1f} MiB "
          f"(peak {r['rss_peak_mib']:.0f} MiB)", flush=True)
    return result


def print_table(results: list[dict]) -> None:
    header = ("size", "raw query s", "steady check s", "ratio", "SKUs/s", "first check s (alerts)",
              "traced peak MiB", "RSS growth MiB")
    rows = [(f"{r['size']:,}", f"{r['raw_s']:.3f}", f"{r['steady_s']:.3f}", f"{r['steady_s'] / r['raw_s']:.2f}x",
             f"{r['size'] / r['steady_s']:,.0f}", f"{r['first_s']:.2f} ({r['alerts']:,})",
             f"{r['traced_peak_mib']:.1f}", f"{r['rss_growth_mib']:.1f}") for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    line = lambda cells: " | ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    print()
    print(line(header))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def verdict(results: list[dict]) -> bool:
    largest = max(results, key=lambda r: r["size"])
    ratio = largest["steady_s"] / largest["raw_s"]
    ok = ratio <= 2.0
    print(f"\nspeed : steady check / raw query at {largest['size']:,} SKUs = {ratio:.2f}x "
          f"(target <= 2x): {'MET' if ok else 'NOT MET'}")
    smallest = min(results, key=lambda r: r["size"])
    if smallest is not largest:
        scale = largest["size"] / smallest["size"]
        traced = largest["traced_peak_mib"] / smallest["traced_peak_mib"]
        rss = largest["rss_growth_mib"] / max(smallest["rss_growth_mib"], 1.0)
        # "Flat" = clearly sublinear: growing by less than a quarter of the SKU growth.
        flat = traced < scale / 4 and rss < scale / 4
        ok = ok and flat
        print(f"memory: {scale:.0f}x more SKUs -> traced peak x{traced:.2f}, RSS growth x{rss:.2f} "
              f"(target: flat, not ~{scale:.0f}x): {'MET' if flat else 'NOT MET'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--below", type=float, default=0.01, help="share of SKUs at/below warning level")
    parser.add_argument("--warehouses", type=int, default=2, help="stock rows per SKU (available is their sum)")
    parser.add_argument("--repeats", type=int, default=3, help="best-of count for raw query and steady check")
    parser.add_argument("--out-dir", type=Path, default=None, help="where the SQLite files go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure this DB in this process
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.api_url, args.repeats)))
        return

    from tests.slack_server import SlackServer

    # The fake Slack lives in this (parent) process, so the calls it records are not
    # counted in the measured process's memory.
    slack = SlackServer().start()
    print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{args.below:.1%} below warning, {args.warehouses} warehouse(s) per SKU", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="check_bench_") as tmp:
            work_dir = args.out_dir or Path(tmp)
            work_dir.mkdir(parents=True, exist_ok=True)
            results = [run_size(size, args, work_dir, slack) for size in args.skus]
    finally:
        slack.stop()
    print_table(results)
    sys.exit(0 if verdict(results) else 1)


if __name__ == "__main__":
    main()
