"""A loopback HTTP server that speaks the parts of the TikTok Shop Open API (202309)
Stockbot uses, with the request and response shapes of the official specs.

It is a real peer, not a mock: it recomputes every request's signature from the raw query
string and body (its own implementation of the documented algorithm, not the client's),
checks the timestamp, the app key and the `x-tts-access-token` header against its current
token and expiry, and serves the token refresh endpoint. Tests can make it answer 429/503
or an error a number of times, fail from the Nth call of a path on, expire the token, and
read how many calls each path received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qsl, urlsplit

APP_KEY = "test-app-key"
APP_SECRET = "test-app-secret-not-real"
SHOP_CIPHER = "ROW_test_shop_cipher"
FIRST_ACCESS_TOKEN = "TTP_access_token_1_not_real"
FIRST_REFRESH_TOKEN = "TTP_refresh_token_1_not_real"
SEVEN_DAYS = 7 * 24 * 3600

WAREHOUSES = "/logistics/202309/warehouses"
PRODUCTS = "/product/202309/products/search"
INVENTORY = "/product/202309/inventory/search"
ORDERS = "/order/202309/orders/search"
REFRESH = "/api/v2/token/refresh"

# Error codes the server answers with (see bot.sources.tiktok for where they come from).
INVALID_SIGNATURE = 106001
ACCESS_TOKEN_INVALID = 105001
ACCESS_TOKEN_EXPIRED = 105002
INVALID_REFRESH_TOKEN = 105003
INTERNAL_ERROR = 36009003
PAGE_SIZE_INVALID = 12019109
TOO_MANY_PRODUCT_IDS = 12019120
INVALID_PARAMETER = 36009004
TOO_MANY_RESULTS = 12052180
MAX_SEARCH_RESULTS = 10_000


@dataclass
class Sku:
    id: str
    seller_sku: str
    quantities: dict[str, int]  # warehouse id -> available quantity


@dataclass
class Product:
    id: str
    title: str
    skus: list[Sku]
    status: str = "ACTIVATE"


@dataclass
class Failure:
    status: int = 200  # HTTP status to answer with
    code: int = 0  # TikTok code in the JSON body (when status is 200 or an error page)
    times: int = 1  # how many calls it applies to; -1 = all of them
    after: int = 0  # let this many calls of the path through first


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: dict
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


def _sign(secret: str, path: str, query: dict[str, str], body: bytes, content_type: str) -> str:
    """The documented algorithm, written again from the spec so a client bug shows up."""
    keys = sorted(k for k in query if k not in ("sign", "access_token"))
    text = path + "".join(k + query[k] for k in keys)
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        text += body.decode("utf-8")
    digest = hmac.new(secret.encode(), (secret + text + secret).encode(), hashlib.sha256)
    return digest.hexdigest()


def page_token(offset: int) -> str:
    # Opaque and URL-unsafe on purpose (base64 may hold + / =), like the real tokens.
    return base64.b64encode(f"offset={offset}\n".encode()).decode()


def page_offset(token: str) -> Optional[int]:
    try:
        text = base64.b64decode(token.encode(), validate=True).decode()
        return int(text.strip().removeprefix("offset="))
    except (ValueError, UnicodeDecodeError):
        return None


class TikTokShopServer:
    def __init__(self, app_key: str = APP_KEY, app_secret: str = APP_SECRET, shop_cipher: str = SHOP_CIPHER) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.shop_cipher = shop_cipher
        self.access_token = FIRST_ACCESS_TOKEN
        self.refresh_token = FIRST_REFRESH_TOKEN
        self.access_token_expire_at = int(time.time()) + SEVEN_DAYS
        self.rotate_refresh_token = True
        self.hand_out_expiry = True  # False: refresh answers carry no access_token_expire_in
        self.token_error_status = 200  # HTTP status of an invalid/expired token answer (TikTok also uses 401)
        self.max_skew_seconds = 300  # sign-your-api-request.md: timestamp within 5 minutes
        self.qps_limit: Optional[int] = None  # answer 429 above this many calls per second per path
        self.on_request: Optional[Callable[[str], None]] = None  # test hook, called as each call arrives
        self.products: list[Product] = []
        self.warehouses: list[dict] = []
        self.orders: list[dict] = []
        self.failures: dict[str, list[Failure]] = {}
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self._ids = itertools.count(1729592969712207000)
        self._tokens = itertools.count(2)
        self._recent: dict[str, deque[float]] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and tests start and stop a server each.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "TikTokShopServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- setting the scene ---------------------------------------------------------------------

    def add_warehouse(self, name: str, sub_type: str = "DOMESTIC_WAREHOUSE", *, warehouse_id: str = "",
                      type: str = "SALES_WAREHOUSE", is_default: bool = False) -> str:
        warehouse_id = warehouse_id or str(next(self._ids))
        with self._lock:
            self.warehouses.append({"id": warehouse_id, "entity_id": str(next(self._ids)), "name": name,
                                    "effect_status": "ENABLED", "type": type, "sub_type": sub_type,
                                    "is_default": is_default or not self.warehouses,
                                    "address": {"region_code": "US", "city": "Los Angeles"}})
        return warehouse_id

    def add_product(self, seller_sku: str, quantities: dict[str, int], *, title: str = "",
                    extra_skus: tuple[tuple[str, dict[str, int]], ...] = (), status: str = "ACTIVATE") -> Product:
        """A product with one SKU (plus `extra_skus`), stocked per warehouse id."""
        skus = [Sku(str(next(self._ids)), seller_sku, dict(quantities))]
        skus += [Sku(str(next(self._ids)), sku, dict(q)) for sku, q in extra_skus]
        product = Product(str(next(self._ids)), title or f"Product {seller_sku}", skus, status)
        with self._lock:
            self.products.append(product)
        return product

    def add_order(self, order_id: str, seller_skus: list[str], *, status: str = "AWAITING_SHIPMENT",
                  create_time: int = 0, update_time: int = 0, warehouse_id: str = "") -> dict:
        """An order with one line item per unit, as version 202309 lists them."""
        create_time = create_time or int(time.time())
        order = {"id": order_id, "status": status, "create_time": create_time,
                 "update_time": update_time or create_time, "warehouse_id": warehouse_id,
                 "line_items": [{"id": str(next(self._ids)), "sku_id": self._sku_id(sku), "seller_sku": sku,
                                 "product_name": f"Product {sku}", "display_status": status}
                                for sku in seller_skus]}
        with self._lock:
            self.orders.append(order)
        return order

    def _sku_id(self, seller_sku: str) -> str:
        for product in self.products:
            for sku in product.skus:
                if sku.seller_sku == seller_sku:
                    return sku.id
        return str(next(self._ids))

    def fail(self, path: str, *, status: int = 200, code: int = 0, times: int = 1, after: int = 0) -> None:
        """Answer `times` calls of `path` (after letting `after` through) with an HTTP status
        and/or a TikTok error code. times=-1: every call from then on."""
        with self._lock:
            self.failures.setdefault(path, []).append(
                Failure(status=status, code=code or (INTERNAL_ERROR if status == 200 else 0),
                        times=times, after=self.counts[path] + after))

    def expire_access_token(self) -> None:
        with self._lock:
            self.access_token_expire_at = int(time.time()) - 1

    def count(self, path: str) -> int:
        with self._lock:
            return self.counts[path]

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.calls.clear()

    # ---- answering -----------------------------------------------------------------------------

    @staticmethod
    def _error(code: int, message: str) -> dict:
        return {"code": code, "message": message, "request_id": "202203070749000101890810281E8C70B7"}

    @staticmethod
    def _ok(data: dict) -> dict:
        return {"code": 0, "message": "Success", "request_id": "202203070749000101890810281E8C70B7", "data": data}

    def _injected_failure(self, path: str) -> Optional[Failure]:
        for failure in self.failures.get(path, []):
            if self.counts[path] > failure.after and failure.times != 0:
                if failure.times > 0:
                    failure.times -= 1
                return failure
        return None

    def _over_qps(self, path: str) -> bool:
        if not self.qps_limit:
            return False
        now = time.monotonic()
        recent = self._recent.setdefault(path, deque())
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        recent.append(now)
        return len(recent) > self.qps_limit

    def handle(self, method: str, path: str, query: dict[str, str], raw_body: bytes,
               headers: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.counts[path] += 1
            try:
                body = json.loads(raw_body or b"{}")
            except ValueError:
                body = {"_raw": raw_body.decode("utf-8", "replace")}
            self.calls.append(Call(path, query, body if isinstance(body, dict) else {}, headers))
            if self.on_request:
                self.on_request(path)
            if self._over_qps(path):
                return 429, self._error(429, "Too many requests")
            failure = self._injected_failure(path)
            if failure:
                return failure.status, self._error(failure.code, "Injected failure. Please try again.")
            if path == REFRESH:
                return 200, self._refresh(query)
            problem = self._check_request(path, query, raw_body, headers)
            if problem:
                token_error = problem["code"] in (ACCESS_TOKEN_INVALID, ACCESS_TOKEN_EXPIRED)
                return (self.token_error_status if token_error else 200), problem
            routes = {(WAREHOUSES, "GET"): self._warehouses, (PRODUCTS, "POST"): self._products,
                      (INVENTORY, "POST"): self._inventory, (ORDERS, "POST"): self._orders}
            route = routes.get((path, method))
            if route is None:
                return 404, self._error(404, f"no such API: {method} {path}")
            return 200, route(query, body)

    def _check_request(self, path: str, query: dict[str, str], raw_body: bytes,
                       headers: dict[str, str]) -> Optional[dict]:
        if query.get("app_key") != self.app_key:
            return self._error(INVALID_SIGNATURE, "Invalid app_key.")
        expected = _sign(self.app_secret, path, query, raw_body, headers.get("content-type", ""))
        if not hmac.compare_digest(expected, query.get("sign", "")):
            return self._error(INVALID_SIGNATURE, "The signature is invalid.")
        try:
            skew = abs(int(query.get("timestamp", "")) - time.time())
        except ValueError:
            skew = float("inf")
        if skew > self.max_skew_seconds:
            return self._error(INVALID_SIGNATURE, "The timestamp is more than 5 minutes off.")
        if query.get("shop_cipher") != self.shop_cipher:
            return self._error(ACCESS_TOKEN_INVALID, "Invalid shop_cipher.")
        if headers.get("x-tts-access-token") != self.access_token:
            return self._error(ACCESS_TOKEN_INVALID, "Invalid access token.")
        if time.time() >= self.access_token_expire_at:
            return self._error(ACCESS_TOKEN_EXPIRED, "Access token has expired. Please refresh it.")
        return None

    def _refresh(self, query: dict[str, str]) -> dict:
        if (query.get("app_key") != self.app_key or query.get("app_secret") != self.app_secret
                or query.get("grant_type") != "refresh_token"):
            return self._error(INVALID_SIGNATURE, "Invalid app_key, app_secret or grant_type.")
        if query.get("refresh_token") != self.refresh_token:
            return self._error(INVALID_REFRESH_TOKEN, "Invalid refresh token.")
        n = next(self._tokens)
        self.access_token = f"TTP_access_token_{n}_not_real"
        if self.rotate_refresh_token:
            self.refresh_token = f"TTP_refresh_token_{n}_not_real"
        self.access_token_expire_at = int(time.time()) + SEVEN_DAYS
        return self._ok({"access_token": self.access_token,
                         "access_token_expire_in": self.access_token_expire_at if self.hand_out_expiry else None,
                         "refresh_token": self.refresh_token,
                         "refresh_token_expire_in": int(time.time()) + 365 * 24 * 3600,
                         "open_id": "7010736057180325637", "seller_name": "Test shop",
                         "seller_base_region": "US", "user_type": 0})

    def _warehouses(self, query: dict[str, str], body: dict) -> dict:
        return self._ok({"warehouses": list(self.warehouses)})

    def _paging(self, query: dict[str, str]) -> tuple[Optional[int], int, Optional[dict]]:
        try:
            size = int(query.get("page_size", ""))
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            return None, 0, self._error(PAGE_SIZE_INVALID, "page size is invalid")
        token = query.get("page_token", "")
        offset = page_offset(token) if token else 0
        if offset is None:
            return None, 0, self._error(12052910, "Invalid input parameters: page_token")
        return offset, size, None

    def _products(self, query: dict[str, str], body: dict) -> dict:
        offset, size, problem = self._paging(query)
        if problem:
            return problem
        status = body.get("status") or "ALL"
        matching = [p for p in self.products if status == "ALL" or p.status == status]
        if offset >= MAX_SEARCH_RESULTS:
            return self._error(TOO_MANY_RESULTS, "The total number of search results can not exceed 10000.")
        page = matching[offset:offset + size]
        data: dict = {"total_count": len(matching), "products": [
            {"id": p.id, "title": p.title, "status": p.status, "create_time": 1234567890,
             "update_time": 1234567890, "sales_regions": ["US"],
             "skus": [{"id": s.id, "seller_sku": s.seller_sku,
                       "price": {"currency": "USD", "tax_exclusive_price": "9.99", "sale_price": "9.99"},
                       "inventory": [{"warehouse_id": w, "quantity": q} for w, q in s.quantities.items()]}
                      for s in p.skus]} for p in page]}
        if offset + size < len(matching):
            data["next_page_token"] = page_token(offset + size)
        return self._ok(data)

    def _inventory(self, query: dict[str, str], body: dict) -> dict:
        ids = body.get("product_ids") or []
        sku_ids = body.get("sku_ids") or []
        if ids and sku_ids:  # the spec: "either product IDs or SKU IDs, not both at the same time"
            return self._error(INVALID_PARAMETER, "Search by product_ids or sku_ids, not both.")
        if len(ids) > 100 or len(sku_ids) > 100:
            return self._error(TOO_MANY_PRODUCT_IDS, "The number of provided product IDs exceeds the limit.")
        by_id = {p.id: p for p in self.products}
        by_sku_id = {sku.id: (p, sku) for p in self.products for sku in p.skus}
        chosen: list[tuple[Product, list[Sku]]] = []
        for product_id in ids:
            product = by_id.get(product_id)
            if product is None:
                return self._error(12019008, "Product id is invalid")
            chosen.append((product, product.skus))
        for sku_id in sku_ids:
            if sku_id not in by_sku_id:
                return self._error(12019008, "SKU id is invalid")
            product, sku = by_sku_id[sku_id]
            chosen.append((product, [sku]))
        inventory = [{"product_id": product.id, "skus": [
            {"id": s.id, "seller_sku": s.seller_sku, "total_available_quantity": sum(s.quantities.values()),
             "total_committed_quantity": 0,
             "warehouse_inventory": [{"warehouse_id": w, "available_quantity": q, "committed_quantity": 0}
                                     for w, q in s.quantities.items()]} for s in skus]} for product, skus in chosen]
        return self._ok({"inventory": inventory})

    def _orders(self, query: dict[str, str], body: dict) -> dict:
        offset, size, problem = self._paging(query)
        if problem:
            return problem
        since = int(body.get("update_time_ge") or 0)
        matching = sorted((o for o in self.orders if o["update_time"] >= since), key=lambda o: o["update_time"],
                          reverse=query.get("sort_order", "DESC") == "DESC")
        data: dict = {"total_count": len(matching), "orders": matching[offset:offset + size]}
        if offset + size < len(matching):
            data["next_page_token"] = page_token(offset + size)
        return self._ok(data)

    # ---- the HTTP side -------------------------------------------------------------------------

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output quiet
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = server.handle(method, parts.path, query, raw, headers)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler
