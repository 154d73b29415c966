"""POST /api/stock and /api/sales: any ERP/WMS pushes stock and sales over HTTP."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
from sqlmodel import select

from storage import repo
from storage.db import Session
from storage.models import SalesDay, SourceState, Stock
from tests.conftest import ALERT_CHANNEL, http

PUSH_TOKEN = "push-token-for-tests"


@pytest.fixture
def pushbot(start_bot):
    return start_bot(stock_push_token=PUSH_TOKEN)


def push(bot, path: str, payload, token: str | None = PUSH_TOKEN):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http("POST", bot.url + path, body, headers)


def stock(bot) -> dict[tuple[str, str], tuple[int, int | None]]:
    with Session(bot.ctx.engine) as session:
        return {(r.sku, r.warehouse): (r.available, r.on_order) for r in session.exec(select(Stock)).all()}


def sales(bot) -> dict[tuple[str, date], int]:
    with Session(bot.ctx.engine) as session:
        return {(r.sku, r.day): r.units for r in session.exec(select(SalesDay)).all()}


@pytest.mark.parametrize("token, hint", [(None, "Bearer"), ("wrong-token", "Bearer"), ("", "Bearer")])
def test_push_without_the_right_token_is_refused(pushbot, token, hint):
    result = push(pushbot, "/api/stock", {"items": [{"sku": "SKU123", "available": 5}]}, token=token)
    assert result.status == 401 and hint in result.json()["error"]
    assert PUSH_TOKEN not in result.body
    assert stock(pushbot) == {}


def test_push_is_off_until_a_token_is_set(bot):
    result = push(bot, "/api/stock", {"items": [{"sku": "SKU123", "available": 5}]}, token="")
    assert result.status == 401 and "STOCK_PUSH_TOKEN" in result.json()["error"]


def test_pushed_stock_is_stored_and_alerts_within_a_second(pushbot, slack):
    pushbot.ask("/threshold", "set SKU123 1500")
    pushbot.ask("/threshold", "set 连衣裙-红-XL 100")
    slack.reset()
    started = time.monotonic()
    result = push(pushbot, "/api/stock", {"items": [
        {"sku": "SKU123", "available": 600, "warehouse": "US-WEST"},
        {"sku": "SKU123", "available": 100, "warehouse": "US-EAST"},
        {"sku": "连衣裙-红-XL", "available": 500, "name": "连衣裙 红 XL"},
    ]})
    assert result.status == 200, result.body
    assert result.json() == {"ok": True, "received": 3, "skus": 2}
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert alert["channel"] == ALERT_CHANNEL
    assert alert["text"] == "CRITICAL: SKU123 available 700 (critical level 750)"
    assert stock(pushbot) == {("SKU123", "US-WEST"): (600, None), ("SKU123", "US-EAST"): (100, None),
                              ("连衣裙-红-XL", ""): (500, None)}
    time.sleep(0.3)
    assert [p for p in slack.posts() if "连衣裙" in p["text"]] == []  # 500 is above its level of 100


def test_a_push_only_touches_the_skus_it_names(pushbot):
    push(pushbot, "/api/stock", {"items": [{"sku": "A", "available": 1}, {"sku": "B", "available": 2}]})
    push(pushbot, "/api/stock", {"items": [{"sku": "A", "available": 10}]})
    assert stock(pushbot) == {("A", ""): (10, None), ("B", ""): (2, None)}
    with Session(pushbot.ctx.engine) as session:
        state = session.get(SourceState, "push")
        assert state.rows_read == 1 and state.last_written_at is None  # pushes never make others stale


def test_on_order_from_the_erp_holds_back_a_warning_but_not_critical(pushbot, slack):
    pushbot.ask("/threshold", "set SKU123 1500")
    push(pushbot, "/api/stock", {"items": [{"sku": "SKU123", "available": 1400, "on_order": 2000}]})
    time.sleep(0.5)
    assert [p for p in slack.posts() if "SKU123" in p.get("text", "")] == []
    push(pushbot, "/api/stock", {"items": [{"sku": "SKU123", "available": 700}]})  # on_order kept
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=2)
    assert alert["text"].startswith("CRITICAL")
    assert "2,000" in json.dumps(alert["blocks"])  # the inbound quantity is shown
    assert stock(pushbot)[("SKU123", "")] == (700, 2000)


BAD_STOCK = [
    ("not json", None, "not valid JSON"),
    ([1, 2], None, 'a list "items"'),
    ({"items": []}, None, "empty"),
    ({"items": [{"sku": "OK-1", "available": 5}, {"available": 5}]}, 1, "items[1].sku is missing"),
    ({"items": [{"sku": "OK-1", "available": 5}, {"sku": "X", "available": "abc"}]}, 1,
     'items[1].available must be a whole number, got "abc"'),
    ({"items": [{"sku": "OK-1", "available": 5}, {"sku": "X", "available": 1.5}]}, 1, "whole number"),
    ({"items": [{"sku": "OK-1", "available": 5}, {"sku": "X", "available": True}]}, 1, "whole number"),
    ({"items": [{"sku": "OK-1", "available": 5}, {"sku": "X", "available": 5, "on_order": -3}]}, 1,
     "items[1].on_order must be at least 0"),
    ({"items": [{"sku": "OK-1", "available": 5}, {"sku": "S" * 65, "available": 5}]}, 1, "longer than 64"),
    ({"items": [{"sku": "OK-1", "available": 5}, {"sku": "OK-1", "available": 6}]}, 1, "repeats OK-1"),
    ({"items": [{"sku": "OK-1", "available": 5}, "SKU,5"]}, 1, "must be an object"),
]


@pytest.mark.parametrize("payload, item, message", BAD_STOCK)
def test_a_malformed_stock_push_is_refused_whole(pushbot, payload, item, message):
    push(pushbot, "/api/stock", {"items": [{"sku": "OK-1", "available": 42}]})
    before = stock(pushbot)
    result = push(pushbot, "/api/stock", payload)
    assert result.status == 400
    error = result.json()
    assert error["ok"] is False and message in error["error"]
    assert error.get("item") == item
    assert stock(pushbot) == before  # nothing of the body was stored


def test_negative_available_means_oversold(pushbot, slack):
    pushbot.ask("/threshold", "set SKU123 100")
    assert push(pushbot, "/api/stock", {"items": [{"sku": "SKU123", "available": -4}]}).status == 200
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=2)
    assert alert["text"].startswith("OUT OF STOCK")


def test_sales_push_is_stored_and_a_resend_replaces_it(pushbot):
    yesterday = (repo.utcnow().date() - timedelta(days=1))
    items = [{"sku": "SKU123", "date": yesterday.isoformat(), "units": 37},
             {"sku": "SKU123", "date": (yesterday - timedelta(days=1)).isoformat(), "units": 12, "warehouse": "US"}]
    result = push(pushbot, "/api/sales", {"items": items})
    assert result.status == 200 and result.json() == {"ok": True, "received": 2, "skus": 1}
    push(pushbot, "/api/sales", {"items": [{"sku": "SKU123", "date": yesterday.isoformat(), "units": 40}]})
    assert sales(pushbot) == {("SKU123", yesterday): 40, ("SKU123", yesterday - timedelta(days=1)): 12}


@pytest.mark.parametrize("item, message", [
    ({"sku": "SKU123", "date": "20/11/2026", "units": 3}, "must be a date like 2026-11-20"),
    ({"sku": "SKU123", "date": "2026-02-30", "units": 3}, "must be a date like 2026-11-20"),
    ({"sku": "SKU123", "date": "2099-01-01", "units": 3}, "in the future"),
    ({"sku": "SKU123", "date": "2026-11-01", "units": -1}, "units must be at least 0"),
    ({"sku": "SKU123", "date": "2026-11-01"}, "units must be a whole number"),
])
def test_a_malformed_sales_push_is_refused_whole(pushbot, item, message):
    good = {"sku": "SKU9", "date": "2026-11-01", "units": 1}
    result = push(pushbot, "/api/sales", {"items": [good, item]})
    assert result.status == 400 and message in result.json()["error"] and result.json()["item"] == 1
    assert sales(pushbot) == {}


def test_get_is_not_allowed(pushbot):
    assert http("GET", pushbot.url + "/api/stock").status == 405
