"""`stockbot run` in Socket Mode: no public URL, Slack's events arrive over a websocket.

The real process connects to a loopback Socket Mode server (what apps.connections.open on
the loopback Web API hands out), and the test plays Slack: it pushes a slash command and a
button press as envelopes and reads the acks, the response_url reply and the Web API calls.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from sqlmodel import select

from storage.db import make_engine
from storage.db import session as open_session
from storage.models import Alert
from tests.conftest import ALERT_CHANNEL, http, wait_until, write_stock
from tests.slack_server import APP_TOKEN, BOT_TOKEN
from tests.socket_mode_server import SocketModeServer
from tests.test_cli import free_port, stockbot, stockbot_env, stop


@pytest.fixture
def socket_mode(slack):
    server = SocketModeServer().start()
    slack.socket_mode_url = server.url
    yield server
    server.stop()


@pytest.fixture
def socket_mode_process(slack, socket_mode, database_url, stock_file):
    port = free_port()
    env = stockbot_env(slack, database_url, stock_file, PORT=str(port), SLACK_APP_TOKEN=APP_TOKEN)
    env.pop("SLACK_SIGNING_SECRET")  # Socket Mode needs no signing secret
    process = subprocess.Popen(stockbot("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        socket_mode.wait_for_connection(timeout=30)
    except AssertionError:
        process.kill()
        raise AssertionError("stockbot run did not connect in Socket Mode:\n" + process.communicate()[0])
    yield process, f"http://127.0.0.1:{port}"
    output = stop(process)
    assert APP_TOKEN not in output and BOT_TOKEN not in output, "tokens must never be logged"


def stored_ts(database_url: str, sku: str):
    engine = make_engine(database_url)
    try:
        with open_session(engine) as session:
            alert = session.exec(select(Alert).where(Alert.sku == sku)).first()
            return alert.ts if alert else None
    finally:
        engine.dispose()


def test_socket_mode_serves_commands_and_buttons(socket_mode_process, socket_mode, slack, stock_file, database_url):
    process, health_url = socket_mode_process
    [opened] = slack.of("apps.connections.open")
    assert "token" not in opened.params  # the app token travels in the Authorization header

    write_stock(stock_file, {"SKU123": 1400})
    started = time.monotonic()
    envelope = socket_mode.push_slash_command("/threshold", "set SKU123 1500", slack.response_url("sm"))
    socket_mode.wait_for_ack(envelope, timeout=3)
    assert time.monotonic() - started < 3, "Slack must get its ack within 3 s"
    assert "1,500" in slack.wait_for_response("sm", timeout=10)["text"]

    # Setting the level checks the SKU at once: 1 400 available is at the warning level.
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=15)
    assert alert["channel"] == ALERT_CHANNEL and alert["text"].startswith("WARNING")
    [button] = [element for block in alert["blocks"] if block["type"] == "actions"
                for element in block["elements"] if element["action_id"] == "ack_restock"]
    ts = next(ts for (channel, ts), message in slack.messages.items() if message is alert)
    # A person cannot press the button before the app has stored the message's ts; a test can.
    wait_until(lambda: stored_ts(database_url, "SKU123") == ts, timeout=5)

    envelope = socket_mode.push_interactive({
        "type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": "U0WAREHOUSE", "name": "warehouse"},
        "api_app_id": "A0STOCK", "trigger_id": "trigger-sm-2",
        "container": {"type": "message", "message_ts": ts, "channel_id": ALERT_CHANNEL},
        "channel": {"id": ALERT_CHANNEL}, "message": {"ts": ts, "text": alert["text"]},
        "response_url": slack.response_url("sm-button"),
        "actions": [{"action_id": "ack_restock", "block_id": "alert", "value": button["value"], "type": "button",
                     "action_ts": f"{time.time():.6f}"}],
    })
    socket_mode.wait_for_ack(envelope, timeout=3)
    [update] = slack.wait_for("chat.update", lambda p: p.get("ts") == ts, timeout=10)
    assert "U0WAREHOUSE" in json.dumps(update["blocks"])  # who acknowledged it

    # The health check still answers on PORT, and nothing went wrong on the wire.
    assert http("GET", health_url + "/healthz").json()["ok"] is True
    assert socket_mode.protocol_errors == []
    assert process.poll() is None


def test_socket_mode_reconnects_when_slack_asks(socket_mode_process, socket_mode, slack):
    socket_mode.request_reconnect()
    socket_mode.wait_for_connection(count=2, timeout=20)
    socket_mode.wait_for_handover()  # Slack, too, delivers on the old connection until it closes
    envelope = socket_mode.push_slash_command("/threshold", "help", slack.response_url("sm-help"))
    ack = socket_mode.wait_for_ack(envelope, timeout=3)
    reply = ack.get("payload", {}).get("text") or slack.wait_for_response("sm-help", timeout=10)["text"]
    assert "/threshold set" in reply


def test_slack_retries_of_an_event_over_the_websocket_are_processed_once(socket_mode_process, socket_mode, slack):
    event = {"token": "legacy", "team_id": "T0TEST", "api_app_id": "A0STOCK", "type": "event_callback",
             "event_id": "Ev0SOCKETRETRY", "event_time": int(time.time()),
             "event": {"type": "message", "channel": "D0SOCKET", "channel_type": "im", "user": "U0BUYER",
                       "text": "hello", "ts": "1764000000.000100"}}
    socket_mode.wait_for_ack(socket_mode.push("events_api", event), timeout=3)
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") == "D0SOCKET", timeout=10)
    for attempt in (1, 2):  # Slack's retries carry the same event id
        socket_mode.wait_for_ack(socket_mode.push("events_api", {**event, "retry_attempt": attempt}), timeout=3)
    other = socket_mode.push("events_api", {**event, "event_id": "Ev0SOCKETOTHER"})
    socket_mode.wait_for_ack(other, timeout=3)
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") == "D0SOCKET", count=2, timeout=10)
    time.sleep(0.5)
    assert len(slack.posts(channel="D0SOCKET")) == 2  # the first event and the other one; no retry ran
