"""Stock and orders from the TikTok Shop Open API (Partner API version 202309).

Every request is signed as TikTok's "Sign your API request" page describes, carries the
shop's access token in `x-tts-access-token`, and goes through a per-API rate limiter
(TikTok allows 50 QPS per API, counted per app + shop). 429 and 503 answers are retried
with a randomized exponential backoff; an expired access token is refreshed and the call
retried once.

A read is all-or-nothing: `read_shop_stock` either returns every SKU of the shop or
raises SourceError, so a sync that fails half-way never turns into OUT OF STOCK alerts.

Secrets (app secret, access and refresh tokens) never appear in messages, logs or reprs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import socket
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence
from urllib.parse import urlencode

from bot.core.text import clean_text
from bot.sources import Reason, SourceError, StockRow, reason_of, sku_problem

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://open-api.tiktokglobalshop.com"
DEFAULT_AUTH_URL = "https://auth.tiktok-shops.com"

WAREHOUSES_PATH = "/logistics/202309/warehouses"
PRODUCTS_SEARCH_PATH = "/product/202309/products/search"
INVENTORY_SEARCH_PATH = "/product/202309/inventory/search"
ORDERS_SEARCH_PATH = "/order/202309/orders/search"
TOKEN_REFRESH_PATH = "/api/v2/token/refresh"
TOKEN_REFRESH = Reason("token refresh", "tiktok_token_refresh")  # names the call in messages

PAGE_SIZE = 100  # the documented maximum for products and orders search
INVENTORY_BATCH = 100  # inventory search takes at most 100 product_ids
DEFAULT_MAX_QPS = 50  # rate-limits.md: 50 QPS per API, per app + shop

# Response codes. 36009003 is in every spec's error list ("Internal error. Please try
# again"). The common-error codes below come from TikTok's common error code page, which
# is not in the local doc set: confirm them against it before relying on exact numbers.
CODE_OK = 0
CODE_INTERNAL_RETRY = 36009003
CODE_INVALID_SIGNATURE = 106001
CODE_ACCESS_TOKEN_INVALID = 105001
CODE_ACCESS_TOKEN_EXPIRED = 105002
CODE_TOO_MANY_RESULTS = 12052180  # products search cannot page past 10 000 results
TOKEN_ERROR_CODES = frozenset({CODE_ACCESS_TOKEN_INVALID, CODE_ACCESS_TOKEN_EXPIRED})
RETRYABLE_CODES = frozenset({CODE_INTERNAL_RETRY})
RETRYABLE_STATUSES = frozenset({429, 503})  # rate-limits.md: throttled / overloaded
# A token whose expiry is unknown (no ..._EXPIRE_AT, nothing saved) is refreshed when the client
# starts and then at least this often, well inside an access token's 7-day life.
UNKNOWN_EXPIRY_REFRESH = timedelta(hours=24)

# Webhook topic ids (27-inventory-status-change.md, 1-order-status-change.md,
# 24-fbt-inventory-update.md).
WEBHOOK_ORDER_STATUS_CHANGE = 1
WEBHOOK_FBT_INVENTORY_UPDATE = 24
WEBHOOK_INVENTORY_STATUS_CHANGE = 27


# ---- signing -------------------------------------------------------------------------------

def sign_request(app_secret: str, path: str, params: Mapping[str, Any], body: bytes | str = b"",
                 content_type: str = "application/json") -> str:
    """The `sign` query parameter, exactly as sign-your-api-request.md describes:
    HMAC-SHA256 (keyed with the app secret) over
    app_secret + path + sorted {key}{value} (without sign and access_token) + body + app_secret,
    hex-encoded. The body is left out for multipart/form-data requests."""
    pieces = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in ("sign", "access_token"))
    text = path + pieces
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        text += body.decode("utf-8") if isinstance(body, bytes) else body
    wrapped = app_secret + text + app_secret
    return hmac.new(app_secret.encode("utf-8"), wrapped.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_webhook(app_key: str, app_secret: str, body: bytes, authorization: str) -> bool:
    """True when the `Authorization` header of a webhook push is TikTok's signature of it.

    configuration-guide.md only points to the signing page; the webhook variant signs the
    app key followed by the raw body (HMAC-SHA256 keyed with the app secret, hex). The raw
    bytes must be checked before any JSON parsing. Constant-time compare."""
    if not authorization or not app_secret:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), app_key.encode("utf-8") + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), authorization.strip().lower().encode("utf-8"))


# ---- configuration -------------------------------------------------------------------------

@dataclass
class ShopConfig:
    name: str
    shop_cipher: str
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    access_token_expire_at: Optional[datetime] = None


@dataclass
class TikTokConfig:
    app_key: str
    app_secret: str = field(repr=False)
    shops: list[ShopConfig] = field(default_factory=list)
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def _parse_expire_at(raw: str, variable: str) -> Optional[datetime]:
    """A Unix timestamp (what the token endpoints return) or an ISO date-time."""
    if not raw:
        return None
    try:
        if raw.isdigit():
            return datetime.fromtimestamp(int(raw), tz=timezone.utc)
        parsed = datetime.fromisoformat(raw)
    except (ValueError, OverflowError):
        raise SourceError(f"{variable} must be a Unix timestamp or an ISO date-time", "tiktok_bad_expire",
                          variable=variable) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _load_shop(environ: Mapping[str, str], name: str, prefix: str) -> ShopConfig:
    cipher = _env(environ, f"{prefix}SHOP_CIPHER")
    access = _env(environ, f"{prefix}ACCESS_TOKEN")
    refresh = _env(environ, f"{prefix}REFRESH_TOKEN")
    if not cipher:
        raise SourceError(f"TikTok shop {name!r}: {prefix}SHOP_CIPHER is not set "
                          "(the shop cipher from Get Authorized Shops)", "tiktok_no_cipher", shop=repr(name),
                          variable=f"{prefix}SHOP_CIPHER")
    if not access and not refresh:
        raise SourceError(f"TikTok shop {name!r}: set {prefix}ACCESS_TOKEN and {prefix}REFRESH_TOKEN "
                          "(neither is set)", "tiktok_no_tokens", shop=repr(name), access=f"{prefix}ACCESS_TOKEN",
                          refresh=f"{prefix}REFRESH_TOKEN")
    expire_at = _parse_expire_at(_env(environ, f"{prefix}ACCESS_TOKEN_EXPIRE_AT"),
                                 f"{prefix}ACCESS_TOKEN_EXPIRE_AT")
    return ShopConfig(name=name, shop_cipher=cipher, access_token=access, refresh_token=refresh,
                      access_token_expire_at=expire_at)


def load_tiktok_config(environ: Mapping[str, str]) -> Optional[TikTokConfig]:
    """TikTok settings from the environment; None when TIKTOK_APP_KEY is not set.

    One shop:      TIKTOK_SHOP_CIPHER, TIKTOK_ACCESS_TOKEN, TIKTOK_REFRESH_TOKEN
    Several shops: TIKTOK_SHOPS=us,uk with TIKTOK_US_SHOP_CIPHER, TIKTOK_US_ACCESS_TOKEN, ...
    Optional per shop: ..._ACCESS_TOKEN_EXPIRE_AT (Unix timestamp), so the token is
    refreshed before it expires rather than after the first refused call."""
    app_key = _env(environ, "TIKTOK_APP_KEY")
    if not app_key:
        return None
    app_secret = _env(environ, "TIKTOK_APP_SECRET")
    if not app_secret:
        raise SourceError("TIKTOK_APP_KEY is set but TIKTOK_APP_SECRET is not "
                          "(both are on the app page in TikTok Shop Partner Center)", "tiktok_no_secret")
    names = [part.strip().lower() for part in _env(environ, "TIKTOK_SHOPS").split(",") if part.strip()]
    if names:
        if len(set(names)) != len(names):
            raise SourceError("TIKTOK_SHOPS names a shop twice", "tiktok_shop_twice")
        for name in names:
            if not name.replace("_", "").isalnum():
                raise SourceError(f"TIKTOK_SHOPS: {name!r} is not a valid shop name (letters, digits, _)",
                                  "tiktok_bad_shop_name", shop=repr(name))
        shops = [_load_shop(environ, name, f"TIKTOK_{name.upper()}_") for name in names]
    else:
        shops = [_load_shop(environ, _env(environ, "TIKTOK_SHOP_NAME") or "tiktok", "TIKTOK_")]
    return TikTokConfig(app_key=app_key, app_secret=app_secret, shops=shops,
                        api_url=(_env(environ, "TIKTOK_API_URL") or DEFAULT_API_URL).rstrip("/"),
                        auth_url=(_env(environ, "TIKTOK_AUTH_URL") or DEFAULT_AUTH_URL).rstrip("/"))


# ---- what the client returns -----------------------------------------------------------------

OVERSEA_SUB_TYPE = "CB_OVERSEA_WAREHOUSE"


@dataclass(frozen=True)
class Warehouse:
    id: str
    name: str
    type: str  # SALES_WAREHOUSE / RETURN_WAREHOUSE
    sub_type: str = ""  # DOMESTIC_WAREHOUSE / CB_OVERSEA_WAREHOUSE / CB_DIRECT_SHIPPING_WAREHOUSE
    is_default: bool = False
    effect_status: str = ""  # ENABLED / DISABLED / RESTRICTED


@dataclass(frozen=True)
class OrderLine:
    """One line item of an order. In version 202309 a line item is one unit (there is no
    quantity field), so `units` is 1 unless the answer carries a quantity."""

    order_id: str
    sku: str
    units: int
    created_at: datetime
    status: str  # the line's display_status, else the order's status (e.g. CANCELLED)
    warehouse: str = ""
    sku_id: str = ""  # TikTok's SKU id: what inventory search takes to re-read just this SKU


# ---- rate limiting ---------------------------------------------------------------------------

class RateLimiter:
    """At most `max_qps` requests in any one-second window, per API path.

    A sliding window rather than a refilling bucket: a bucket of size N that starts full
    lets close to 2N requests through in the first second, which TikTok would answer with
    429. The limiter never loops on the clock, so a test's fake sleep need not move it."""

    def __init__(self, max_qps: int, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        if max_qps < 1:
            raise ValueError("max_qps must be at least 1")
        self.max_qps = max_qps
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}

    def wait(self, key: str) -> None:
        sent = self._sent.setdefault(key, deque(maxlen=self.max_qps))
        now = self._clock()
        if len(sent) == self.max_qps:
            delay = sent[0] + 1.0 - now
            if delay > 0:
                self._sleep(delay)
                now += delay  # when this request is allowed, whatever the clock says
        sent.append(now)


# ---- the client ------------------------------------------------------------------------------

def _page_token_note(token: str) -> str:
    return f" (page token {token[:12]}...)" if token else ""


class TikTokShopClient:
    """One shop of one app. Not thread-safe: use one client per thread."""

    def __init__(self, config: TikTokConfig, shop: ShopConfig, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, max_qps: int = DEFAULT_MAX_QPS,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 rng: Optional[random.Random] = None, max_retries: int = 5, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, timeout: float = 30.0,
                 refresh_margin: timedelta = timedelta(minutes=30),
                 on_token_refresh: Optional[Callable[[ShopConfig], None]] = None) -> None:
        self.config = config
        self.shop = replace(shop)  # our own copy: refreshed tokens are written here
        self._sleep = sleep
        self._now = now
        self._rng = rng or random.Random()
        self._limiter = RateLimiter(max_qps, clock, sleep)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self.on_token_refresh = on_token_refresh  # persist rotated tokens, or they are lost on restart
        self._warehouse_labels: Optional[dict[str, str]] = None
        self._overseas_labels: set[str] = set()
        self._refresh_tried_at: Optional[datetime] = None  # by this client: paces tokens of unknown expiry

    def __repr__(self) -> str:
        return f"TikTokShopClient(shop={self.shop.name!r}, api_url={self.config.api_url!r})"

    # -- HTTP ----------------------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: Optional[str]) -> float:
        """Equal-jitter exponential backoff: somewhere in [d/2, d] with d = base * 2**attempt,
        so delays grow from one retry to the next yet two clients do not retry in step."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(self.backoff_cap, float(retry_after.strip())))
        return delay

    def _http(self, method: str, url: str, body: Optional[bytes], headers: dict[str, str],
              what: str, limit_key: str) -> dict:
        """One call with retries on 429/503/timeouts; returns the decoded JSON answer.
        `what` names the call in messages: never the URL, which may hold the app secret."""
        attempt = 0
        while True:
            self._limiter.wait(limit_key)
            request = urllib.request.Request(url, data=body, method=method, headers=headers)
            retry_after: Optional[str] = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
                problem = ""
            except urllib.error.HTTPError as exc:
                raw = exc.read() or b""
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if exc.code not in RETRYABLE_STATUSES:
                    # TikTok answers an expired token with HTTP 401 and code 105002: hand that answer
                    # to call(), which refreshes the token and repeats the call, as for HTTP 200.
                    token_answer = self._token_error_answer(raw)
                    if token_answer is not None:
                        return token_answer
                    raise self._http_error(what, exc.code, raw) from None
                problem = Reason(f"HTTP {exc.code}", "tiktok_http_status", status=exc.code)
            except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
                reason = getattr(exc, "reason", None) or exc.__class__.__name__
                problem = Reason(f"cannot reach TikTok Shop ({reason})", "tiktok_unreachable", why=str(reason))
                raw = b""
            if not problem:
                answer = self._decode(what, raw)
                code = answer.get("code")
                if code not in RETRYABLE_CODES:
                    return answer
                problem = Reason(f"code {code}", "tiktok_code", error_code=str(code))
            if attempt >= self.max_retries:
                raise SourceError(f"TikTok Shop {what} failed {attempt + 1} times, last: {problem}", "tiktok_retries",
                                  what=what, times=attempt + 1, last=problem)
            delay = self._backoff(attempt, retry_after)
            log.warning("TikTok Shop %s for shop %s: %s, retrying in %.2fs", what, self.shop.name, problem, delay)
            self._sleep(delay)
            attempt += 1

    @staticmethod
    def _decode(what: str, raw: bytes) -> dict:
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SourceError(f"TikTok Shop {what} answered something that is not JSON", "tiktok_not_json",
                              what=what) from None
        if not isinstance(answer, dict):
            raise SourceError(f"TikTok Shop {what} answered JSON that is not an object", "tiktok_not_object",
                              what=what)
        return answer

    @staticmethod
    def _token_error_answer(raw: bytes) -> Optional[dict]:
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return answer if isinstance(answer, dict) and answer.get("code") in TOKEN_ERROR_CODES else None

    @staticmethod
    def _http_error(what: str, status: int, raw: bytes) -> SourceError:
        try:
            answer = json.loads(raw.decode("utf-8"))
            code, message = str(answer.get("code")), str(answer.get("message", ""))[:200]
        except (UnicodeDecodeError, ValueError, AttributeError):
            return SourceError(f"TikTok Shop {what} failed with HTTP {status}", "tiktok_http", what=what, status=status)
        return SourceError(f"TikTok Shop {what} failed with HTTP {status}: code {code} {message}", "tiktok_http_code",
                           what=what, status=status, error_code=code, message=message)

    # -- tokens --------------------------------------------------------------------------------

    def _token_due(self) -> bool:
        if not self.shop.access_token:
            return True
        expire_at = self.shop.access_token_expire_at
        if expire_at is None:
            # Unknown expiry: refresh at start and then on schedule, or the shop silently stops
            # being read once the token's 7 days are up.
            return bool(self.shop.refresh_token) and (
                self._refresh_tried_at is None or self._now() - self._refresh_tried_at >= UNKNOWN_EXPIRY_REFRESH)
        return expire_at - self._now() <= self.refresh_margin

    def refresh_access_token(self) -> None:
        """GET {auth_url}/api/v2/token/refresh as authorization-guide-202309.md describes.
        The refresh token may rotate: both tokens are kept and handed to on_token_refresh."""
        if not self.shop.refresh_token:
            raise SourceError(f"TikTok shop {self.shop.name!r}: the access token has expired and no refresh "
                              "token is configured (set the shop's REFRESH_TOKEN)", "tiktok_no_refresh_token",
                              shop=repr(self.shop.name))
        self._refresh_tried_at = self._now()
        query = urlencode({"app_key": self.config.app_key, "app_secret": self.config.app_secret,
                           "refresh_token": self.shop.refresh_token, "grant_type": "refresh_token"})
        answer = self._http("GET", f"{self.config.auth_url}{TOKEN_REFRESH_PATH}?{query}", None,
                            {"Accept": "application/json"}, TOKEN_REFRESH, TOKEN_REFRESH_PATH)
        data = answer.get("data") or {}
        if answer.get("code") != CODE_OK or not data.get("access_token"):
            code, message = str(answer.get("code")), str(answer.get("message", ""))[:200]
            raise SourceError(f"TikTok Shop token refresh for shop {self.shop.name!r} was refused: "
                              f"code {code} {message}", "tiktok_refresh_refused", shop=repr(self.shop.name),
                              error_code=code, message=message)
        self.shop.access_token = data["access_token"]
        self.shop.refresh_token = data.get("refresh_token") or self.shop.refresh_token
        expire_in = data.get("access_token_expire_in")  # despite the name, a Unix timestamp
        self.shop.access_token_expire_at = (datetime.fromtimestamp(int(expire_in), tz=timezone.utc)
                                            if isinstance(expire_in, (int, float)) and expire_in > 0 else None)
        log.info("TikTok Shop access token refreshed for shop %s", self.shop.name)
        if self.on_token_refresh:
            self.on_token_refresh(replace(self.shop))

    # -- signed API calls ----------------------------------------------------------------------

    def call(self, method: str, path: str, query: Optional[dict[str, Any]] = None,
             body: Optional[dict] = None, *, with_shop: bool = True) -> dict:
        """One signed API call; returns `data`. Any non-zero code raises SourceError."""
        if self._token_due():
            try:
                self.refresh_access_token()
            except SourceError:
                if not self.shop.access_token or self.shop.access_token_expire_at is not None:
                    raise
                # A token of unknown expiry may still be good: use it; if TikTok calls it expired,
                # the refresh below is tried again and its error reported.
                log.warning("TikTok Shop token refresh for shop %s failed; trying the current token", self.shop.name)
        refreshed = False
        while True:
            answer = self._signed(method, path, query or {}, body, with_shop)
            code = answer.get("code")
            if code in TOKEN_ERROR_CODES and not refreshed and self.shop.refresh_token:
                # Expired (or revoked) token: refresh once and repeat the same call.
                self.refresh_access_token()
                refreshed = True
                continue
            if code != CODE_OK:
                message = str(answer.get("message", ""))[:200]
                raise SourceError(f"TikTok Shop {method} {path} for shop {self.shop.name!r} failed: "
                                  f"code {code} {message}", "tiktok_call_failed", method=method, path=path,
                                  shop=repr(self.shop.name), error_code=str(code), message=message)
            data = answer.get("data")
            return data if isinstance(data, dict) else {}

    def _signed(self, method: str, path: str, query: dict[str, Any], body: Optional[dict],
                with_shop: bool) -> dict:
        params: dict[str, str] = {key: str(value) for key, value in query.items() if value is not None}
        params["app_key"] = self.config.app_key
        params["timestamp"] = str(int(self._now().timestamp()))
        if with_shop:
            params["shop_cipher"] = self.shop.shop_cipher
        # The bytes that are signed are the bytes that are sent.
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8") if body is not None else b""
        params["sign"] = sign_request(self.config.app_secret, path, params, payload)
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "x-tts-access-token": self.shop.access_token}
        url = f"{self.config.api_url}{path}?{urlencode(params)}"
        return self._http(method, url, payload if body is not None else None, headers, f"{method} {path}", path)

    # -- endpoints -----------------------------------------------------------------------------

    def warehouses(self) -> list[Warehouse]:
        data = self.call("GET", WAREHOUSES_PATH)
        result = []
        for item in data.get("warehouses") or []:
            result.append(Warehouse(id=str(item.get("id", "")), name=str(item.get("name") or ""),
                                    type=str(item.get("type") or ""), sub_type=str(item.get("sub_type") or ""),
                                    is_default=bool(item.get("is_default")),
                                    effect_status=str(item.get("effect_status") or "")))
        return result

    def warehouse_labels(self) -> dict[str, str]:
        """warehouse id -> what Stockbot calls it: the name when it is unique in the shop
        (names are not unique across TikTok), else the id. Read once per client."""
        if self._warehouse_labels is None:
            found = self.warehouses()
            counts: dict[str, int] = {}
            for warehouse in found:
                counts[warehouse.name] = counts.get(warehouse.name, 0) + 1
            self._warehouse_labels = {
                w.id: clean_text(w.name if w.name and counts[w.name] == 1 else w.id).strip()[:64] for w in found}
            self._overseas_labels = {self._warehouse_labels[w.id] for w in found if w.sub_type == OVERSEA_SUB_TYPE}
        return self._warehouse_labels

    def overseas_warehouses(self) -> set[str]:
        """Labels of the shop's cross-border overseas warehouses: their stock restocks in weeks."""
        self.warehouse_labels()
        return set(self._overseas_labels)

    def _pages(self, path: str, body: dict, key: str, query: Optional[dict] = None) -> Iterator[list[dict]]:
        token = ""
        seen: set[str] = set()
        while True:
            params = {"page_size": PAGE_SIZE, **(query or {})}
            if token:
                params["page_token"] = token
            try:
                data = self.call("POST", path, params, body)
            except SourceError as exc:
                if not token:
                    raise
                raise SourceError(f"{exc}{_page_token_note(token)}", "tiktok_page", error=reason_of(exc),
                                  token=token[:12]) from None
            yield list(data.get(key) or [])
            token = str(data.get("next_page_token") or "")
            if not token:
                return
            if token in seen:  # a server that hands back the same token would loop forever
                raise SourceError(f"TikTok Shop {path} returned the same page token twice", "tiktok_same_token",
                                  path=path)
            seen.add(token)

    def iter_product_pages(self, status: str = "ACTIVATE") -> Iterator[list[dict]]:
        """Pages of up to 100 products; `status` ACTIVATE leaves out drafts and deleted
        listings, which have no stock to watch ("ALL" reads everything)."""
        return self._pages(PRODUCTS_SEARCH_PATH, {"status": status} if status else {}, "products")

    def iter_products(self, status: str = "ACTIVATE") -> Iterator[dict]:
        for page in self.iter_product_pages(status):
            yield from page

    def inventory(self, product_ids: list[str] = (), sku_ids: list[str] = ()) -> list[dict]:
        """Inventory of whole products, or of single SKUs (the API takes one or the other)."""
        ids, key = (list(product_ids), "product_ids") if product_ids else (list(sku_ids), "sku_ids")
        if len(ids) > INVENTORY_BATCH:
            raise ValueError(f"inventory search takes at most {INVENTORY_BATCH} ids")
        data = self.call("POST", INVENTORY_SEARCH_PATH, None, {key: ids})
        return list(data.get("inventory") or [])

    def stock_of(self, product_ids: Sequence[str] = (), sku_ids: Sequence[str] = ()) -> list[StockRow]:
        """Fresh stock rows for a few products or SKUs (what a webhook names), all or nothing."""
        labels = self.warehouse_labels()
        rows: list[StockRow] = []
        for key, ids in (("product_ids", list(dict.fromkeys(product_ids))), ("sku_ids", list(dict.fromkeys(sku_ids)))):
            for start in range(0, len(ids), INVENTORY_BATCH):
                batch = ids[start:start + INVENTORY_BATCH]
                items = self.inventory(product_ids=batch) if key == "product_ids" else self.inventory(sku_ids=batch)
                for item in items:
                    rows.extend(self._stock_rows(item, None, labels))
        return rows

    def iter_stock(self, status: str = "ACTIVATE") -> Iterator[StockRow]:
        """A StockRow per seller SKU and warehouse (available_quantity of that warehouse)."""
        labels = self.warehouse_labels()
        for page in self.iter_product_pages(status):
            titles = {str(p.get("id")): clean_text(str(p.get("title") or "")).strip()[:255] or None for p in page}
            ids = list(titles)
            for start in range(0, len(ids), INVENTORY_BATCH):
                for item in self.inventory(ids[start:start + INVENTORY_BATCH]):
                    yield from self._stock_rows(item, titles.get(str(item.get("product_id"))), labels)

    @staticmethod
    def _stock_rows(item: dict, name: Optional[str], labels: dict[str, str]) -> Iterator[StockRow]:
        for sku in item.get("skus") or []:
            key = str(sku.get("seller_sku") or "").strip() or str(sku.get("id") or "").strip()
            if not key:
                raise SourceError(f"TikTok Shop product {item.get('product_id')} has a SKU with no id", "tiktok_sku_no_id",
                                  product=str(item.get("product_id")))
            problem = sku_problem(key)  # the rules of /threshold set
            if problem:
                raise SourceError(f"TikTok Shop seller_sku of SKU id {str(sku.get('id'))[:40]}: {problem}",
                                  "tiktok_bad_seller_sku", id=str(sku.get("id"))[:40], problem=problem)
            per_warehouse = sku.get("warehouse_inventory") or []
            if not per_warehouse:
                yield StockRow(sku=key, available=int(sku.get("total_available_quantity") or 0), name=name)
            for entry in per_warehouse:
                warehouse_id = str(entry.get("warehouse_id") or "")
                quantity = entry.get("available_quantity")
                if not isinstance(quantity, int):
                    raise SourceError(f"TikTok Shop gave no available quantity for {key} in warehouse {warehouse_id}",
                                      "tiktok_no_quantity", sku=key, warehouse_id=warehouse_id)
                yield StockRow(sku=key, available=quantity, warehouse=labels.get(warehouse_id, warehouse_id[:64]),
                               name=name)

    def iter_order_lines(self, update_time_ge: datetime) -> Iterator[OrderLine]:
        """Line items of orders updated since `update_time_ge` (oldest update first), so
        the caller can count daily sales and drop cancelled lines."""
        if update_time_ge.tzinfo is None:
            update_time_ge = update_time_ge.replace(tzinfo=timezone.utc)
        labels = self.warehouse_labels()
        body = {"update_time_ge": int(update_time_ge.timestamp())}
        query = {"sort_field": "update_time", "sort_order": "ASC"}
        for page in self._pages(ORDERS_SEARCH_PATH, body, "orders", query):
            for order in page:
                yield from self._order_lines(order, labels)

    @staticmethod
    def _order_lines(order: dict, labels: dict[str, str]) -> Iterator[OrderLine]:
        order_id = str(order.get("id") or "")
        created = datetime.fromtimestamp(int(order.get("create_time") or 0), tz=timezone.utc)
        warehouse_id = str(order.get("warehouse_id") or "")
        warehouse = labels.get(warehouse_id, warehouse_id[:64])
        for line in order.get("line_items") or []:
            sku = str(line.get("seller_sku") or "").strip() or str(line.get("sku_id") or "").strip()
            if sku_problem(sku):  # no SKU, or one no command could name: its sales cannot be used
                continue
            quantity = line.get("quantity")
            units = quantity if isinstance(quantity, int) and quantity > 0 else 1
            status = str(line.get("display_status") or order.get("status") or "")
            yield OrderLine(order_id=order_id, sku=sku, units=units, created_at=created, status=status,
                            warehouse=warehouse, sku_id=str(line.get("sku_id") or ""))


def read_shop_stock(client: TikTokShopClient) -> list[StockRow]:
    """Every SKU of the shop, or SourceError: nothing partial is ever returned.

    The same seller SKU on two listings in one warehouse is summed into one row."""
    rows: dict[tuple[str, str], StockRow] = {}
    try:
        for row in client.iter_stock():
            key = (row.sku, row.warehouse)
            if key in rows:
                row = replace(rows[key], available=rows[key].available + row.available)
            rows[key] = row
    except SourceError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # A malformed answer: report it as an untrusted read, not a crash.
        raise SourceError(f"TikTok Shop shop {client.shop.name!r} sent an answer Stockbot cannot read "
                          f"({exc.__class__.__name__})", "tiktok_unreadable", shop=repr(client.shop.name),
                          error=exc.__class__.__name__) from None
    if not rows:
        raise SourceError(f"TikTok Shop shop {client.shop.name!r} returned no products", "tiktok_no_products",
                          shop=repr(client.shop.name))
    return list(rows.values())


# ---- webhooks --------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookEvent:
    type: int
    shop_id: str  # for FBT updates (type 24), which carry no shop id: the seller_open_id
    timestamp: int
    product_ids: tuple[str, ...] = ()
    sku_ids: tuple[str, ...] = ()
    order_id: str = ""
    status: str = ""  # order_status (type 1) or current_inventory_status (type 27)
    dedupe_key: str = ""  # tts_notification_id: TikTok retries a push up to 4 times

    @property
    def skus_or_product_ids(self) -> tuple[str, ...]:
        return self.sku_ids + self.product_ids


def parse_webhook(body: bytes) -> WebhookEvent:
    """A webhook push as an event; unknown topics parse with no ids. ValueError when the
    body is not a JSON object with an integer type."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("webhook body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), int):
        raise ValueError("webhook body has no integer type")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    kind = payload["type"]
    product_ids: tuple[str, ...] = ()
    sku_ids: tuple[str, ...] = ()
    order_id = status = ""
    if kind == WEBHOOK_INVENTORY_STATUS_CHANGE:
        product_ids = _ids(data.get("product_id"))
        sku_ids = _ids(data.get("sku_id"))
        status = str(data.get("current_inventory_status") or "")
    elif kind == WEBHOOK_FBT_INVENTORY_UPDATE:
        sku_ids = _ids(data.get("sku_id"))
    elif kind == WEBHOOK_ORDER_STATUS_CHANGE:
        order_id = str(data.get("order_id") or "")
        status = str(data.get("order_status") or "")
    dedupe = str(payload.get("tts_notification_id") or "") or \
        base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:18]).decode()
    return WebhookEvent(type=kind, shop_id=str(payload.get("shop_id") or payload.get("seller_open_id") or ""),
                        timestamp=int(payload.get("timestamp") or 0), product_ids=product_ids, sku_ids=sku_ids,
                        order_id=order_id, status=status, dedupe_key=dedupe)


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v not in (None, ""))
    return (str(value),) if value not in (None, "") else ()


def clients_for(config: TikTokConfig, **kwargs: Any) -> list[TikTokShopClient]:
    """One client per configured shop."""
    return [TikTokShopClient(config, shop, **kwargs) for shop in config.shops]


__all__ = [
    "DEFAULT_API_URL", "DEFAULT_AUTH_URL", "OrderLine", "RateLimiter", "ShopConfig", "TikTokConfig",
    "TikTokShopClient", "Warehouse", "WebhookEvent", "clients_for", "load_tiktok_config", "parse_webhook",
    "read_shop_stock", "sign_request", "verify_webhook",
]
