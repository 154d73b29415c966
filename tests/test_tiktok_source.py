"""TikTok Shop as a stock source, end to end: the bot reads a (loopback) TikTok Shop Open
API on its checks, turns orders into daily sales, and acts on signed webhooks at once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from storage import repo
from storage.db import Session
from storage.models import SalesDay, Stock
from tests import tiktok_server as tts
from tests.conftest import http, wait_until
from tests.tiktok_server import TikTokShopServer

OPS_CHANNEL = "C0OPS"
SOURCE = "tiktok:tiktok"


@pytest.fixture
def shop():
    server = TikTokShopServer().start()
    server.warehouse_id = server.add_warehouse("US-WEST")
    yield server
    server.stop()


def tiktok_env(server: TikTokShopServer, **extra: str) -> tuple[tuple[str, str], ...]:
    env = {"TIKTOK_APP_KEY": tts.APP_KEY, "TIKTOK_APP_SECRET": tts.APP_SECRET, "TIKTOK_SHOP_CIPHER": tts.SHOP_CIPHER,
           "TIKTOK_ACCESS_TOKEN": server.access_token, "TIKTOK_REFRESH_TOKEN": server.refresh_token,
           "TIKTOK_API_URL": server.url, "TIKTOK_AUTH_URL": server.url, **extra}
    return tuple(sorted(env.items()))


@pytest.fixture
def tiktok_bot(start_bot, shop):
    return start_bot(stock_source="", tiktok_env=tiktok_env(shop), ops_channel=OPS_CHANNEL)


def stored(bot) -> dict[tuple[str, str], tuple[int, str, str | None]]:
    with Session(bot.ctx.engine) as session:
        return {(r.sku, r.warehouse): (r.available, r.source, r.name) for r in session.exec(select(Stock)).all()}


def sales(bot) -> dict[tuple[str, str], int]:
    """Units per SKU and day, all warehouses; days whose lines were all cancelled drop out."""
    totals: dict[tuple[str, str], int] = {}
    with Session(bot.ctx.engine) as session:
        for row in session.exec(select(SalesDay)).all():
            key = (row.sku, row.day.isoformat())
            totals[key] = totals.get(key, 0) + row.units
    return {key: units for key, units in totals.items() if units}


def webhook(bot, payload: dict, secret: str = tts.APP_SECRET):
    body = json.dumps(payload)
    signature = hmac.new(secret.encode(), tts.APP_KEY.encode() + body.encode(), hashlib.sha256).hexdigest()
    return http("POST", bot.url + "/webhooks/tiktok", body,
                {"Content-Type": "application/json", "Authorization": signature})


def inventory_event(product, notification_id: str = "7327146171043743534") -> dict:
    return {"type": 27, "tts_notification_id": notification_id, "shop_id": "7494049642642441621",
            "timestamp": int(time.time()),
            "data": {"product_id": product.id, "sku_id": product.skus[0].id,
                     "current_inventory_status": "OUT_OF_STOCK", "update_time": int(time.time())}}


def test_a_check_reads_every_tiktok_product_and_alerts(tiktok_bot, shop, slack):
    west = shop.warehouse_id
    east = shop.add_warehouse("US-EAST")
    shop.add_product("SKU123", {west: 600, east: 300}, title="Red dress")
    shop.add_product("SKU9", {west: 5000})
    tiktok_bot.ask("/threshold", "set SKU123 1500")
    report = tiktok_bot.checker.run_check()
    assert report.source_errors == [] and report.posted == ["SKU123:WARNING"]
    assert stored(tiktok_bot) == {("SKU123", "US-WEST"): (600, SOURCE, "Red dress"),
                                  ("SKU123", "US-EAST"): (300, SOURCE, "Red dress"),
                                  ("SKU9", "US-WEST"): (5000, SOURCE, "Product SKU9")}
    [alert] = [p for p in slack.posts() if "SKU123" in p.get("text", "")]
    assert alert["text"] == "WARNING: SKU123 available 900 (warning level 1,500)"
    assert "Red dress" in json.dumps(alert["blocks"])
    # Every call was signed and carried the shop cipher (the server refuses anything else).
    assert shop.count(tts.PRODUCTS) == 1 and shop.count(tts.INVENTORY) == 1


def test_orders_become_daily_sales_and_cancelled_lines_do_not_count(tiktok_bot, shop):
    shop.add_product("SKU123", {shop.warehouse_id: 600})
    day = int(datetime(2026, 11, 20, 12, tzinfo=timezone.utc).timestamp())
    shop.add_order("A1", ["SKU123", "SKU123", "SKU123"], create_time=day, warehouse_id=shop.warehouse_id)
    shop.add_order("A2", ["SKU123"], create_time=day + 86400, warehouse_id=shop.warehouse_id)
    shop.add_order("A3", ["SKU123", "SKU123"], create_time=day + 86400, status="CANCELLED")
    assert tiktok_bot.checker.run_check().source_errors == []
    assert sales(tiktok_bot) == {("SKU123", "2026-11-20"): 3, ("SKU123", "2026-11-21"): 1}
    # A2 is cancelled later: the next sync sees it again (updated) and takes it back out.
    order = next(o for o in shop.orders if o["id"] == "A2")
    order["status"], order["update_time"] = "CANCELLED", int(time.time())
    for line in order["line_items"]:
        line["display_status"] = "CANCELLED"
    assert tiktok_bot.checker.run_check().source_errors == []
    assert sales(tiktok_bot) == {("SKU123", "2026-11-20"): 3}
    # Syncing again changes nothing: orders seen twice never count twice.
    tiktok_bot.checker.run_check()
    assert sales(tiktok_bot) == {("SKU123", "2026-11-20"): 3}
    # The second sync asked only for orders updated since the first (less a small overlap).
    bodies = [call.body for call in shop.calls if call.path == tts.ORDERS]
    assert bodies[1]["update_time_ge"] > bodies[0]["update_time_ge"] + 29 * 86400


def test_a_tiktok_failure_mid_read_changes_nothing_and_is_reported_once(tiktok_bot, shop, slack):
    products = [shop.add_product(f"SKU{n}", {shop.warehouse_id: 900}) for n in range(250)]
    tiktok_bot.ask("/threshold", "set SKU1 1000")
    assert tiktok_bot.checker.run_check().posted == ["SKU1:WARNING"]
    for product in products:  # everything sells out...
        product.skus[0].quantities[shop.warehouse_id] = 0
    # ...but the read breaks on page 2 (HTTP 500 is not retried; 36009003 would be, with backoff)
    shop.fail(tts.INVENTORY, status=500, times=-1, after=1)
    for _ in range(2):
        report = tiktok_bot.checker.run_check()
        assert report.posted == [] and len(report.source_errors) == 1
        assert "HTTP 500" in report.source_errors[0]
    assert {row[0] for row in stored(tiktok_bot).values()} == {900}  # the last good read stays
    failures = slack.posts(channel=OPS_CHANNEL)
    assert len(failures) == 1 and f"`{SOURCE}`" in failures[0]["text"]
    assert not [p for p in slack.posts() if "OUT OF STOCK" in p.get("text", "")]
    serialized = json.dumps([c.params for c in slack.calls])
    assert tts.APP_SECRET not in serialized and shop.access_token not in serialized


def test_an_expired_token_is_refreshed_and_kept_for_the_next_start(start_bot, tiktok_bot, shop):
    shop.add_product("SKU123", {shop.warehouse_id: 600})
    shop.expire_access_token()
    assert tiktok_bot.checker.run_check().source_errors == []
    assert shop.access_token != tts.FIRST_ACCESS_TOKEN and shop.refresh_token != tts.FIRST_REFRESH_TOKEN
    # The old refresh token in the environment is no longer valid at TikTok: a restarted bot
    # (a new process: no cached client) must use the rotated one it stored.
    from bot.sources import tiktok_source

    tiktok_source._clients.clear()
    restarted = start_bot(stock_source="", tiktok_env=tiktok_bot.settings.tiktok_env, ops_channel=OPS_CHANNEL)
    shop.expire_access_token()
    assert restarted.checker.run_check().source_errors == []
    with Session(restarted.ctx.engine) as session:
        saved = repo.get_meta(session, "tiktok_tokens:tiktok")
    assert json.loads(saved)["refresh_token"] == shop.refresh_token


def test_a_signed_webhook_updates_the_sku_and_alerts_within_seconds(tiktok_bot, shop, slack):
    product = shop.add_product("SKU123", {shop.warehouse_id: 2000})
    tiktok_bot.ask("/threshold", "set SKU123 1500")
    tiktok_bot.checker.run_check()
    assert not [p for p in slack.posts() if "SKU123" in p.get("text", "")]
    product.skus[0].quantities[shop.warehouse_id] = 0  # a live stream sells it out
    shop.reset_counts()
    started = time.monotonic()
    result = webhook(tiktok_bot, inventory_event(product))
    assert result.status == 200 and result.json() == {"ok": True, "duplicate": False}
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=5)
    assert time.monotonic() - started < 3
    assert alert["text"].startswith("OUT OF STOCK: SKU123 available 0")
    # Only that product was read again, not the whole catalogue.
    assert shop.count(tts.INVENTORY) == 1 and shop.count(tts.PRODUCTS) == 0
    # TikTok retries a push it thinks failed: the same notification is taken once.
    again = webhook(tiktok_bot, inventory_event(product))
    assert again.status == 200 and again.json() == {"ok": True, "duplicate": True}
    time.sleep(0.3)  # give a wrongly accepted redelivery time to reach TikTok
    assert shop.count(tts.INVENTORY) == 1


@pytest.mark.parametrize("secret, body_change, status", [
    ("not-the-app-secret", None, 401),
    (tts.APP_SECRET, "tampered", 401),
])
def test_a_webhook_with_a_bad_signature_is_refused(tiktok_bot, shop, secret, body_change, status):
    product = shop.add_product("SKU123", {shop.warehouse_id: 0})
    payload = inventory_event(product)
    body = json.dumps(payload)
    signature = hmac.new(secret.encode(), tts.APP_KEY.encode() + body.encode(), hashlib.sha256).hexdigest()
    if body_change:
        body = body.replace("OUT_OF_STOCK", "IN_STOCK")
    result = http("POST", tiktok_bot.url + "/webhooks/tiktok", body,
                  {"Content-Type": "application/json", "Authorization": signature})
    assert result.status == status and tts.APP_SECRET not in result.body
    time.sleep(0.2)
    assert shop.count(tts.INVENTORY) == 0 and stored(tiktok_bot) == {}


def test_a_webhook_that_is_not_json_gets_400(tiktok_bot):
    body = "type=27"
    signature = hmac.new(tts.APP_SECRET.encode(), tts.APP_KEY.encode() + body.encode(), hashlib.sha256).hexdigest()
    result = http("POST", tiktok_bot.url + "/webhooks/tiktok", body, {"Authorization": signature})
    assert result.status == 400 and result.json()["ok"] is False


def test_the_webhook_path_is_404_without_tiktok_settings(bot):
    result = http("POST", bot.url + "/webhooks/tiktok", "{}", {"Authorization": "x"})
    assert result.status == 404


def test_an_order_webhook_records_the_sale_and_rereads_that_sku(tiktok_bot, shop, slack):
    product = shop.add_product("SKU123", {shop.warehouse_id: 1600})
    tiktok_bot.ask("/threshold", "set SKU123 1500")
    tiktok_bot.checker.run_check()
    product.skus[0].quantities[shop.warehouse_id] = 1400
    order = shop.add_order("A9", ["SKU123"] * 200, warehouse_id=shop.warehouse_id)
    result = webhook(tiktok_bot, {"type": 1, "tts_notification_id": "n-order-1", "shop_id": "1",
                                  "timestamp": int(time.time()),
                                  "data": {"order_id": order["id"], "order_status": "AWAITING_SHIPMENT"}})
    assert result.status == 200
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""), timeout=5)
    assert alert["text"] == "WARNING: SKU123 available 1,400 (warning level 1,500)"
    today = datetime.fromtimestamp(order["create_time"], tz=timezone.utc).date().isoformat()
    wait_until(lambda: sales(tiktok_bot) == {("SKU123", today): 200})


@pytest.mark.parametrize("age_hours", [74, -2])  # older than TikTok retries for; or from the future
def test_a_webhook_with_a_stale_timestamp_is_refused(tiktok_bot, shop, age_hours):
    product = shop.add_product("SKU123", {shop.warehouse_id: 0})
    payload = inventory_event(product)
    payload["timestamp"] = int(time.time()) - age_hours * 3600
    result = webhook(tiktok_bot, payload)  # correctly signed: only the time is wrong
    assert result.status == 401 and result.json()["error"] == "stale timestamp"
    time.sleep(0.2)
    assert shop.count(tts.INVENTORY) == 0 and stored(tiktok_bot) == {}


def test_old_deliveries_are_forgotten(tiktok_bot, shop):
    from bot.sources import tiktok_source
    from storage.models import WebhookDelivery

    with Session(tiktok_bot.ctx.engine) as session:
        session.add(WebhookDelivery(key="tiktok:old", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
        session.commit()
    tiktok_source._last_prune[0] = datetime.min.replace(tzinfo=timezone.utc)
    product = shop.add_product("SKU123", {shop.warehouse_id: 5})
    assert webhook(tiktok_bot, inventory_event(product)).status == 200
    wait_until(lambda: ("SKU123", "US-WEST") in stored(tiktok_bot))  # the background re-read is done
    with Session(tiktok_bot.ctx.engine) as session:
        keys = {row.key for row in session.exec(select(WebhookDelivery)).all()}
    assert keys == {"tiktok:7327146171043743534"}


def test_skus_in_overseas_warehouses_default_to_the_long_lead_time(tiktok_bot, shop, slack):
    uk = shop.add_warehouse("UK-FBT", "CB_OVERSEA_WAREHOUSE")
    shop.add_product("SKU-UK", {uk: 500})
    shop.add_product("SKU-US", {shop.warehouse_id: 500})
    tiktok_bot.checker.run_check()

    def lead_line(sku):
        result = tiktok_bot.command("/threshold", f"calc {sku} daily 10 safety 0")
        return slack.wait_for_response(result.response_key)["text"].split("\n")[1]

    assert lead_line("SKU-UK") == "  10/day × 21 days lead time = 210"  # TikTok says CB_OVERSEA_WAREHOUSE
    assert lead_line("SKU-US") == "  10/day × 3 days lead time = 30"  # domestic
    tiktok_bot.ask("/threshold", "lead SKU-UK 35")
    assert lead_line("SKU-UK") == "  10/day × 35 days lead time = 350"  # the SKU's own lead time wins
