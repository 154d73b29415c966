"""TikTok Shop as a stock source: the shell around bot.sources.tiktok's client.

- Scheduled: every check reads each shop's full stock (all or nothing) and the orders
  updated since the last sync, which become daily sales.
- Webhooks (POST /webhooks/tiktok): verified, de-duplicated, answered at once; the
  products/SKUs they name are re-read in the background and checked immediately.

Clients are kept for the life of the process, so a refreshed access token is reused; the
tokens TikTok hands back are also stored in the database, so a restart does not fall
back to the (possibly rotated) ones in the environment.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Optional

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.sources import SourceError
from bot.sources.tiktok import (
    WEBHOOK_ORDER_STATUS_CHANGE,
    ShopConfig,
    TikTokConfig,
    TikTokShopClient,
    WebhookEvent,
    load_tiktok_config,
    read_shop_stock,
)
from bot.tenancy import carry, current_team
from storage import repo
from storage.db import session as open_session

if TYPE_CHECKING:
    from bot.checker import Checker
    from bot.sources.registry import Source

log = logging.getLogger(__name__)

FIRST_ORDER_SYNC = timedelta(days=30)  # history fetched the first time a shop is synced
ORDER_SYNC_OVERLAP = timedelta(minutes=10)  # re-read a little: orders updated during the last sync
CANCELLED = ("CANCELLED", "CANCEL", "CANCELED")
# Webhooks older than this are refused (bot.web), so deliveries older than this can be forgotten.
WEBHOOK_MAX_AGE = timedelta(hours=73)  # TikTok retries for up to 72 hours
WEBHOOK_CLOCK_SKEW = timedelta(minutes=10)  # how far in the future a timestamp may be
_last_prune = [datetime.min.replace(tzinfo=timezone.utc)]

_clients: dict[tuple[str, str], TikTokShopClient] = {}
_clients_lock = threading.Lock()
_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tiktok-webhook")


def source_name(shop: ShopConfig) -> str:
    return f"tiktok:{shop.name}"


def config_of(settings: Settings) -> Optional[TikTokConfig]:
    return load_tiktok_config(dict(settings.tiktok_env))


def _token_key(shop: ShopConfig) -> str:
    return f"tiktok_tokens:{shop.name}"[:64]


def client_for(config: TikTokConfig, shop: ShopConfig, engine: Optional[Engine]) -> TikTokShopClient:
    """The process's client for a shop of the current team, with the newest tokens we know of."""
    key = (current_team(), config.api_url, shop.name)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.config.app_key != config.app_key:
            configured_refresh_token = shop.refresh_token  # the one in the environment
            if engine is not None:
                _load_saved_tokens(engine, shop)
            client = TikTokShopClient(
                # carry: refreshed tokens are saved as this team's, whichever thread refreshes them
                config, shop, on_token_refresh=carry(lambda s: _save_tokens(engine, s, configured_refresh_token)))
            _clients[key] = client
        return client


def _load_saved_tokens(engine: Engine, shop: ShopConfig) -> None:
    with open_session(engine) as session:
        saved = repo.get_meta(session, _token_key(shop))
    if not saved:
        return
    data = json.loads(saved)
    if data.get("configured_refresh_token") != shop.refresh_token:
        return  # the seller has put a new authorization in the environment since: use it
    shop.access_token, shop.refresh_token = data["access_token"], data["refresh_token"]
    shop.access_token_expire_at = datetime.fromtimestamp(data["expire_at"], tz=timezone.utc) \
        if data.get("expire_at") else None


def _save_tokens(engine: Optional[Engine], shop: ShopConfig, configured_refresh_token: str) -> None:
    if engine is None:
        return
    expire = int(shop.access_token_expire_at.timestamp()) if shop.access_token_expire_at else None
    value = json.dumps({"access_token": shop.access_token, "refresh_token": shop.refresh_token,
                        "expire_at": expire, "configured_refresh_token": configured_refresh_token})
    with open_session(engine) as session:
        repo.set_meta(session, _token_key(shop), value)
        session.commit()


def tiktok_sources(settings: Settings, engine: Optional[Engine] = None) -> list["Source"]:
    from bot.sources.registry import Source

    config = config_of(settings)
    if config is None:
        raise SourceError("`tiktok` is in STOCK_SOURCE but TIKTOK_APP_KEY is not set", "tiktok_no_app_key")
    sources = []
    for shop in config.shops:
        client = client_for(config, shop, engine)
        name = source_name(shop)
        sources.append(Source(name=name, read=lambda c=client: read_shop_stock(c),
                              sync_sales=lambda eng, now, c=client, n=name: _sync_after_read(c, n, eng, now)))
    return sources


def _sync_after_read(client: TikTokShopClient, name: str, engine: Engine, now: datetime) -> None:
    sync_orders(client, name, engine, now)
    # Which warehouses are overseas decides the default lead time (bot.planning.lead_days_for).
    labels = set(client.warehouse_labels().values())
    overseas = client.overseas_warehouses()
    with open_session(engine) as session:
        repo.remember_warehouse_kinds(session, name, overseas, labels - overseas, now)
        session.commit()


# ---- orders -> daily sales -------------------------------------------------------------------

def sync_orders(client: TikTokShopClient, name: str, engine: Engine, now: datetime) -> list[str]:
    """Fetch orders updated since the last sync into order lines and daily sales.

    Returns TikTok SKU ids of the lines seen (to re-read their stock after an order event).
    An order seen again replaces its lines, so redeliveries and status changes never count twice.
    """
    cursor_key = f"orders_synced_at:{name}"[:64]
    with open_session(engine) as session:
        cursor = repo.get_meta(session, cursor_key)
    since = datetime.fromisoformat(cursor) - ORDER_SYNC_OVERLAP if cursor else now - FIRST_ORDER_SYNC
    units: dict[tuple[str, str, str], dict] = {}
    sku_ids: list[str] = []
    for line in client.iter_order_lines(since):
        key = (line.order_id, line.sku, line.warehouse)
        row = units.setdefault(key, {"source": name, "order_id": line.order_id, "sku": line.sku,
                                     "warehouse": line.warehouse, "day": line.created_at.date(), "units": 0,
                                     "cancelled": True})
        if line.status.upper() not in CANCELLED:
            row["units"] += line.units
            row["cancelled"] = False
        if line.sku_id:
            sku_ids.append(line.sku_id)
    with engine.begin() as conn:
        repo.replace_order_lines(conn, name, list(units.values()))
        repo.set_meta_conn(conn, cursor_key, now.isoformat())
    return list(dict.fromkeys(sku_ids))


# ---- webhooks --------------------------------------------------------------------------------

def accept_webhook(checker: "Checker", event: WebhookEvent, now: datetime) -> bool:
    """Record the delivery; False when it was already handled (TikTok retries until it sees 200).

    The work itself runs in the background so TikTok gets its 200 at once.
    """
    with open_session(checker.engine) as session:
        if not repo.record_delivery(session, f"tiktok:{event.dedupe_key}", now):
            return False
        if now - _last_prune[0] > timedelta(hours=1):
            _last_prune[0] = now
            repo.forget_deliveries(session, now - 2 * WEBHOOK_MAX_AGE)
    _background.submit(carry(_handle_event), checker, event)  # the webhook's team, in the pool's thread
    return True


def _handle_event(checker: "Checker", event: WebhookEvent) -> None:
    try:
        config = config_of(checker.settings)
        if config is None:
            return
        for shop in config.shops:
            client = client_for(config, shop, checker.engine)
            name, now = source_name(shop), repo.utcnow()
            product_ids, sku_ids = list(event.product_ids), list(event.sku_ids)
            if event.type == WEBHOOK_ORDER_STATUS_CHANGE:
                sku_ids += sync_orders(client, name, checker.engine, now)
            if not product_ids and not sku_ids:
                continue
            try:
                rows = client.stock_of(product_ids=product_ids, sku_ids=[] if product_ids else sku_ids)
            except SourceError as exc:
                if len(config.shops) > 1:  # the ids belong to another of the seller's shops
                    log.info("webhook ids not in shop %s: %s", shop.name, exc)
                    continue
                raise
            if rows:
                checker.write_stock(name, rows, now)
                checker.check_soon(row.sku for row in rows)
    except Exception:  # background work: log it; the next scheduled sync reads everything anyway
        log.exception("handling a TikTok webhook (type %s) failed", event.type)
