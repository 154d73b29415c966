"""Benchmark: 10,000 SKUs cross their warning level in one check. How many Slack calls, how long
until everything is delivered, and how many calls per channel per second?

    python bench/delivery_bench.py [--skus 10000] [--channels 4] [--database-url URL]

Two runs over the same data, against the loopback Slack server of the tests (real HTTP):

  baseline   one message per SKU, no pacing (DIGEST_AFTER=∞, SLACK_CHANNEL_PACE_SECONDS=0):
             what Stockbot did before the outbox; Slack would rate-limit it.
  stockbot   the defaults: a digest per channel and tier (more than DIGEST_AFTER=5 SKUs),
             its full list in the thread and as CSV, about one message a second per channel.

For each: the check's own time (decide and write, holding the check lock), the time until the
outbox is empty, Slack calls by method, and the highest number of messages posted to one
channel within any one second.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot import outbox  # noqa: E402
from bot.checker import Checker  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.notifier import SlackNotifier, make_web_client  # noqa: E402
from bot.sync import STOCK_WRITE_BATCH  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from storage.db import session as open_session  # noqa: E402
from storage.models import Threshold  # noqa: E402
from tests.slack_server import BOT_TOKEN, SlackServer  # noqa: E402

POSTS = ("chat.postMessage", "files.completeUploadExternal")


def load(engine, skus: int, channels: int) -> None:
    now = repo.utcnow()
    thresholds = [{"sku": f"SKU-{n:06d}", "warning_level": 100, "critical_level": 10,
                   "channel": f"C0CHAN{n % channels}", "updated_by": "bench", "updated_at": now} for n in range(skus)]
    stock = [{"sku": f"SKU-{n:06d}", "warehouse": "", "available": 20 + n % 80, "oversold": None,
              "name": f"Product {n}", "on_order": None, "source": "push", "read_at": now} for n in range(skus)]
    with engine.begin() as conn:
        conn.execute(Threshold.__table__.insert(), thresholds)
        for start in range(0, len(stock), STOCK_WRITE_BATCH):
            repo.upsert_stock(conn, stock[start:start + STOCK_WRITE_BATCH])


def busiest_second(slack: SlackServer) -> int:
    """The most messages posted to one channel within any one-second window."""
    by_channel: dict[str, list[float]] = {}
    for call in slack.calls:
        if call.method in POSTS:
            channel = call.params.get("channel") or call.params.get("channel_id") or ""
            by_channel.setdefault(channel, []).append(call.at)
    best = 0
    for times in by_channel.values():
        times.sort()
        start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
    return best


def run(label: str, url: str, slack: SlackServer, skus: int, channels: int, **overrides) -> dict:
    engine = make_engine(url)
    init_db(engine)
    load(engine, skus, channels)
    settings = Settings(database_url=url, alert_channel="C0CHAN0", stock_source="", **overrides)
    checker = Checker(engine, settings, SlackNotifier(make_web_client(BOT_TOKEN, slack.api_url)), charts=False)
    slack.reset()
    started = time.perf_counter()
    checker.sender.start()  # as in `stockbot run`: the check only writes, the sender delivers
    report = checker.run_check()
    check_s = time.perf_counter() - started
    while True:
        with open_session(engine) as session:
            backlog, _ = outbox.backlog(session)
        if backlog == 0:
            break
        time.sleep(0.05)
    delivered_s = time.perf_counter() - started
    checker.sender.stop()
    engine.dispose()
    calls = Counter(call.method for call in slack.calls)
    return {"label": label, "posted": len(report.posted), "digests": report.digests, "check_s": check_s,
            "delivered_s": delivered_s, "calls": sum(calls.values()), "by_method": dict(calls),
            "busiest": busiest_second(slack)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    slack = SlackServer().start()
    work = Path(tempfile.mkdtemp(prefix="stockbot-delivery-"))
    results = []
    try:
        for label, overrides in (("baseline", {"digest_after": 10 ** 9, "channel_pace_seconds": 0.0}),
                                 ("stockbot", {})):
            if args.database_url:
                url = args.database_url
                from sqlmodel import SQLModel

                engine = make_engine(url)
                SQLModel.metadata.drop_all(engine)
                engine.dispose()
            else:
                url = f"sqlite:///{work / (label + '.db')}"
            result = run(label, url, slack, args.skus, args.channels, **overrides)
            results.append(result)
            print(f"{label:>9}: {result['posted']:,} alerts ({result['digests']} digests); check {result['check_s']:.1f}s;"
                  f" all delivered after {result['delivered_s']:.1f}s; {result['calls']:,} Slack calls "
                  f"{result['by_method']}; busiest channel-second: {result['busiest']} messages", flush=True)
    finally:
        slack.stop()
        shutil.rmtree(work, ignore_errors=True)
    base, ours = results
    print(f"\n{args.skus:,} SKUs crossing in one check, {args.channels} channels:")
    fewer = base["calls"] / max(ours["calls"], 1)
    print(f"  Slack calls        {base['calls']:>8,} -> {ours['calls']:>6,}  ({fewer:.0f}x fewer)")
    print(f"  messages/channel/s {base['busiest']:>8} -> {ours['busiest']:>6}  (Slack's guidance: about 1)")
    print(f"  time to deliver    {base['delivered_s']:>7.1f}s -> {ours['delivered_s']:>5.1f}s")
    print(f"  check (lock held)  {base['check_s']:>7.1f}s -> {ours['check_s']:>5.1f}s")


if __name__ == "__main__":
    main()
