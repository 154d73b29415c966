"""Benchmark: what a Prometheus scrape of GET /metrics costs with a large catalogue.

    python bench/metrics_bench.py [--skus 100000] [--dbs sqlite postgres]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--scrapes 500]
        [--outbox-done 50000] [--outbox-pending 500]

Each database gets the catalogue of bench/check_scale_bench.py (thresholds, two stock rows per
SKU, about 1 % of the SKUs below their level with an open episode and a posted alert), plus an
outbox of `--outbox-done` delivered and `--outbox-pending` waiting entries, three configured
stock sources with their source_state rows, and the time of the last check.

The real HTTP server (bot.web on waitress, the app's context: its engine and the request guard's
engine that /metrics reads with) serves on loopback; this process then times `--scrapes` GET
/metrics over HTTP, alternating with as many GET /healthz on the same server (the baseline: it
reads the same database, outbox and lease), after a warm-up of 20 each. Prints p50/p99 of both
in ms, the ratio, and the size of a scrape.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(path) not in sys.path:  # run as a script: make `bot`, `storage` and the benches importable
        sys.path.insert(0, str(path))

from check_scale_bench import DEFAULT_PG_URL, load_postgres, load_sqlite, new_schema, pg_url_in  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.checker import LAST_CHECK_KEY  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import Meta, OutboxEntry, SourceState  # noqa: E402

WARM_UP = 20


def add_state(url: str, work_dir: Path, done: int, pending: int) -> str:
    """The outbox, sources and last check of a running install; returns STOCK_SOURCE."""
    files = [work_dir / f"export-{n}.csv" for n in range(2)]
    for file in files:
        file.write_text("sku,available\n", encoding="utf-8")
    stock_source = ",".join(f"csv:{file}" for file in files)
    now = datetime.now(timezone.utc)
    engine = make_engine(url)
    with engine.begin() as conn:
        rows = [{"key": f"SKU-{n % 5000}", "kind": "post_alert", "channel": "C0ALERTS",
                 "created_at": now - timedelta(minutes=(done + pending - n) / 60), "next_try_at": now,
                 "done": n < done, "attempts": 1} for n in range(done + pending)]
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(OutboxEntry.__table__), rows[start:start + 10_000])
        conn.execute(insert(SourceState.__table__), [
            {"name": f"csv:{files[0]}", "failing": False, "last_success_at": now - timedelta(minutes=3), "rows_read": 0},
            {"name": f"csv:{files[1]}", "failing": True, "last_success_at": now - timedelta(hours=2), "rows_read": 0},
            {"name": "push", "failing": False, "last_success_at": now - timedelta(seconds=40), "rows_read": 0},
            {"name": "csv:/old/removed.csv", "failing": False, "last_success_at": now - timedelta(days=9),
             "rows_read": 0}])
        conn.execute(insert(Meta.__table__), [{"key": LAST_CHECK_KEY, "value": now.isoformat()}])
    engine.dispose()
    return stock_source


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(url: str, stock_source: str, scrapes: int) -> dict:
    from bot.app import build_context
    from bot.notifier import SlackNotifier, make_web_client
    from bot.slack_guard import guard_engine
    from bot.web import create_server, make_wsgi_app

    settings = Settings(database_url=url, alert_channel="C0ALERTS", stock_source=stock_source,
                        stock_push_token="bench-push-token")
    engine = make_engine(url)
    # No Slack is called: /metrics and /healthz only read the database and this process's counters.
    ctx = build_context(settings, engine, SlackNotifier(make_web_client("", "http://127.0.0.1:9/api/")))
    ctx.guard_engine = guard_engine(url)
    server = create_server(make_wsgi_app(ctx, None), port=0, host="127.0.0.1")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=30)

    def get(path: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        # /healthz answers 503 (with the same full body) when the outbox waits longer than 10 minutes
        if response.status != 200 and not (path == "/healthz" and response.status == 503):
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
        return elapsed, body

    try:
        for _ in range(WARM_UP):
            get("/metrics")
            get("/healthz")
        metrics_ms, health_ms = [], []
        body = b""
        for _ in range(scrapes):
            elapsed, body = get("/metrics")
            metrics_ms.append(elapsed * 1000)
            health_ms.append(get("/healthz")[0] * 1000)
        text = body.decode()
        if "stockbot_metrics_database_up 1.0" not in text or "stockbot_outbox_backlog" not in text:
            raise SystemExit("the scrape did not read the database:\n" + text[-2000:])
        lines = [line for line in text.splitlines() if line.startswith(("stockbot_outbox", "stockbot_source"))]
    finally:
        conn.close()
        server.task_dispatcher.shutdown()  # let the last request's thread finish before the socket closes
        server.close()
        thread.join(timeout=5)
        engine.dispose()
        ctx.guard_db.dispose()
    return {"metrics_p50": statistics.median(metrics_ms), "metrics_p99": percentile(metrics_ms, 0.99),
            "health_p50": statistics.median(health_ms), "health_p99": percentile(health_ms, 0.99),
            "bytes": len(body), "lines": lines}


def run(db: str, args, work_dir: Path) -> dict:
    started = time.perf_counter()
    cleanup = None
    if db == "sqlite":
        path = work_dir / "metrics_bench.db"
        below = load_sqlite(path, args.skus, 0.01, 2)
        url = f"sqlite:///{path}"
    else:
        schema, cleanup = new_schema(args.pg_url)
        below = load_postgres(args.pg_url, schema, args.skus, 0.01, 2)
        url = pg_url_in(args.pg_url, schema)
    try:
        stock_source = add_state(url, work_dir, args.outbox_done, args.outbox_pending)
        if db == "postgres":
            import psycopg

            with psycopg.connect(args.pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                                 options=f"-csearch_path={schema}") as conn:
                conn.execute("VACUUM ANALYZE outbox")  # as autovacuum would have in a live install
        load_s = time.perf_counter() - started
        result = measure(url, stock_source, args.scrapes)
    finally:
        if cleanup:
            cleanup()
    result.update(db=db, below=below, load_s=load_s)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--dbs", nargs="+", default=["sqlite"], choices=["sqlite", "postgres"])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--scrapes", type=int, default=500)
    parser.add_argument("--outbox-done", type=int, default=50_000)
    parser.add_argument("--outbox-pending", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metrics-bench-") as tmp:
        for db in args.dbs:
            r = run(db, args, Path(tmp))
            print(f"[{db}] {args.skus:,} SKUs ({r['below']:,} alerted), outbox {args.outbox_done:,} done + "
                  f"{args.outbox_pending:,} waiting, loaded in {r['load_s']:.0f}s; {args.scrapes} scrapes over HTTP")
            print(f"  GET /metrics  p50 {r['metrics_p50']:6.2f} ms  p99 {r['metrics_p99']:6.2f} ms  "
                  f"({r['bytes']:,} bytes)")
            print(f"  GET /healthz  p50 {r['health_p50']:6.2f} ms  p99 {r['health_p99']:6.2f} ms  (baseline)")
            print(f"  ratio         p50 {r['metrics_p50'] / r['health_p50']:.2f}x  "
                  f"p99 {r['metrics_p99'] / r['health_p99']:.2f}x")
            for line in r["lines"]:
                print("   ", line)


if __name__ == "__main__":
    main()
