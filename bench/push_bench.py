"""Benchmark: HTTP stock pushes (POST /api/stock) on SQLite.

    python bench/push_bench.py [--items 100000] [--pushes 1000]

1. One push of 100 000 items: seconds and rows/s from the request to the 200 (parsing,
   validation and the one-transaction write). Target: < 3 s.
2. Push -> Slack latency: 1 000 pushes, one after another, each taking one watched SKU
   below its level; the time from sending the push to the alert's chat.postMessage
   arriving at the loopback Slack server. Prints p50/p99 (target p99 < 1 s). The baseline
   in the same run is the bare HTTP round trip of a push that changes nothing alertable.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.web import create_server, make_wsgi_app  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from storage.db import session as open_session  # noqa: E402
from tests.slack_server import BOT_TOKEN, SlackServer  # noqa: E402

TOKEN = "bench-push-token"
CHANNEL = "C0BENCH"


def post(url: str, payload: dict) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--pushes", type=int, default=1_000)
    args = parser.parse_args()

    slack = SlackServer().start()
    with tempfile.TemporaryDirectory(prefix="push_bench_") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        init_db(engine)
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret="bench", slack_api_url=slack.api_url,
                            database_url=url, alert_channel=CHANNEL, stock_push_token=TOKEN)
        app, ctx = build_app(settings, engine)
        server = create_server(make_wsgi_app(ctx, app), port=0, host="127.0.0.1")
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}/api/stock"
        print(f"Python {sys.version.split()[0]}, SQLite, waitress on loopback", flush=True)

        # 1. one big push
        items = [{"sku": f"BULK-{i:06d}", "available": 1000 + i % 500, "warehouse": f"WH{i % 3}"}
                 for i in range(args.items)]
        started = time.perf_counter()
        status, answer = post(base, {"items": items})
        bulk_s = time.perf_counter() - started
        assert status == 200 and answer["received"] == args.items, answer
        print(f"push of {args.items:,} items: {bulk_s:.2f} s ({args.items / bulk_s:,.0f} rows/s) "
              f"-> {'MET' if bulk_s < 3 else 'NOT MET'} (target < 3 s)", flush=True)

        # 2. latency: thresholds for the SKUs to push, all above their level to start with
        skus = [f"LAT-{i:05d}" for i in range(args.pushes)]
        with open_session(engine) as session:
            for sku in skus:
                repo.save_threshold(session, sku, 100, 50, None, "UBENCH", repo.utcnow())
            session.commit()
        post(base, {"items": [{"sku": sku, "available": 500} for sku in skus]})
        ctx.checker.run_check(skus)  # settle: nothing is below yet

        baseline = []
        for sku in skus[:200]:  # a push that changes nothing alertable: the bare round trip
            started = time.perf_counter()
            post(base, {"items": [{"sku": sku, "available": 500}]})
            baseline.append(time.perf_counter() - started)

        latencies = []
        for sku in skus:
            slack.reset()
            started = time.monotonic()
            post(base, {"items": [{"sku": sku, "available": 80}]})
            [call] = [c for c in _wait_post(slack, sku)]
            latencies.append(call.at - started)
        server.close()
        engine.dispose()
    slack.stop()
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    b50 = percentile(baseline, 0.50)
    print(f"push -> Slack alert over {len(latencies):,} pushes: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms "
          f"-> {'MET' if p99 < 1 else 'NOT MET'} (target p99 < 1 s)")
    print(f"baseline (push round trip, no alert): p50 {b50 * 1000:.1f} ms; alert p50 / round trip p50 = "
          f"{p50 / b50:.1f}x")
    sys.exit(0 if bulk_s < 3 and p99 < 1 else 1)


def _wait_post(slack: SlackServer, sku: str):
    slack.wait_for("chat.postMessage", lambda p: sku in p.get("text", ""), timeout=10)
    return [c for c in slack.of("chat.postMessage") if sku in c.params.get("text", "")]


if __name__ == "__main__":
    main()
