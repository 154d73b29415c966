"""Benchmark: hostile input at scale (issue 14, point 4).

    python bench/fuzz_bench.py [--cases 10000] [--seed 14] [--database-url postgresql+psycopg://...]

Starts the real app (waitress, the Slack guard, Bolt, listeners, checker) against the
loopback Slack server and a fresh database (a SQLite file by default; with --database-url,
a new schema in that Postgres database, dropped afterwards), then sends random command
texts for every slash command and tampered button payloads as signed HTTP requests
(tests/fuzz.py). Prints the figures: cases, server errors (5xx or "something went wrong"
replies), tracebacks in the log, stored rows that break the documented rules, and the
time to Slack's answer (p50/p99/max; Slack's limit is 3 s). Exits 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402

from bot.config import Settings, normalize_database_url  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from tests.conftest import ALERT_CHANNEL, SIGNING_SECRET, RunningBot, _with_search_path  # noqa: E402
from tests.fuzz import run_fuzz  # noqa: E402
from tests.slack_server import BOT_TOKEN, SlackServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--database-url", default="", help="Postgres URL; default: a SQLite file")
    args = parser.parse_args()

    slack = SlackServer().start()
    with tempfile.TemporaryDirectory(prefix="fuzz_bench_") as tmp:
        stock_file = Path(tmp) / "stock.csv"
        stock_file.write_text("sku,name,available\nSKU2,seeded,500\n", encoding="utf-8")
        schema = admin = None
        if args.database_url:
            url = normalize_database_url(args.database_url)
            schema = f"fuzz_{uuid.uuid4().hex[:12]}"
            admin = make_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            url = _with_search_path(url, schema)
        else:
            url = f"sqlite:///{Path(tmp) / 'fuzz.db'}"
        engine = make_engine(url)
        init_db(engine)
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=slack.api_url, database_url=url, alert_channel=ALERT_CHANNEL,
                            stock_source=f"csv:{stock_file}", threshold_admins=frozenset({"U0ADMIN"}),
                            stock_editors=frozenset({"U0EDITOR"}))
        bot = RunningBot(settings, engine, slack)
        started = time.perf_counter()
        try:
            report = run_fuzz(bot, args.cases, args.seed, progress=lambda n: print(
                f"  {n:,} cases, {time.perf_counter() - started:.0f} s", file=sys.stderr) if n % 1000 == 0 else None)
        finally:
            bot.stop()
            engine.dispose()
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
            slack.stop()
    elapsed = time.perf_counter() - started
    database = "Postgres" if args.database_url else "SQLite"
    print(f"fuzz on {database}, seed {args.seed}: {elapsed:.0f} s")
    print(f"  cases            {report.cases:,} ({report.commands:,} slash commands, {report.buttons:,} button payloads)")
    print(f"  5xx / internal   {report.server_errors}")
    print(f"  other statuses   {report.other_statuses or 'none'}")
    print(f"  tracebacks       {len(report.tracebacks)}")
    print(f"  errors logged    {len(report.errors_logged)}")
    print(f"  bad rows         {len(report.bad_rows)}")
    print(f"  alive after      {report.alive_after}")
    print(f"  reply p50        {report.percentile(0.5) * 1000:.1f} ms")
    print(f"  reply p99        {report.percentile(0.99) * 1000:.1f} ms")
    print(f"  reply max        {max(report.latencies, default=0) * 1000:.1f} ms   (Slack's limit: 3000 ms)")
    for line in (report.examples + report.tracebacks + report.errors_logged + report.bad_rows)[:20]:
        print("  !", line)
    ok = (report.server_errors == 0 and not report.tracebacks and not report.bad_rows and report.alive_after
          and not report.other_statuses and max(report.latencies, default=0) < 3.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
