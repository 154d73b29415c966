"""The `stockbot` command as a user runs it: real processes, real ports, real environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest

from tests.conftest import ALERT_CHANNEL, SIGNING_SECRET, http, sign, write_stock
from tests.slack_server import BOT_TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stockbot_env(slack, database_url, stock_file, **extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SLACK_", "STOCK_", "DATABASE_URL", "ALERT_", "THRESHOLD_", "RUN_SCHEDULER"))}
    env.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url, "ALERT_CHANNEL": ALERT_CHANNEL, "STOCK_SOURCE": f"csv:{stock_file}",
        "CHECK_INTERVAL_SECONDS": "10", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def stop(process: subprocess.Popen) -> str:
    """Stop a `stockbot` process as a platform would (SIGTERM, then kill) and return its output."""
    process.terminate()
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def stockbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def test_demo_runs_without_slack(tmp_path):
    result = subprocess.run(stockbot("demo", "--dir", str(tmp_path)), capture_output=True, text=True,
                            timeout=120, env={k: v for k, v in os.environ.items() if not k.startswith("SLACK_")})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "OUT OF STOCK · LED-STRIP-5M" in out and "CRITICAL · 连衣裙-红-XL" in out
    assert "→ posted 0 alerts" in out  # the repeat check
    assert "Acknowledged by" in out and "recovered: available 3,000" in out
    assert "days* of cover" in out and "Suggested reorder" in out  # alerts carry the outlook
    assert "reorder point *1,500* (critical 1,050)" in out  # the seed formula, step 8
    # step 9: by demand class (the demo's weekday pattern depends on today's date: how many read as
    # steady, and whether a trend shows, moves with it; all six get a level)
    assert out.count("🤖 Auto level: ") == 6 and "🤖 Auto level: steady demand, 98% service, lead 7 days" in out
    assert (tmp_path / "stockbot-demo.db").exists()


def test_demo_in_chinese(tmp_path):
    result = subprocess.run(stockbot("demo", "--lang", "zh", "--dir", str(tmp_path)), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "已断货" in result.stdout and "已恢复" in result.stdout


def test_check_command_posts_and_exits(slack, database_url, stock_file, tmp_path):
    env = stockbot_env(slack, database_url, stock_file)
    write_stock(stock_file, {"SKU123": 10})
    # thresholds come from Slack normally; here the first run has none, so nothing is posted
    first = subprocess.run(stockbot("check"), capture_output=True, text=True, timeout=60, env=env)
    assert first.returncode == 0, first.stderr
    assert "posted 0 alerts" in first.stdout
    assert BOT_TOKEN not in first.stdout + first.stderr


def test_check_reports_a_broken_source_with_exit_1(slack, database_url, tmp_path):
    env = stockbot_env(slack, database_url, tmp_path / "missing.csv")
    result = subprocess.run(stockbot("check"), capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "file not found" in result.stderr
    assert BOT_TOKEN not in result.stdout + result.stderr


def test_run_without_token_explains_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(stockbot("run"), capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and ".env.example" in result.stderr


@pytest.fixture
def running_process(slack, database_url, stock_file):
    port = free_port()
    env = stockbot_env(slack, database_url, stock_file, PORT=str(port))
    process = subprocess.Popen(stockbot("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if http("GET", base + "/healthz").status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("stockbot run did not answer /healthz: " + (process.stdout.read() if process.stdout else ""))
    yield process, base
    output = stop(process)
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output


def test_run_serves_slack_and_schedules_checks(running_process, slack, stock_file):
    process, base = running_process
    write_stock(stock_file, {"SKU123": 1400})
    body = urlencode({"command": "/threshold", "text": "set SKU123 1500", "user_id": "U0BUYER",
                      "channel_id": "C0WORK", "team_id": "T0TEST", "response_url": slack.response_url("cli"),
                      "trigger_id": "t1"})
    result = http("POST", base + "/slack/events", body,
                  {"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    assert result.status == 200
    assert "1,500" in slack.wait_for_response("cli", timeout=10)["text"]
    # setting the threshold checks that SKU at once (the scheduler ran its first check at startup)
    [post] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=15)
    assert post["text"].startswith("WARNING")
    health = http("GET", base + "/healthz").json()
    assert health["ok"] is True and health["last_check_at"]
    forged = http("POST", base + "/slack/events", body,
                  {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret="wrong")})
    assert forged.status == 401
    # the next scheduled check (CHECK_INTERVAL_SECONDS=10) picks up a new stock file by itself
    write_stock(stock_file, {"SKU123": 0})
    [out] = slack.wait_for("chat.postMessage", lambda p: p.get("text", "").startswith("OUT OF STOCK"), timeout=25)
    assert "SKU123" in out["text"]


def test_worker_runs_checks_without_serving_http(slack, database_url, stock_file):
    from storage import repo
    from storage.db import make_engine, session

    engine = make_engine(database_url)
    with session(engine) as db:
        repo.save_threshold(db, "SKU777", 100, 50, None, "U0ADMIN", repo.utcnow())
        db.commit()
    engine.dispose()
    write_stock(stock_file, {"SKU777": 60})
    process = subprocess.Popen(stockbot("worker"), env=stockbot_env(slack, database_url, stock_file),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        [post] = slack.wait_for("chat.postMessage", lambda p: "SKU777" in p.get("text", ""), timeout=30)
        assert post["text"].startswith("WARNING")
    finally:
        stop(process)


def test_check_dry_run_prints_what_it_would_post_without_token_or_writes(slack, database_url, stock_file):
    from sqlmodel import select

    from storage import repo
    from storage.db import Session, make_engine
    from storage.models import Alert, Episode, SourceState, Stock

    engine = make_engine(database_url)
    with Session(engine) as session:
        repo.save_threshold(session, "SKU123", 1500, 750, repo.KEEP, "U0ADMIN", repo.utcnow(), repo.KEEP)
        repo.save_threshold(session, "SKU456", 100, 50, repo.KEEP, "U0ADMIN", repo.utcnow(), repo.KEEP)
        session.commit()
    stock_file.write_text("sku,name,available\nSKU123,Red <!channel> dress,40\nSKU456,Blue,5000\nNEW1,x,3\n",
                          encoding="utf-8")
    env = stockbot_env(slack, database_url, stock_file)
    del env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"]
    result = subprocess.run(stockbot("check", "--dry-run"), capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"--- would post to {ALERT_CHANNEL} ---\n*🔴 CRITICAL · SKU123*\nRed <!channel> dress\n" in out
    assert "*Available*: 40" in out and "[ Acknowledge ]" in out
    assert "SKU456" not in out  # above its level: nothing to post
    assert "2 SKUs with a threshold; would post 1 messages; 1 SKUs in the read have no threshold" in out
    assert slack.calls == []  # nothing reached Slack
    with Session(engine) as session:  # and nothing was stored: no stock, no alert state, no source state
        for table in (Stock, Episode, Alert, SourceState):
            assert session.exec(select(table)).all() == [], table
    engine.dispose()

    stock_file.write_text("sku,available\nSKU123,many\n", encoding="utf-8")  # a broken export
    broken = subprocess.run(stockbot("check", "--dry-run"), capture_output=True, text=True, timeout=60, env=env)
    assert broken.returncode == 1
    assert "could not be read" in broken.stdout and "line 2" in broken.stdout and "SKU123" in broken.stdout
