"""Replicas: several `stockbot run` processes on one database run each check once, post each alert and
each recovery once, and a survivor takes over when the leader dies. SQLite refuses a second process.

The lease itself (bot/leader.py) is tested with two Leadership objects on one engine and explicit times,
on SQLite and Postgres; the process tests need real processes and run on the database they need."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from datetime import timedelta

import pytest

from bot.leader import CheckBusy, Leadership, check_lock, current_lease
from storage import repo
from storage.db import make_engine
from storage.db import session as open_session
from tests.conftest import http
from tests.slack_server import BOT_TOKEN
from tests.test_cli import free_port, stockbot, stockbot_env, stop

TTL = timedelta(seconds=60)
INTERVAL = 10  # CHECK_INTERVAL_SECONDS: the smallest the settings allow
GROUP = 25  # SKUs per group in the replica test: enough that unguarded processes race


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


# ---- the lease, on both databases ------------------------------------------------------------------

def test_one_leader_at_a_time_and_a_takeover_only_after_the_lease_runs_out(engine):
    a, b = Leadership(engine, ttl=TTL, holder_id="host-a:1:aa"), Leadership(engine, ttl=TTL, holder_id="host-b:2:bb")
    now = repo.utcnow()
    assert a.try_acquire_or_renew(now) and a.is_leader(now)
    assert not b.try_acquire_or_renew(now) and not b.is_leader(now)
    assert a.try_acquire_or_renew(now + timedelta(seconds=30))  # a renews: its lease now runs to +90 s
    assert not b.try_acquire_or_renew(now + timedelta(seconds=61))  # a's first lease would have run out here
    lease = current_lease(engine)
    assert (lease.holder, lease.acquired_at, lease.expires_at) == ("host-a:1:aa", now, now + timedelta(seconds=90))
    # a stops renewing (it died): b takes over once the lease has run out, not before
    assert not b.try_acquire_or_renew(now + timedelta(seconds=89))
    assert b.try_acquire_or_renew(now + timedelta(seconds=91)) and b.is_leader(now + timedelta(seconds=91))
    assert current_lease(engine).holder == "host-b:2:bb"
    assert current_lease(engine).acquired_at == now + timedelta(seconds=91)
    # a comes back: it learns it no longer leads, and does not take the lease back
    assert not a.try_acquire_or_renew(now + timedelta(seconds=92))
    assert not a.is_leader() and not a.leading.is_set()


def test_release_hands_the_lease_over_at_once_and_tells_the_callbacks(engine):
    a, b = Leadership(engine, ttl=TTL, holder_id="a"), Leadership(engine, ttl=TTL, holder_id="b")
    changes = []
    a.on_change(changes.append)
    now = repo.utcnow()
    assert a.try_acquire_or_renew(now) and changes == [True]
    assert a.try_acquire_or_renew(now) and changes == [True]  # a renewal is not a change
    a.release()
    assert changes == [True, False] and not a.is_leader()
    assert current_lease(engine) is None
    assert b.try_acquire_or_renew(now)  # no waiting for the TTL


@pytest.mark.parametrize("held_before", [False, True], ids=["no-row", "expired-row"])
def test_processes_racing_for_the_lease_get_exactly_one_leader(engine, held_before):
    now = repo.utcnow()
    if held_before:  # a dead leader's lease, run out
        assert Leadership(engine, ttl=TTL, holder_id="dead").try_acquire_or_renew(now - 2 * TTL)
    racers = [Leadership(engine, ttl=TTL, holder_id=f"racer-{i}") for i in range(6)]
    start, results = threading.Barrier(len(racers)), {}

    def race(leadership):
        start.wait()
        results[leadership.holder_id] = leadership.try_acquire_or_renew(now)

    threads = [threading.Thread(target=race, args=(r,)) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [holder for holder, won in results.items() if won]
    assert len(results) == len(racers) and len(winners) == 1
    assert current_lease(engine).holder == winners[0]


def test_the_heartbeat_renews_and_a_follower_takes_over_when_it_stops(engine):
    ttl = timedelta(seconds=1.2)
    a, b = Leadership(engine, ttl=ttl, holder_id="a"), Leadership(engine, ttl=ttl, holder_id="b")
    a.start()
    b.start()
    try:
        assert a.is_leader() and not b.is_leader()
        time.sleep(2.5)  # two TTLs: a kept its lease by renewing it every ttl/4
        assert a.is_leader() and not b.is_leader()
        a.stop()  # a hangs or dies without a word: b leads within ttl + ttl/4
        stopped = time.monotonic()
        assert b.leading.wait(timeout=5)
        assert time.monotonic() - stopped < 1.2 + 0.3 + 0.5  # ttl, a heartbeat, and room for a busy machine
        assert current_lease(engine).holder == "b"
    finally:
        a.stop()
        b.release()


def test_checks_never_overlap_across_processes(engine):
    with check_lock(engine, wait_seconds=1):
        started = time.monotonic()
        with pytest.raises(CheckBusy):  # another process (here: another connection or lock file handle)
            result = []
            thread = threading.Thread(target=lambda: result.append(_try_check_lock(engine)))
            thread.start()
            thread.join()
            raise result[0]
        assert time.monotonic() - started >= 0.3
    with check_lock(engine, wait_seconds=0.3):  # released: the next check goes ahead
        pass


def _try_check_lock(engine) -> BaseException:
    try:
        with check_lock(engine, wait_seconds=0.3):
            return AssertionError("took the check lock while another check held it")
    except CheckBusy as exc:
        return exc


def test_a_one_shot_check_leaves_the_checks_to_a_running_scheduler(engine, slack, database_url, stock_file):
    from tests.conftest import write_stock

    with open_session(engine) as db:
        repo.save_threshold(db, "ONE-SHOT", 100, 50, None, "U0ADMIN", repo.utcnow())
        db.commit()
    write_stock(stock_file, {"ONE-SHOT": 10})
    leader = Leadership(engine, ttl=TTL, holder_id="web-7:4242:abc")
    assert leader.try_acquire_or_renew()
    env = stockbot_env(slack, database_url, stock_file)
    skipped = subprocess.run(stockbot("check"), capture_output=True, text=True, timeout=60, env=env)
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped: the scheduler in web-7:4242:abc runs the checks" in skipped.stdout
    assert "--force" in skipped.stdout
    assert slack.posts() == []
    forced = subprocess.run(stockbot("check", "--force"), capture_output=True, text=True, timeout=60, env=env)
    assert forced.returncode == 0, forced.stderr
    assert [p["text"] for p in slack.posts(top_level=True)] == ["CRITICAL: ONE-SHOT available 10 (critical level 50)"]
    leader.release()  # nobody leads: a cron check runs without --force
    again = subprocess.run(stockbot("check"), capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 0 and "checked:" in again.stdout


# ---- real processes ---------------------------------------------------------------------------------

class Replica:
    def __init__(self, env: dict) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(stockbot("run"), env={**env, "PORT": str(self.port)},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def health(self) -> dict:
        return http("GET", self.base + "/healthz").json()

    def wait_healthy(self, timeout: float = 40) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"stockbot run exited with {self.process.returncode}: {self.process.stdout.read()}")
            try:
                return self.health()
            except OSError:
                time.sleep(0.2)
        pytest.fail("stockbot run did not answer /healthz")


@pytest.fixture
def replicas():
    started: list[Replica] = []
    yield started
    for replica in started:
        if replica.process.poll() is None:
            output = stop(replica.process)
            assert BOT_TOKEN not in output


def write_stock_atomically(path, rows: dict) -> None:
    """A new export replaces the old one in one step (a check never reads half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text("sku,name,available\n" + "".join(f"{sku},{sku} name,{n}\n" for sku, n in rows.items()),
                   encoding="utf-8")
    os.replace(tmp, path)


def alerts(slack, sku: str) -> list[dict]:
    """Top-level alert posts for one SKU (their text: "CRITICAL: SKU available 40 (critical level 50)")."""
    return [p for p in slack.posts(top_level=True) if f": {sku} available " in p.get("text", "")]


def recoveries(slack, sku: str) -> list[dict]:
    return [p for p in slack.posts(top_level=False) if f"*{sku}* recovered" in p.get("text", "")]


def test_replicas_on_postgres_check_once_post_once_and_take_over(database_url, slack, stock_file, engine,
                                                                  replicas):
    if not is_postgres(database_url):
        pytest.skip("replicas need Postgres (SQLite refuses a second process: the next test)")
    first = [f"RPL-A{i:02}" for i in range(GROUP)]  # cross at once, recover in phase 1, some cross again
    second = [f"RPL-B{i:02}" for i in range(GROUP)]  # cross in phase 1, recover in phase 2
    again, last = first[:3], second[:3]  # cross again in phase 2 / in phase 3, after the leader died
    skus = first + second
    with open_session(engine) as db:
        for sku in skus:
            repo.save_threshold(db, sku, 100, 50, None, "U0ADMIN", repo.utcnow())
        db.commit()
    low, fine = 40, 500  # 40: CRITICAL

    def stock(*low_skus):
        write_stock_atomically(stock_file, {sku: low if sku in low_skus else fine for sku in skus})

    def wait_posts(alert_count: int, recovery_count: int, timeout: float = 3 * INTERVAL) -> None:
        slack.wait_for("chat.postMessage", lambda p: not p.get("thread_ts") and "CRITICAL" in p.get("text", ""),
                       count=alert_count, timeout=timeout)
        slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") and "recovered" in p.get("text", ""),
                       count=recovery_count, timeout=timeout)

    stock(*first)
    # One message per SKU (no digests), unpaced: every alert and reply is counted on its own.
    env = stockbot_env(slack, database_url, stock_file, CHECK_INTERVAL_SECONDS=str(INTERVAL), DIGEST_AFTER="1000",
                       SLACK_CHANNEL_PACE_SECONDS="0.001")
    replicas.extend(Replica(env) for _ in range(3))
    for replica in replicas:
        replica.wait_healthy()
    wait_posts(GROUP, 0)  # the first check
    stock(*second)  # phase 1
    wait_posts(2 * GROUP, GROUP)
    before = replicas[0].health()["last_check_at"]
    stock(*again)  # phase 2
    wait_posts(2 * GROUP + len(again), 2 * GROUP)
    time.sleep(1)  # a duplicate from another process would arrive about now
    assert {sku: len(alerts(slack, sku)) for sku in skus} == {sku: 1 + (sku in again) for sku in skus}
    assert {sku: len(recoveries(slack, sku)) for sku in skus} == {sku: 1 for sku in skus}

    healths = [replica.health() for replica in replicas]
    [leader] = [replica for replica, health in zip(replicas, healths) if health["leader"]]
    holders = {health["lease_holder"] for health in healths}
    assert len(holders) == 1 and f":{leader.process.pid}:" in holders.pop()
    # the leader finishes the phase-2 check (last_check_at moves), then dies without a word
    deadline = time.monotonic() + 2 * INTERVAL
    while leader.health()["last_check_at"] == before:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    last_check = leader.health()["last_check_at"]
    stock(*last)  # phase 3, checked by a survivor: the phase-2 crossings recover, `last` cross again
    leader.process.kill()
    killed = time.monotonic()
    leader.process.wait(timeout=10)
    survivors = [replica for replica in replicas if replica is not leader]
    while all(replica.health()["last_check_at"] == last_check for replica in survivors):
        assert time.monotonic() - killed < 2 * INTERVAL, "no survivor checked within two check intervals"
        time.sleep(0.1)
    took_over = time.monotonic() - killed
    assert took_over < 2 * INTERVAL
    wait_posts(2 * GROUP + len(again) + len(last), 2 * GROUP + len(again), timeout=INTERVAL)
    time.sleep(2)  # a late duplicate would show up here
    assert sum(replica.health()["leader"] for replica in survivors) == 1

    # every crossing alerted once and every recovery replied once, across all three processes
    assert {sku: len(alerts(slack, sku)) for sku in skus} == {sku: 1 + (sku in again + last) for sku in skus}
    assert {sku: len(recoveries(slack, sku)) for sku in skus} == {sku: 1 + (sku in again) for sku in skus}
    print(f"takeover: a survivor checked {took_over:.1f} s after the leader was killed (interval {INTERVAL} s)")


def test_a_second_process_on_one_sqlite_file_is_refused(database_url, slack, stock_file, replicas):
    if is_postgres(database_url):
        pytest.skip("SQLite only: Postgres runs replicas (the test above)")
    env = stockbot_env(slack, database_url, stock_file)
    first = Replica(env)
    replicas.append(first)
    health = first.wait_healthy()
    assert health["leader"] is True and f":{first.process.pid}:" in health["lease_holder"]
    second = subprocess.run(stockbot("run"), env={**env, "PORT": str(free_port())}, capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 2
    path = os.path.abspath(database_url.removeprefix("sqlite:///"))
    assert second.stderr.strip().endswith(
        f"stockbot: another Stockbot process is already running on {path} (pid {first.process.pid}). "
        f"SQLite supports one process; use Postgres (DATABASE_URL) to run replicas.")
    worker = subprocess.run(stockbot("worker"), env=env, capture_output=True, text=True, timeout=60)
    assert worker.returncode == 2 and "another Stockbot process is already running" in worker.stderr
    # a web process without a scheduler may share the file (its checks wait for each other's)
    web = Replica({**env, "RUN_SCHEDULER": "false"})
    replicas.append(web)
    assert web.wait_healthy()["leader"] is False
    # the first stops cleanly: its lease is released and the file is free for the next process
    stop(first.process)
    assert first.process.returncode == 0
    assert web.health()["lease_holder"] is None
    third = Replica(env)
    replicas.append(third)
    assert third.wait_healthy()["leader"] is True
