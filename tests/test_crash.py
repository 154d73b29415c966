"""SIGKILL at random moments while a real `stockbot worker` posts 300 alerts, then their
recoveries: after restarts every alert and every recovery reply is in Slack exactly once."""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter

from sqlmodel import col, select

from storage import repo
from storage.db import Session, make_engine
from storage.models import Alert, OutboxEntry
from tests.conftest import ALERT_CHANNEL, write_stock
from tests.test_cli import stockbot, stockbot_env, stop

SKUS = [f"CRASH-{n:03d}" for n in range(300)]
KILLS_PER_PHASE = 3


def _posts(slack) -> int:
    return len(slack.of("chat.postMessage"))


def _run_with_kills(slack, env, rng: random.Random, log: list) -> None:
    """Start the worker, let it post a random number of messages (a random moment inside a call,
    too: each call takes 10 ms), SIGKILL it; again and again."""
    for _ in range(KILLS_PER_PHASE):
        process = subprocess.Popen(stockbot("worker"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = _posts(slack) + rng.randint(1, 80)
        deadline = time.monotonic() + 60
        while _posts(slack) < target and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.015))
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait()
        log.append(_posts(slack))


def _finish(slack, env, engine, done) -> None:
    """A last, unkilled run until everything owed is delivered."""
    process = subprocess.Popen(stockbot("worker"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Session(engine) as session:
                owed = session.exec(select(OutboxEntry.id).where(col(OutboxEntry.done).is_(False)).limit(1)).first()
                if owed is None and done(session):
                    return
            time.sleep(0.2)
        raise AssertionError("the worker did not deliver everything within 120 s")
    finally:
        stop(process)


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(slack, database_url, stock_file):
    seed = int(os.environ.get("CRASH_SEED", str(time.time_ns() % 10_000)))
    rng = random.Random(seed)
    engine = make_engine(database_url)
    with Session(engine) as session:
        for sku in SKUS:
            repo.save_threshold(session, sku, 100, 50, None, "U0ADMIN", repo.utcnow())
        session.commit()
    slack.slow_seconds = 0.01
    env = stockbot_env(slack, database_url, stock_file, DIGEST_AFTER="1000", SLACK_CHANNEL_PACE_SECONDS="0.001")
    kills: list[int] = []

    # phase 1: 300 SKUs sell out at once
    write_stock(stock_file, {sku: 0 for sku in SKUS})
    _run_with_kills(slack, env, rng, kills)
    _finish(slack, env, engine, lambda session: len(session.exec(
        select(Alert).where(col(Alert.ts).is_not(None))).all()) == len(SKUS))
    with Session(engine) as session:
        alerts = session.exec(select(Alert)).all()
    top = {ts: message for (channel, ts), message in slack.messages.items()
           if channel == ALERT_CHANNEL and not message.get("thread_ts")}
    per_sku = Counter(message["text"].split(" ")[3] for message in top.values())
    assert len(alerts) == len(SKUS), f"seed {seed}"
    assert sorted(per_sku) == SKUS and set(per_sku.values()) == {1}, f"seed {seed}: duplicates {per_sku.most_common(3)}"
    assert {a.ts for a in alerts} == set(top), f"seed {seed}: an alert lost its message id"

    # phase 2: all of them recover; each alert gets exactly one recovery reply in its thread
    write_stock(stock_file, {sku: 5000 for sku in SKUS})
    _run_with_kills(slack, env, rng, kills)

    def all_replied(session) -> bool:
        replies = [m for (channel, ts), m in slack.messages.items() if m.get("thread_ts") and "recovered" in m["text"]]
        return len(replies) >= len(SKUS)

    _finish(slack, env, engine, all_replied)
    replies = Counter(m["thread_ts"] for m in slack.messages.values() if m.get("thread_ts") and "recovered" in m["text"])
    assert set(replies) == set(top) and set(replies.values()) == {1}, f"seed {seed}: {replies.most_common(3)}"
    # every alert message was updated to look resolved
    assert all("Recovered" in slack.messages[(ALERT_CHANNEL, ts)]["text"] for ts in top), f"seed {seed}"
    engine.dispose()
    print(f"seed {seed}: killed after {kills} posts; 300 alerts and 300 recoveries, each once")
