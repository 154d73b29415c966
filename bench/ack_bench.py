"""Benchmark: how fast Slack gets its ack, idle and while a large check runs.

    python bench/ack_bench.py [--skus 100000] [--database-url postgresql+psycopg://...]
                              [--concurrency 50] [--rounds 6] [--slack-delay 0]

The real app (Bolt, its production listener and after-ack pools, waitress) serves on
loopback; a loopback Slack (tests/slack_server.py) takes its calls. A separate client
process (so its threads do not share the server's GIL) sends rounds of `--concurrency`
signed requests at once, a mix of /stock SKU, /threshold get, /threshold set (which queues
an immediate check) and the acknowledge button, and times each until its HTTP answer (the ack).

  idle    `--rounds` rounds with nothing else running: the baseline.
  check   rounds sent back to back while one full check runs: it reads a CSV source of
          `--skus` rows (every row rewritten: one write transaction), evaluates every SKU
          and posts the alerts (about --below of them) to the loopback Slack.

Prints p50/p90/p99/max of both, and the check's figures as ratios of the idle ones.
Goal (issue 12): p99 < 300 ms during the check.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `bot`, `storage` and `tests` importable
    sys.path.insert(0, str(REPO_ROOT))

SECRET = "bench-signing-secret"  # a bench-only value, not a real secret
CHANNEL = "C0BENCH"
LOAD_CHUNK = 20_000
MAX_CHECK_ROUNDS = 400


# ---- the client (a separate process) --------------------------------------------------------

def _signed_post(base: str, body: str) -> tuple[int, float]:
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    parts = urlsplit(base)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", "/slack/events", body=body.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def _request_body(i: int, skus: int, slack_url: str, rng: random.Random) -> str:
    sku = f"SKU-{rng.randrange(skus):07d}"
    response_url = f"{slack_url}/response/bench-{uuid.uuid4().hex[:12]}"
    kind = i % 4
    if kind == 3:
        payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": "U0BENCH", "name": "bench"},
                   "api_app_id": "A0STOCK", "trigger_id": f"t-{i}", "response_url": response_url,
                   "container": {"type": "message", "message_ts": "1.0", "channel_id": CHANNEL},
                   "channel": {"id": CHANNEL}, "message": {"ts": "1.0", "text": "alert"},
                   "actions": [{"action_id": "ack_restock", "block_id": "alert", "value": str(rng.randint(1, 50)),
                                "type": "button", "action_ts": f"{time.time():.6f}"}]}
        return urlencode({"payload": json.dumps(payload)})
    command, text = [("/stock", sku), ("/threshold", f"get {sku}"), ("/threshold", f"set {sku} 60")][kind]
    return urlencode({"token": "legacy", "team_id": "T0TEST", "team_domain": "bench", "channel_id": "C0WORK",
                      "channel_name": "work", "user_id": "U0BENCH", "user_name": "bench", "command": command,
                      "text": text, "api_app_id": "A0STOCK", "response_url": response_url,
                      "trigger_id": f"t-{i}"})


def client_main(args) -> None:
    """Send rounds of concurrent requests; print one JSON line: [[status, seconds], ...]."""
    rng = random.Random(args.seed)
    results: list[tuple[int, float]] = []
    rounds = 0
    while True:
        bodies = [_request_body(i, args.skus, args.slack_url, rng) for i in range(args.concurrency)]
        barrier = threading.Barrier(args.concurrency)
        lock = threading.Lock()

        def one(body: str) -> None:
            barrier.wait()
            try:
                outcome = _signed_post(args.client, body)
            except OSError:
                outcome = (0, 30.0)
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=one, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rounds += 1
        if args.until_file:
            if os.path.exists(args.until_file) or rounds >= MAX_CHECK_ROUNDS:
                break
        elif rounds >= args.rounds:
            break
        time.sleep(args.pause)
    print(json.dumps(results))


# ---- the server side ---------------------------------------------------------------------------

def _scratch_database(url: str | None, workdir: Path):
    """(url, cleanup): a fresh SQLite file, or a fresh schema in the given Postgres database."""
    from sqlalchemy import text

    from storage.db import make_engine

    if not url:
        return f"sqlite:///{workdir / 'ack-bench.db'}", lambda: None
    schema = f"ackbench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", drop


def load(engine, skus: int, below: float, csv_path: Path) -> int:
    """Thresholds and stored stock for every SKU (all fine), and a CSV source in which about
    `below` of them have dropped under their warning level. Returns how many dropped."""
    from datetime import datetime, timezone

    from storage.models import Stock, Threshold

    rng = random.Random(skus)
    now = datetime.now(timezone.utc)
    dropped = 0
    with engine.begin() as conn, csv_path.open("w", encoding="utf-8") as csv:
        csv.write("sku,name,available\n")
        for start in range(0, skus, LOAD_CHUNK):
            thresholds, stock = [], []
            for i in range(start, min(start + LOAD_CHUNK, skus)):
                sku, warning = f"SKU-{i:07d}", rng.randint(20, 100)
                thresholds.append({"sku": sku, "warning_level": warning, "critical_level": warning // 2,
                                   "channel": None, "updated_by": "UBENCH", "updated_at": now, "warehouse": None})
                stock.append({"sku": sku, "warehouse": "", "available": warning + 200, "name": f"Product {i}",
                              "source": "csv", "read_at": now})
                is_below = rng.random() < below
                dropped += is_below
                csv.write(f"{sku},Product {i},{rng.randint(0, warning) if is_below else warning + rng.randint(1, 300)}\n")
            conn.execute(Threshold.__table__.insert(), thresholds)
            conn.execute(Stock.__table__.insert(), stock)
    return dropped


def run_client(base: str, slack_url: str, args, rounds: int = 0, until_file: str = "") -> list[tuple[int, float]]:
    command = [sys.executable, __file__, "--client", base, "--slack-url", slack_url, "--skus", str(args.skus),
               "--concurrency", str(args.concurrency), "--pause", str(args.pause), "--seed", str(rounds or 7)]
    command += ["--until-file", until_file] if until_file else ["--rounds", str(rounds)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [tuple(item) for item in json.loads(output.strip().splitlines()[-1])]


def figures(samples: list[tuple[int, float]]) -> dict:
    seconds = sorted(s for _, s in samples)
    q = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"n": len(seconds), "p50": q[49] * 1000, "p90": q[89] * 1000, "p99": q[98] * 1000,
            "max": seconds[-1] * 1000, "not_200": sum(status != 200 for status, _ in samples),
            "over_3s": sum(s >= 3.0 for s in seconds)}


def show(name: str, f: dict) -> None:
    print(f"  {name:<6} n={f['n']:<5} p50 {f['p50']:7.1f} ms  p90 {f['p90']:7.1f} ms  p99 {f['p99']:7.1f} ms  "
          f"max {f['max']:7.1f} ms  not-200 {f['not_200']}  >=3s {f['over_3s']}")


def server_main(args) -> None:
    import logging

    from bot.app import BACKGROUND_WORKERS, LISTENER_WORKERS, build_app
    from bot.config import Settings
    from bot.web import WEB_THREADS, create_server, make_wsgi_app
    from storage.db import init_db, make_engine
    from tests.slack_server import BOT_TOKEN

    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="ack-bench-"))
    url, cleanup = _scratch_database(args.database_url, workdir)
    # The loopback Slack runs in its own process: the real one does not share our GIL either.
    slack = subprocess.Popen([sys.executable, "-m", "tests.slack_server", str(args.slack_delay)], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, text=True)
    slack_url = slack.stdout.readline().strip()
    try:
        engine = make_engine(url)
        init_db(engine)
        csv_path = workdir / "stock.csv"
        started = time.perf_counter()
        dropped = load(engine, args.skus, args.below, csv_path)
        backend = engine.dialect.name
        print(f"ack bench: {args.skus:,} SKUs on {backend}, {dropped:,} drop below their level in the check; "
              f"loaded in {time.perf_counter() - started:.1f} s")
        print(f"  pools: Bolt listeners {LISTENER_WORKERS}, after-ack {BACKGROUND_WORKERS}, waitress {WEB_THREADS}; "
              f"{args.concurrency} concurrent requests per round; Slack delay {args.slack_delay:g} s")
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=slack_url + "/api/",
                            database_url=url, alert_channel=CHANNEL, stock_source=f"csv:{csv_path}",
                            run_scheduler=False)
        app, ctx = build_app(settings, engine)
        server = create_server(make_wsgi_app(ctx, app), port=0, host="127.0.0.1")
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"

        run_client(base, slack_url, args, rounds=1)  # warm-up: imports, connections, first queries
        ctx.checker.wait_soon(120)
        idle = figures(run_client(base, slack_url, args, rounds=args.rounds))
        ctx.checker.wait_soon(120)

        until = workdir / "check-done"
        report: dict = {}

        def check() -> None:
            begun = time.perf_counter()
            if args.split:  # the check in its own process, as with `web` (RUN_SCHEDULER=false) + `worker`
                env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack_url + "/api/",
                       "DATABASE_URL": url, "ALERT_CHANNEL": CHANNEL, "STOCK_SOURCE": f"csv:{csv_path}"}
                done = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--force"], env=env, cwd=REPO_ROOT,
                                      capture_output=True, text=True, check=False)
                posted = re.search(r"posted (\d+) alerts", done.stdout)
                report.update(seconds=time.perf_counter() - begun, posted=int(posted.group(1)) if posted else 0,
                              errors=done.stderr.strip()[-300:] if done.returncode else None)
            else:
                result = ctx.checker.run_check()
                report.update(seconds=time.perf_counter() - begun, posted=len(result.posted),
                              errors=result.source_errors)
            until.touch()

        checking = threading.Thread(target=check, daemon=True)
        checking.start()
        during = figures(run_client(base, slack_url, args, until_file=str(until)))
        checking.join()
        ctx.checker.wait_soon(300)

        print(f"  check: {report.get('seconds', 0):.1f} s, {report.get('posted', 0):,} alerts posted"
              + (f", source errors {report['errors']}" if report.get("errors") else ""))
        show("idle", idle)
        show("check", during)
        print(f"  ratio check/idle: p50 {during['p50'] / idle['p50']:.2f}x  p99 {during['p99'] / idle['p99']:.2f}x")
        print(f"  goal p99 < 300 ms during the check: {'met' if during['p99'] < 300 else 'NOT met'}; "
              f"every ack 200 and < 3 s: {'yes' if not (during['not_200'] or during['over_3s']) else 'NO'}")
        ctx.background.shutdown(wait=True)  # replies still on their way, before Slack goes
        server.close()
        ctx.guard_db.dispose()
        engine.dispose()
    finally:
        slack.kill()
        slack.wait()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""),
                        help="Postgres URL (a scratch schema is created and dropped); default: a SQLite file")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6, help="idle rounds (the baseline)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between rounds")
    parser.add_argument("--below", type=float, default=0.01, help="share of SKUs that drop below their level")
    parser.add_argument("--slack-delay", type=float, default=0.0, help="seconds every Slack call takes")
    parser.add_argument("--split", action="store_true",
                        help="run the check in its own process (web + worker deployment) instead of the web process")
    parser.add_argument("--client", default="", help=argparse.SUPPRESS)
    parser.add_argument("--slack-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--until-file", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
    else:
        if args.database_url:
            from bot.config import normalize_database_url
            args.database_url = normalize_database_url(args.database_url)
        server_main(args)


if __name__ == "__main__":
    main()
