"""The TikTok Shop client against the loopback TikTok server, over real sockets."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.sources import SourceError, StockRow
from bot.sources.tiktok import (
    ShopConfig,
    TikTokConfig,
    TikTokShopClient,
    load_tiktok_config,
    parse_webhook,
    read_shop_stock,
    sign_request,
    verify_webhook,
)
from tests import tiktok_server as tts
from tests.tiktok_server import TikTokShopServer


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server():
    srv = TikTokShopServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def fake_time():
    return FakeTime()


def make_client(server: TikTokShopServer, fake_time: FakeTime, *, secret: str = tts.APP_SECRET,
                expire_at: datetime | None = None, seed: int = 7, known_expiry: bool = True,
                **kwargs) -> TikTokShopClient:
    """A client for the loopback shop; its token's expiry is known (a week, as TikTok hands out)
    unless known_expiry=False, as when ..._EXPIRE_AT is not configured."""
    if expire_at is None and known_expiry:
        expire_at = datetime.fromtimestamp(server.access_token_expire_at, tz=timezone.utc)
    config = TikTokConfig(app_key=tts.APP_KEY, app_secret=secret, api_url=server.url, auth_url=server.url)
    shop = ShopConfig(name="us", shop_cipher=tts.SHOP_CIPHER, access_token=server.access_token,
                      refresh_token=server.refresh_token, access_token_expire_at=expire_at)
    config.shops.append(shop)
    kwargs.setdefault("sleep", fake_time.sleep)
    kwargs.setdefault("clock", fake_time.clock)
    return TikTokShopClient(config, shop, rng=random.Random(seed), **kwargs)


def stock_catalogue(server: TikTokShopServer, products: int, warehouses: int = 1) -> list[str]:
    ids = [server.add_warehouse(f"WH{n}") for n in range(1, warehouses + 1)]
    for n in range(products):
        server.add_product(f"SKU-{n:05d}", {wid: n + i for i, wid in enumerate(ids)})
    return ids


# ---- signing -------------------------------------------------------------------------------

def test_signature_matches_the_docs_worked_example():
    # sign-your-api-request.md, "Step-by-step breakdown".
    sign = sign_request("e59af819cc", "/authorization/202309/shops", {"app_key": "29a39d", "timestamp": 1623812664})
    assert sign == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_signature_ignores_sign_and_access_token_and_body_of_multipart():
    params = {"app_key": "29a39d", "timestamp": "1623812664"}
    base = sign_request("e59af819cc", "/authorization/202309/shops", params)
    assert sign_request("e59af819cc", "/authorization/202309/shops",
                        {**params, "sign": "x", "access_token": "y"}) == base
    assert sign_request("e59af819cc", "/p", params, b'{"a":1}', "multipart/form-data; boundary=z") == \
        sign_request("e59af819cc", "/p", params, b"", "multipart/form-data")
    assert sign_request("e59af819cc", "/p", params, b'{"a":1}') != sign_request("e59af819cc", "/p", params)


def test_wrong_app_secret_is_refused_by_the_server(server, fake_time):
    server.add_warehouse("Main")
    client = make_client(server, fake_time, secret="not-the-secret")
    with pytest.raises(SourceError) as caught:
        client.warehouses()
    message = str(caught.value)
    assert str(tts.INVALID_SIGNATURE) in message and "signature" in message
    assert "not-the-secret" not in message and server.access_token not in message


def test_a_stale_timestamp_is_refused_by_the_server(server, fake_time):
    """A machine whose clock is 10 minutes off signs correctly but is refused: the message says why."""
    server.add_warehouse("Main")
    client = make_client(server, fake_time, now=lambda: datetime.now(timezone.utc) - timedelta(minutes=10))
    with pytest.raises(SourceError) as caught:
        client.warehouses()
    assert str(tts.INVALID_SIGNATURE) in str(caught.value) and "timestamp" in str(caught.value)
    assert make_client(server, fake_time).warehouses()[0].name == "Main"  # the same call with the right time


def test_every_request_is_signed_and_carries_the_token(server, fake_time):
    stock_catalogue(server, 3)
    rows = read_shop_stock(make_client(server, fake_time))
    assert len(rows) == 3
    for call in server.calls:
        assert call.headers["x-tts-access-token"] == tts.FIRST_ACCESS_TOKEN
        assert call.query["app_key"] == tts.APP_KEY and call.query["shop_cipher"] == tts.SHOP_CIPHER
        assert len(call.query["sign"]) == 64 and call.query["timestamp"].isdigit()
        assert "access_token" not in call.query and "app_secret" not in call.query


# ---- reading stock -------------------------------------------------------------------------

def test_250_products_take_3_product_pages_and_3_inventory_calls(server, fake_time):
    stock_catalogue(server, 250)
    rows = read_shop_stock(make_client(server, fake_time))
    assert len(rows) == 250
    assert server.count(tts.PRODUCTS) == 3
    assert server.count(tts.INVENTORY) == 3
    assert server.count(tts.WAREHOUSES) == 1
    assert max(len(c.body["product_ids"]) for c in server.calls if c.path == tts.INVENTORY) == 100
    # page tokens are base64 (+ / =): they survive the query string and the signature
    assert [c.query.get("page_token", "") for c in server.calls if c.path == tts.PRODUCTS][1:] == \
        [tts.page_token(100), tts.page_token(200)]
    assert all(c.query["page_size"] == "100" for c in server.calls if c.path == tts.PRODUCTS)
    by_sku = {row.sku: row for row in rows}
    assert by_sku["SKU-00042"] == StockRow(sku="SKU-00042", available=42, warehouse="WH1", name="Product SKU-00042")


def test_multi_warehouse_and_multi_sku_products(server, fake_time):
    us = server.add_warehouse("Los Angeles")
    cb = server.add_warehouse("Shenzhen", "CB_DIRECT_SHIPPING_WAREHOUSE")
    server.add_product("TEE-RED-M", {us: 5, cb: 40}, title="Tee", extra_skus=(("TEE-RED-L", {us: 0}),))
    product = server.add_product("", {us: 3}, title="No seller SKU")
    client = make_client(server, fake_time)
    assert [(w.name, w.sub_type) for w in client.warehouses()] == [
        ("Los Angeles", "DOMESTIC_WAREHOUSE"), ("Shenzhen", "CB_DIRECT_SHIPPING_WAREHOUSE")]
    rows = sorted(read_shop_stock(client), key=lambda r: (r.sku, r.warehouse))
    assert rows == sorted([
        StockRow("TEE-RED-M", 5, "Los Angeles", "Tee"), StockRow("TEE-RED-M", 40, "Shenzhen", "Tee"),
        StockRow("TEE-RED-L", 0, "Los Angeles", "Tee"),
        StockRow(product.skus[0].id, 3, "Los Angeles", "No seller SKU"),  # falls back to the SKU id
    ], key=lambda r: (r.sku, r.warehouse))


def test_same_warehouse_name_twice_uses_the_ids(server, fake_time):
    a = server.add_warehouse("Main")
    b = server.add_warehouse("Main")
    server.add_product("A", {a: 1, b: 2})
    rows = read_shop_stock(make_client(server, fake_time))
    assert sorted(r.warehouse for r in rows) == sorted([a, b])


def test_empty_catalogue_is_an_error_not_everything_sold_out(server, fake_time):
    server.add_warehouse("Main")
    with pytest.raises(SourceError, match="returned no products"):
        read_shop_stock(make_client(server, fake_time))


def test_failure_mid_pagination_returns_nothing(server, fake_time):
    stock_catalogue(server, 250)
    server.fail(tts.PRODUCTS, status=500, times=-1, after=1)
    with pytest.raises(SourceError) as caught:
        read_shop_stock(make_client(server, fake_time))
    assert "HTTP 500" in str(caught.value) and "page token" in str(caught.value)
    assert server.count(tts.PRODUCTS) == 2


def test_error_code_mid_pagination_is_an_error(server, fake_time):
    stock_catalogue(server, 250)
    server.fail(tts.INVENTORY, code=12019112, times=1, after=2)  # "Seller id is invalid"
    with pytest.raises(SourceError, match="code 12019112"):
        read_shop_stock(make_client(server, fake_time))


def test_inventory_search_refuses_more_than_100_product_ids(server, fake_time):
    stock_catalogue(server, 101)
    client = make_client(server, fake_time)
    ids = [p.id for p in server.products]
    with pytest.raises(ValueError):
        client.inventory(ids)
    # and the server enforces the documented limit on its own
    with pytest.raises(SourceError, match=str(tts.TOO_MANY_PRODUCT_IDS)):
        client.call("POST", tts.INVENTORY, None, {"product_ids": ids})


# ---- tokens --------------------------------------------------------------------------------

def test_token_refreshed_before_it_expires(server, fake_time):
    stock_catalogue(server, 2)
    saved: list[ShopConfig] = []
    client = make_client(server, fake_time, expire_at=datetime.now(timezone.utc) + timedelta(minutes=5),
                         on_token_refresh=saved.append)
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 1
    assert server.calls[0].path == tts.REFRESH  # before any API call, not after a refusal
    assert all(c.headers["x-tts-access-token"] == server.access_token for c in server.calls[1:])
    assert saved and saved[0].access_token == server.access_token and saved[0].refresh_token == server.refresh_token
    assert saved[0].access_token_expire_at > datetime.now(timezone.utc) + timedelta(days=6)
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 1  # the new token is good for a week


@pytest.mark.parametrize("status", [200, 401])
def test_token_refreshed_after_an_expired_token_error(server, fake_time, status):
    """TikTok answers an expired token with code 105002, with HTTP 200 or 401: either way one refresh, one retry."""
    stock_catalogue(server, 2)
    server.token_error_status = status
    # The client believes the token is good for days; TikTok has expired it anyway.
    client = make_client(server, fake_time, expire_at=datetime.now(timezone.utc) + timedelta(days=3))
    server.expire_access_token()
    rows = read_shop_stock(client)
    assert len(rows) == 2
    assert server.count(tts.REFRESH) == 1
    assert server.count(tts.WAREHOUSES) == 2  # refused once, then repeated with the new token
    assert client.shop.refresh_token == server.refresh_token  # the rotated refresh token is kept


def test_a_token_of_unknown_expiry_is_refreshed_at_start_and_follows_the_expiry_it_gets(server, fake_time):
    stock_catalogue(server, 2)
    client = make_client(server, fake_time, known_expiry=False)  # no ..._EXPIRE_AT
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 1 and server.calls[0].path == tts.REFRESH  # at start, before any call
    assert client.shop.access_token_expire_at == datetime.fromtimestamp(server.access_token_expire_at, tz=timezone.utc)
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 1  # from now on, 30 minutes before that expiry


def test_without_any_known_expiry_the_token_is_refreshed_daily(server, fake_time):
    stock_catalogue(server, 2)
    server.hand_out_expiry = False  # the refresh answer says nothing about expiry either
    server.max_skew_seconds = 30 * 24 * 3600  # the client's clock is moved days ahead below
    moment = [datetime.now(timezone.utc)]
    client = make_client(server, fake_time, now=lambda: moment[0], known_expiry=False)
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 1
    moment[0] += timedelta(hours=23)
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 1
    moment[0] += timedelta(hours=2)
    read_shop_stock(client)
    assert server.count(tts.REFRESH) == 2


def test_a_failed_refresh_at_start_still_reads_with_the_current_token(server, fake_time):
    stock_catalogue(server, 2)
    client = make_client(server, fake_time, known_expiry=False)
    server.fail(tts.REFRESH, code=tts.INVALID_REFRESH_TOKEN)
    assert len(read_shop_stock(client)) == 2
    assert server.count(tts.REFRESH) == 1


def test_refused_refresh_is_a_clear_error_without_secrets(server, fake_time):
    stock_catalogue(server, 1)
    client = make_client(server, fake_time)
    client.shop.refresh_token = "TTP_stale_refresh_token"
    server.expire_access_token()
    with pytest.raises(SourceError) as caught:
        read_shop_stock(client)
    message = str(caught.value)
    assert "refresh" in message and str(tts.INVALID_REFRESH_TOKEN) in message
    for secret in (tts.APP_SECRET, "TTP_stale_refresh_token", tts.FIRST_ACCESS_TOKEN):
        assert secret not in message and secret not in repr(client) and secret not in repr(client.shop)


# ---- retries and rate limiting -------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 503])
def test_backoff_then_success(server, fake_time, status):
    server.add_warehouse("Main")
    server.fail(tts.WAREHOUSES, status=status, times=3)
    assert [w.name for w in make_client(server, fake_time).warehouses()] == ["Main"]
    assert server.count(tts.WAREHOUSES) == 4
    delays = fake_time.sleeps
    assert len(delays) == 3
    assert delays[0] < delays[1] < delays[2]  # exponential
    for attempt, delay in enumerate(delays):  # equal jitter: within [d/2, d] of d = 0.5 * 2**attempt
        ceiling = 0.5 * 2 ** attempt
        assert ceiling / 2 <= delay <= ceiling
    # randomized: another client (another seed) waits differently
    other = FakeTime()
    server.fail(tts.WAREHOUSES, status=status, times=3)
    make_client(server, other, seed=99).warehouses()
    assert other.sleeps != delays


def test_retry_on_internal_error_code(server, fake_time):
    server.add_warehouse("Main")
    server.fail(tts.WAREHOUSES, code=tts.INTERNAL_ERROR, times=2)
    assert len(make_client(server, fake_time).warehouses()) == 1
    assert len(fake_time.sleeps) == 2


def test_gives_up_after_repeated_failures(server, fake_time):
    stock_catalogue(server, 5)
    server.fail(tts.PRODUCTS, status=429, times=-1)
    with pytest.raises(SourceError, match="failed 4 times, last: HTTP 429"):
        read_shop_stock(make_client(server, fake_time, max_retries=3))
    assert server.count(tts.PRODUCTS) == 4
    assert len(fake_time.sleeps) == 3


def test_unreachable_server_is_a_source_error(fake_time):
    srv = TikTokShopServer()  # take a free port, then close it: nothing listens there
    url = srv.url
    srv._server.server_close()
    config = TikTokConfig(app_key="k", app_secret="s", api_url=url, auth_url=url)
    shop = ShopConfig("us", "c", access_token="t", refresh_token="r")
    client = TikTokShopClient(config, shop, sleep=fake_time.sleep, clock=fake_time.clock, max_retries=1,
                              timeout=2)
    with pytest.raises(SourceError, match="cannot reach TikTok Shop"):
        client.warehouses()


def test_rate_limiter_keeps_to_max_qps(server, fake_time):
    server.add_warehouse("Main")
    sent_at: list[float] = []
    server.on_request = lambda path: sent_at.append(fake_time.now)
    client = make_client(server, fake_time, max_qps=5)
    for _ in range(23):
        client.warehouses()
    assert len(sent_at) == 23
    for i in range(len(sent_at) - 5):
        assert sent_at[i + 5] - sent_at[i] >= 1.0 - 1e-9  # never 6 calls within one second
    assert fake_time.sleeps and sum(fake_time.sleeps) == pytest.approx(4.0)  # 23 calls at 5/s: 4 s of waiting
    assert fake_time.now - 1000.0 == pytest.approx(4.0)


def test_rate_limiter_counts_each_api_separately(server, fake_time):
    stock_catalogue(server, 1)
    client = make_client(server, fake_time, max_qps=2)
    for _ in range(2):
        client.warehouses()
    client.inventory([server.products[0].id])  # another API: no wait
    assert fake_time.sleeps == []
    client.warehouses()
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_server_side_throttle_is_survived(server):
    # The server's own 50 QPS throttle, with the client's limiter turned up too high: the
    # client is throttled with 429s, backs off with real sleeps, and still finishes.
    stock_catalogue(server, 1)
    server.qps_limit = 3
    client = make_client(server, FakeTime(), max_qps=100, sleep=time.sleep, clock=time.monotonic,
                         backoff_base=0.4)
    for _ in range(4):
        client.warehouses()
    assert server.count(tts.WAREHOUSES) > 4  # some were answered 429 and repeated


# ---- orders --------------------------------------------------------------------------------

def test_orders_become_order_lines(server, fake_time):
    wid = server.add_warehouse("Main")
    server.add_product("A", {wid: 1})
    base = 1_700_000_000
    server.add_order("576461413038785752", ["A", "A", "B"], create_time=base, update_time=base + 10, warehouse_id=wid)
    server.add_order("576461413038785753", ["A"], status="CANCELLED", create_time=base, update_time=base + 20,
                     warehouse_id=wid)
    server.add_order("576461413038785700", ["A"], create_time=base - 99, update_time=base - 50)  # too old
    for n in range(150):
        server.add_order(f"9{n:05d}", ["C"], create_time=base + 100 + n, update_time=base + 100 + n)
    client = make_client(server, fake_time)
    lines = list(client.iter_order_lines(datetime.fromtimestamp(base, tz=timezone.utc)))
    assert server.count(tts.ORDERS) == 2  # 152 orders, 100 a page
    first = [line for line in lines if line.order_id == "576461413038785752"]
    assert [(line.sku, line.units, line.status, line.warehouse) for line in first] == [
        ("A", 1, "AWAITING_SHIPMENT", "Main"), ("A", 1, "AWAITING_SHIPMENT", "Main"),
        ("B", 1, "AWAITING_SHIPMENT", "Main")]
    assert first[0].created_at == datetime.fromtimestamp(base, tz=timezone.utc)
    assert [line.status for line in lines if line.order_id == "576461413038785753"] == ["CANCELLED"]
    assert not any(line.order_id == "576461413038785700" for line in lines)
    assert sum(1 for line in lines if line.sku == "C") == 150
    call = next(c for c in server.calls if c.path == tts.ORDERS)
    assert call.body == {"update_time_ge": base} and call.query["sort_field"] == "update_time"


# ---- webhooks ------------------------------------------------------------------------------

INVENTORY_PUSH = json.dumps({
    "type": 27, "tts_notification_id": "7327112393057371910", "shop_id": "7494049642642441621",
    "timestamp": 1644412885, "data": {"product_id": "732357708734418520388", "sku_id": "73235770873441823254",
                                      "trigger_reason": {"alert_type": "PREDICTION", "lead_days": 21},
                                      "current_inventory_status": "LOW_STOCK",
                                      "inventory_distribution": {"total_quantity": 100, "available_quantity": 50},
                                      "update_time": 1627587600}}).encode()


def webhook_signature(app_key: str, secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def test_webhook_signature_right_and_wrong_secret():
    good = webhook_signature(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH)
    assert verify_webhook(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH, good)
    assert verify_webhook(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH, " " + good.upper() + " ")
    assert not verify_webhook(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH,
                              webhook_signature(tts.APP_KEY, "wrong-secret", INVENTORY_PUSH))
    assert not verify_webhook(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH + b" ", good)  # body changed
    assert not verify_webhook(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH, "")
    assert not verify_webhook(tts.APP_KEY, tts.APP_SECRET, INVENTORY_PUSH, "é" * 64)


def test_parse_webhooks_of_the_three_topics():
    inventory = parse_webhook(INVENTORY_PUSH)
    assert (inventory.type, inventory.shop_id, inventory.timestamp, inventory.status) == \
        (27, "7494049642642441621", 1644412885, "LOW_STOCK")
    assert inventory.skus_or_product_ids == ("73235770873441823254", "732357708734418520388")
    assert inventory.dedupe_key == "7327112393057371910"

    order = parse_webhook(json.dumps({"type": 1, "tts_notification_id": "n1", "shop_id": "7494049642642441621",
                                      "timestamp": 1644412885, "data": {"order_id": "576486316948490001",
                                                                        "order_status": "CANCEL",
                                                                        "is_on_hold_order": False,
                                                                        "update_time": 1644412885}}).encode())
    assert (order.type, order.order_id, order.status, order.skus_or_product_ids) == \
        (1, "576486316948490001", "CANCEL", ())

    fbt = parse_webhook(json.dumps({"type": 24, "seller_open_id": "VIySt", "tts_notification_id": "n2",
                                    "timestamp": 1644412885, "data": {
                                        "goods_id": "732357708734418520388", "sku_id": "123513234",
                                        "fbt_warehouse_inventory": [{"fbt_warehouse_id": "7382",
                                                                     "on_hand_detail": {"available_quantity": 2}}],
                                        "update_time": 1644412845}}).encode())
    assert (fbt.type, fbt.shop_id, fbt.sku_ids) == (24, "VIySt", ("123513234",))

    unknown_body = json.dumps({"type": 99, "shop_id": "1", "timestamp": 5, "data": {"x": 1}}).encode()
    unknown = parse_webhook(unknown_body)
    assert unknown.type == 99 and unknown.skus_or_product_ids == () and unknown.dedupe_key
    assert parse_webhook(unknown_body).dedupe_key == unknown.dedupe_key  # same body, same key
    with pytest.raises(ValueError):
        parse_webhook(b"not json")


# ---- configuration -------------------------------------------------------------------------

def test_config_absent_without_app_key():
    assert load_tiktok_config({}) is None
    assert load_tiktok_config({"TIKTOK_SHOP_CIPHER": "x"}) is None


def test_config_single_shop():
    config = load_tiktok_config({"TIKTOK_APP_KEY": "key", "TIKTOK_APP_SECRET": "sec-ret-1",
                                 "TIKTOK_SHOP_CIPHER": "ROW_abc", "TIKTOK_ACCESS_TOKEN": "TTP_access_sekrit",
                                 "TIKTOK_REFRESH_TOKEN": "TTP_refresh_sekrit",
                                 "TIKTOK_ACCESS_TOKEN_EXPIRE_AT": "1660556783"})
    assert config.api_url == "https://open-api.tiktokglobalshop.com"
    assert config.auth_url == "https://auth.tiktok-shops.com"
    [shop] = config.shops
    assert (shop.shop_cipher, shop.access_token, shop.refresh_token) == ("ROW_abc", "TTP_access_sekrit",
                                                                         "TTP_refresh_sekrit")
    assert shop.access_token_expire_at == datetime.fromtimestamp(1660556783, tz=timezone.utc)
    for text in (repr(config), repr(shop)):
        assert "sekrit" not in text and "sec-ret-1" not in text


def test_config_several_shops_and_urls():
    config = load_tiktok_config({
        "TIKTOK_APP_KEY": "key", "TIKTOK_APP_SECRET": "secret", "TIKTOK_SHOPS": "us, UK",
        "TIKTOK_API_URL": "http://127.0.0.1:1/", "TIKTOK_AUTH_URL": "http://127.0.0.1:2",
        "TIKTOK_US_SHOP_CIPHER": "US_c", "TIKTOK_US_ACCESS_TOKEN": "a1", "TIKTOK_US_REFRESH_TOKEN": "r1",
        "TIKTOK_UK_SHOP_CIPHER": "UK_c", "TIKTOK_UK_ACCESS_TOKEN": "a2", "TIKTOK_UK_REFRESH_TOKEN": "r2"})
    assert [(s.name, s.shop_cipher, s.access_token) for s in config.shops] == [("us", "US_c", "a1"),
                                                                               ("uk", "UK_c", "a2")]
    assert (config.api_url, config.auth_url) == ("http://127.0.0.1:1", "http://127.0.0.1:2")


@pytest.mark.parametrize("environ, expected", [
    ({"TIKTOK_APP_KEY": "k"}, "TIKTOK_APP_SECRET is not"),
    ({"TIKTOK_APP_KEY": "k", "TIKTOK_APP_SECRET": "s", "TIKTOK_ACCESS_TOKEN": "TTP_leak"}, "TIKTOK_SHOP_CIPHER"),
    ({"TIKTOK_APP_KEY": "k", "TIKTOK_APP_SECRET": "s", "TIKTOK_SHOP_CIPHER": "c"}, "TIKTOK_ACCESS_TOKEN"),
    ({"TIKTOK_APP_KEY": "k", "TIKTOK_APP_SECRET": "s", "TIKTOK_SHOPS": "us,uk", "TIKTOK_US_SHOP_CIPHER": "c",
      "TIKTOK_US_ACCESS_TOKEN": "TTP_leak", "TIKTOK_UK_ACCESS_TOKEN": "TTP_leak"}, "TIKTOK_UK_SHOP_CIPHER"),
    ({"TIKTOK_APP_KEY": "k", "TIKTOK_APP_SECRET": "s", "TIKTOK_SHOP_CIPHER": "c", "TIKTOK_ACCESS_TOKEN": "TTP_leak",
      "TIKTOK_ACCESS_TOKEN_EXPIRE_AT": "soon"}, "Unix timestamp"),
])
def test_half_configured_is_a_clear_error(environ, expected):
    with pytest.raises(SourceError) as caught:
        load_tiktok_config(environ)
    assert expected in str(caught.value)
    assert "TTP_leak" not in str(caught.value) and "'s'" not in str(caught.value)
