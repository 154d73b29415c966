"""Issue 14, points 3 and 4: body caps, malformed signature headers, replayed requests and
Slack's event retries, all through the real HTTP server and a real database."""

from __future__ import annotations

import json
import logging
import socket
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.slack_guard import SLACK_MAX_BODY_BYTES
from bot.web import MAX_PUSH_BYTES
from storage.db import Session
from storage.models import Reorder, Stock
from tests.conftest import http, sign

DM = "D0GUARD"


def reorder_body(bot, key: str = "replayed") -> str:
    return urlencode({
        "token": "legacy", "team_id": "T0TEST", "channel_id": "C0WORK", "user_id": "U0BUYER", "user_name": "buyer",
        "command": "/reorder", "text": "SKU1 500 note first", "api_app_id": "A0STOCK",
        "response_url": bot.slack.response_url(key), "trigger_id": "trigger-replay",
    })


def reorders(bot) -> list[Reorder]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(Reorder)).all())


def tracebacks(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.exc_info]


def test_a_signed_request_replayed_within_the_window_is_executed_once(bot, slack):
    bot.ask("/threshold", "set SKU1 100")
    body = reorder_body(bot)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}

    answers = [http("POST", bot.url + "/slack/events", body, headers) for _ in range(3)]

    assert [a.status for a in answers] == [200, 200, 200]
    assert answers[1].body == answers[2].body == ""  # a bare acknowledgement: Slack shows nothing
    bot.settle()
    assert slack.wait_for_response("replayed")["text"].startswith("📦")
    time.sleep(0.3)
    assert len(reorders(bot)) == 1
    assert len(slack.responses("replayed")) == 1


def test_a_replay_is_refused_by_another_process_sharing_the_database(start_bot, slack):
    first, second = start_bot(), start_bot()
    first.ask("/threshold", "set SKU1 100")
    body = reorder_body(first)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}

    assert http("POST", first.url + "/slack/events", body, headers).status == 200
    assert http("POST", second.url + "/slack/events", body, headers).status == 200

    first.settle()
    second.settle()
    assert len(reorders(first)) == 1


def dm_event(event_id: str) -> str:
    return json.dumps({"token": "legacy", "team_id": "T0TEST", "api_app_id": "A0STOCK", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()),
                       "event": {"type": "message", "channel": DM, "channel_type": "im", "user": "U0BUYER",
                                 "text": "hello", "ts": "1764000000.000100"}})


def test_slack_retries_of_an_event_are_processed_once_even_after_a_restart(start_bot, slack):
    first = start_bot()
    body = dm_event("Ev0RETRY1")
    assert first.post_signed(body, content_type="application/json").status == 200
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") == DM)
    first.settle()
    first.stop()

    restarted = start_bot()
    time.sleep(1.1)  # a new timestamp, so a new signature: only the event id is the same
    for retry in ("1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        result = restarted.post_signed(body, content_type="application/json", headers=headers)
        assert result.status == 200
    restarted.settle()
    time.sleep(0.3)
    assert len(slack.posts(channel=DM)) == 1

    # A different event is still processed.
    assert restarted.post_signed(dm_event("Ev0OTHER"), content_type="application/json").status == 200
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") == DM, count=2)


@pytest.mark.parametrize("timestamp, signature", [
    ("abc", None), ("", None), ("12.5", None), ("1" * 40, None), ("-1", None),
    (None, "v0=zz"), (None, "sha256=" + "0" * 64), (None, "v0=" + "0" * 64 + "\u00e9"),
], ids=["letters", "empty", "decimal", "huge", "negative", "not-hex", "other-scheme", "non-ascii"])
def test_a_malformed_signature_header_is_a_401_without_a_traceback(bot, slack, caplog, timestamp, signature):
    caplog.set_level(logging.INFO)
    body = reorder_body(bot)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature

    result = http("POST", bot.url + "/slack/events", body, {k: v.encode("utf-8").decode("latin-1")
                                                           for k, v in headers.items()})

    assert result.status == 401
    assert json.loads(result.body) == {"error": "invalid request"}
    assert tracebacks(caplog) == []
    assert reorders(bot) == []


def test_a_body_over_the_slack_cap_is_413_and_never_logged(bot, slack, caplog):
    caplog.set_level(logging.DEBUG)
    marker = "SECRETMARKER"
    body = "text=" + marker + "x" * (SLACK_MAX_BODY_BYTES + 10)

    result = http("POST", bot.url + "/slack/events", body,
                  {"Content-Type": "application/x-www-form-urlencoded", **sign(body)})

    assert result.status == 413
    assert all(marker not in record.getMessage() for record in caplog.records)
    assert all(len(record.getMessage()) < 1000 for record in caplog.records)
    # Just under the cap is read and judged on its signature, as usual.
    small = "text=" + "x" * 1000
    assert http("POST", bot.url + "/slack/events", small, {"Content-Type": "application/x-www-form-urlencoded"}
                ).status == 401


def raw_post(url: str, path: str, claimed_length: int, sent: bytes) -> int:
    """A POST that claims a body length and sends only `sent`: the answer must come without the rest."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Authorization: Bearer push-token\r\nContent-Length: {claimed_length}\r\n\r\n".encode() + sent)
        answer = conn.recv(200).decode("latin-1")
    return int(answer.split(" ", 2)[1])


def test_a_webhook_over_its_cap_is_413(start_bot):
    bot = start_bot(tiktok_env=(("TIKTOK_APP_KEY", "k"), ("TIKTOK_APP_SECRET", "s"), ("TIKTOK_SHOP_CIPHER", "c"),
                                ("TIKTOK_ACCESS_TOKEN", "a")))
    result = http("POST", bot.url + "/webhooks/tiktok", "{" + " " * (1024 * 1024), {"Content-Type": "application/json"})
    assert result.status == 413


def test_the_documented_100000_item_push_fits_under_its_cap(start_bot):
    items = [{"sku": f"SKU-{n:06d}", "available": 1_000_000, "warehouse": "US-WEST-LONG-NAME",
              "name": "A fairly long product name, as ERPs send them", "on_order": 100_000} for n in range(100_000)]
    assert len(json.dumps({"items": items}).encode()) < MAX_PUSH_BYTES


def test_a_push_announcing_more_than_its_cap_gets_413_at_once_and_stores_nothing(start_bot):
    bot = start_bot(stock_push_token="push-token")
    assert raw_post(bot.url, "/api/stock", MAX_PUSH_BYTES + 1, b'{"items": [') == 413
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(Stock)).all() == []
    # The server still answers: the refused body did not wedge it.
    assert http("GET", bot.url + "/healthz").status == 200
