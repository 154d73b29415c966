"""Queries, kept in one place so the listeners and the checker share them.

Functions take an open Session (or Connection) and never commit unless their name says
they write; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable, Iterator, Optional, Sequence

from sqlalchemy import any_, bindparam, func, literal, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, delete, select

from bot.tenancy import current_team
from storage.models import (
    Alert,
    Campaign,
    ChannelProblem,
    Episode,
    Meta,
    OrderLine,
    OutboxEntry,
    Reorder,
    SalesDay,
    SkuPlan,
    SkuSnooze,
    SourceState,
    Stock,
    StockDay,
    Threshold,
    ThresholdChange,
    WarehouseKind,
    WebhookDelivery,
)
from storage.scoping import SCOPED_BY_HAND

LIST_PAGE_SIZE = 25
IN_LIST_SIZE = 500  # values per IN (...) list: well under every database's parameter limit


def utcnow() -> datetime:
    """Timezone-aware UTC: SQLModel stores it as UTC and gives it back aware, on SQLite and Postgres."""
    return datetime.now(timezone.utc)


# ---- thresholds --------------------------------------------------------------------------

def get_threshold(session: Session, sku: str) -> Optional[Threshold]:
    return session.get(Threshold, sku)


_LOOK_UP = object()
KEEP = object()  # save_threshold's channel / warehouse: as stored (None for a new threshold)


def save_threshold(session: Session, sku: str, warning_level: int, critical_level: int,
                   channel, user: str, now: datetime, warehouse=None, current=_LOOK_UP) -> Optional[Threshold]:
    """Create or change a threshold and record the change. Returns the old values (a copy) or None.

    `channel` and `warehouse` may be KEEP. `current`: the stored threshold (or None) when the
    caller has already loaded it in bulk.
    """
    if current is _LOOK_UP:
        current = session.get(Threshold, sku)
    if channel is KEEP:
        channel = current.channel if current else None
    if warehouse is KEEP:
        warehouse = current.warehouse if current else None
    old = Threshold.model_validate(current.model_dump()) if current else None
    if current is None:
        current = Threshold(sku=sku, warning_level=warning_level, critical_level=critical_level,
                            channel=channel, updated_by=user, updated_at=now, warehouse=warehouse)
        session.add(current)
    else:
        current.warning_level, current.critical_level = warning_level, critical_level
        current.channel, current.updated_by, current.updated_at = channel, user, now
        current.warehouse = warehouse
    session.add(ThresholdChange(
        sku=sku, changed_by=user, changed_at=now, action="set",
        old_warning=old.warning_level if old else None, old_critical=old.critical_level if old else None,
        old_channel=old.channel if old else None,
        new_warning=warning_level, new_critical=critical_level, new_channel=channel))
    return old


def turn_auto_off(session: Session, sku: str) -> bool:
    """A level set by hand wins over auto mode. Returns whether auto was on."""
    plan = session.get(SkuPlan, sku)
    if plan is None or not plan.auto:
        return False
    plan.auto = False
    session.add(plan)
    return True


def remove_threshold(session: Session, sku: str, user: str, now: datetime) -> Optional[Threshold]:
    current = session.get(Threshold, sku)
    if current is None:
        return None
    old = Threshold.model_validate(current.model_dump())
    session.delete(current)
    session.add(ThresholdChange(sku=sku, changed_by=user, changed_at=now, action="remove",
                                old_warning=old.warning_level, old_critical=old.critical_level,
                                old_channel=old.channel))
    return old


def list_thresholds(session: Session, prefix: str, page: int,
                    page_size: int = LIST_PAGE_SIZE) -> tuple[list[Threshold], int]:
    where = _prefix_filter(Threshold.sku, prefix) if prefix else literal(True)
    total = session.exec(select(func.count()).select_from(Threshold).where(where)).one()
    rows = session.exec(select(Threshold).where(where).order_by(Threshold.sku)
                        .offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), int(total)


def threshold_history(session: Session, sku: str, limit: int = 20) -> list[ThresholdChange]:
    return list(session.exec(select(ThresholdChange).where(ThresholdChange.sku == sku)
                             .order_by(col(ThresholdChange.changed_at).desc(), col(ThresholdChange.id).desc())
                             .limit(limit)).all())


def count_thresholds(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Threshold)).one())


# ---- stock -------------------------------------------------------------------------------

def stock_rows(session: Session, sku: str) -> list[Stock]:
    return list(session.exec(select(Stock).where(Stock.sku == sku).order_by(Stock.warehouse)).all())


def _insert(conn: Connection, table):
    """INSERT with ON CONFLICT support, for the database the connection talks to."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def upsert_stock(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert or update (sku, warehouse) rows in one statement per batch."""
    if not rows:
        return
    table = Stock.__table__
    insert = _insert(conn, table)
    statement = insert.on_conflict_do_update(
        index_elements=["team_id", "sku", "warehouse"],
        set_={"available": insert.excluded.available, "name": func.coalesce(insert.excluded.name, table.c.name),
              "source": insert.excluded.source, "read_at": insert.excluded.read_at,
              # Left out of a row (None): keep what an earlier read said; send 0 to clear.
              "on_order": func.coalesce(insert.excluded.on_order, table.c.on_order),
              # Every read says afresh whether the SKU is oversold.
              "oversold": insert.excluded.oversold},
    )
    conn.execute(statement, [{"name": None, "on_order": None, "oversold": None, **row} for row in rows])
    record_stock_days(conn, rows)


def record_stock_days(conn: Connection, rows: Sequence[dict]) -> None:
    """Keep each (sku, warehouse)'s closing available of the day (UTC) of its read, for the stock chart.

    One row per SKU, warehouse and day: a later write that day replaces the value, and only
    when it differs (an unchanged value writes nothing, on SQLite and Postgres alike).
    """
    if not rows:
        return
    latest: dict[tuple[str, str, date], int] = {}  # the last of several rows for one key in a batch wins
    days: dict[datetime, date] = {}  # a write's rows share one read time: convert it once
    for row in rows:
        read_at = row["read_at"]
        day = days.get(read_at)
        if day is None:
            day = days[read_at] = (read_at.astimezone(timezone.utc) if read_at.tzinfo else read_at).date()
        latest[(row["sku"], row.get("warehouse") or "", day)] = row["available"]
    table = StockDay.__table__
    insert = _insert(conn, table)
    statement = insert.on_conflict_do_update(index_elements=["team_id", "sku", "warehouse", "day"],
                                             set_={"available": insert.excluded.available},
                                             where=table.c.available != insert.excluded.available)
    conn.execute(statement, [{"sku": sku, "warehouse": warehouse, "day": day, "available": available}
                             for (sku, warehouse, day), available in latest.items()])


def stock_history(session: Session, sku: str, since: date, until: date,
                  warehouse: Optional[str] = None) -> list[tuple[date, int]]:
    """Closing available per day from `since` to `until` (oldest first), summed over the SKU's
    warehouses (or one), a day without a row carrying the day before. Days before the first
    known value are left out."""
    query = select(StockDay.warehouse, StockDay.day, StockDay.available).where(
        StockDay.sku == sku, col(StockDay.day) <= until)
    if warehouse is not None:
        query = query.where(StockDay.warehouse == warehouse)
    # Rows inside the window, plus each warehouse's last row before it (its value on `since`).
    before = (select(StockDay.warehouse, func.max(StockDay.day).label("day"))
              .where(StockDay.sku == sku, col(StockDay.day) < since).group_by(StockDay.warehouse).subquery())
    carried = (select(StockDay.warehouse, StockDay.day, StockDay.available)
               .join(before, (col(StockDay.warehouse) == before.c.warehouse) & (col(StockDay.day) == before.c.day))
               .where(StockDay.sku == sku))
    if warehouse is not None:
        carried = carried.where(StockDay.warehouse == warehouse)
    changes: dict[date, dict[str, int]] = {}
    current: dict[str, int] = {}
    for name, day, available in session.exec(carried).all():
        current[name] = available
    for name, day, available in session.exec(query.where(col(StockDay.day) >= since)).all():
        changes.setdefault(day, {})[name] = available
    history = []
    day = since
    while day <= until:
        current.update(changes.get(day, {}))
        if current:
            history.append((day, sum(current.values())))
        day = date.fromordinal(day.toordinal() + 1)
    return history


def prune_stock_history(conn: Connection, before: date) -> int:
    """Delete stock history older than `before`, except each (sku, warehouse)'s last row before it:
    that row is still the value on `before` (days without a row carry the day before). Returns
    how many rows went."""
    older = aliased(StockDay)
    table = StockDay.__table__
    superseded = (select(literal(1)).select_from(older)
                  .where(older.team_id == table.c.team_id, older.sku == table.c.sku, older.warehouse == table.c.warehouse,
                         col(older.day) > table.c.day, col(older.day) < before))
    # A plain-table DELETE: storage.scoping does not narrow it, so the team is said here.
    result = conn.execute(table.delete().where(table.c.team_id == current_team(), table.c.day < before,
                                               superseded.exists()))
    return int(result.rowcount or 0)


def first_stock_day(session: Session, sku: str) -> Optional[date]:
    """The first day the SKU's stock history has (a cheap "is there a history to draw?")."""
    return session.exec(select(func.min(StockDay.day)).where(StockDay.sku == sku)).one()


def upsert_sales(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert or replace daily units: the same (sku, warehouse, day, source) sent again replaces them."""
    if not rows:
        return
    insert = _insert(conn, SalesDay.__table__)
    statement = insert.on_conflict_do_update(index_elements=["team_id", "sku", "warehouse", "day", "source"],
                                             set_={"units": insert.excluded.units})
    conn.execute(statement, list(rows))


def replace_order_lines(conn: Connection, source: str, rows: Sequence[dict]) -> None:
    """Store marketplace order lines (an order seen again replaces its lines) and rebuild the
    daily sales of every (sku, warehouse, day) they touch from all lines of that source."""
    if not rows:
        return
    insert = _insert(conn, OrderLine.__table__)
    conn.execute(insert.on_conflict_do_update(
        index_elements=["team_id", "source", "order_id", "sku", "warehouse"],
        set_={"day": insert.excluded.day, "units": insert.excluded.units, "cancelled": insert.excluded.cancelled},
    ), list(rows))
    # A key whose lines are all cancelled now counts 0, so it starts at 0 and is written too.
    units = {(row["sku"], row["warehouse"], row["day"]): 0 for row in rows}
    skus = sorted({sku for sku, _, _ in units})
    first_day, last_day = min(day for _, _, day in units), max(day for _, _, day in units)
    for chunk in _chunks(skus):  # one grouped query per chunk, not one per key
        query = (select(OrderLine.sku, OrderLine.warehouse, OrderLine.day, func.sum(OrderLine.units))
                 .where(OrderLine.source == source, col(OrderLine.sku).in_(chunk),
                        col(OrderLine.day) >= first_day, col(OrderLine.day) <= last_day,
                        col(OrderLine.cancelled).is_(False))
                 .group_by(OrderLine.sku, OrderLine.warehouse, OrderLine.day))
        for sku, warehouse, day, total in conn.execute(query):
            if (sku, warehouse, day) in units:
                units[(sku, warehouse, day)] = int(total)
    upsert_sales(conn, [{"sku": sku, "warehouse": warehouse, "day": day, "source": source, "units": total}
                        for (sku, warehouse, day), total in units.items()])


def _chunks(skus: Sequence[str]) -> Iterator[list[str]]:
    """SKUs in lists small enough for one IN (...)."""
    for start in range(0, len(skus), IN_LIST_SIZE):
        yield list(skus[start:start + IN_LIST_SIZE])


def _prefix_filter(column, prefix: str):
    # LIKE is case-insensitive on SQLite, but SKUs are case-sensitive: substr keeps it exact.
    return col(column).startswith(prefix, autoescape=True) & (func.substr(column, 1, len(prefix)) == prefix)


def sales_by_sku(session: Session, skus: Sequence[str], since: date, until: date) -> dict[str, dict[date, int]]:
    """Units per SKU and day (all warehouses and sources), `since`..`until` inclusive, in one query."""
    result: dict[str, dict[date, int]] = {sku: {} for sku in skus}
    for chunk in _chunks(skus):
        query = (select(SalesDay.sku, SalesDay.day, func.sum(SalesDay.units))
                 .where(col(SalesDay.sku).in_(chunk), col(SalesDay.day) >= since, col(SalesDay.day) <= until)
                 .group_by(SalesDay.sku, SalesDay.day))
        # Core rows, not ORM ones: the nightly recompute reads ~90 rows per SKU, and ORM row
        # processing was most of its time.
        for sku, day, units in session.connection().execute(query):
            result[sku][day] = int(units)
    return result


def last_sales_day(session: Session) -> Optional[date]:
    """The newest day any sales arrived for, over every SKU and source."""
    return session.exec(select(func.max(SalesDay.day))).one()


def has_sales(session: Session, sku: str, since: date) -> bool:
    return session.exec(select(SalesDay.sku).where(SalesDay.sku == sku, col(SalesDay.day) >= since)
                        .limit(1)).first() is not None


def recent_daily_units(session: Session, skus: Sequence[str], since: date, days: int) -> dict[str, float]:
    """Units sold per day since `since` (over `days` days), for many SKUs at once; SKUs without sales are left out."""
    result: dict[str, float] = {}
    for start in range(0, len(skus), IN_LIST_SIZE):
        query = (select(SalesDay.sku, func.sum(SalesDay.units))
                 .where(col(SalesDay.sku).in_(skus[start:start + IN_LIST_SIZE]), col(SalesDay.day) >= since)
                 .group_by(SalesDay.sku))
        for sku, units in session.exec(query):
            if units:
                result[sku] = float(units) / days
    return result


def known_skus(session: Session, prefix: str = "") -> list[str]:
    """SKUs Stockbot knows (a threshold or a stock row), optionally starting with `prefix`."""
    skus: set[str] = set()
    for column in (Threshold.sku, Stock.sku):
        query = select(column).distinct()
        if prefix:
            query = query.where(_prefix_filter(column, prefix))
        skus.update(session.exec(query).all())
    return sorted(skus)


def sku_known(session: Session, sku: str) -> bool:
    return (session.get(Threshold, sku) is not None
            or session.exec(select(Stock.sku).where(Stock.sku == sku).limit(1)).first() is not None
            or session.exec(select(SalesDay.sku).where(SalesDay.sku == sku).limit(1)).first() is not None)


def stock_warehouses(session: Session, skus: Sequence[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {sku: set() for sku in skus}
    for chunk in _chunks(skus):
        for sku, warehouse in session.exec(select(Stock.sku, Stock.warehouse).where(col(Stock.sku).in_(chunk))).all():
            out[sku].add(warehouse)
    return out


def remember_warehouse_kinds(session: Session, source: str, overseas: Iterable[str], domestic: Iterable[str],
                             now: datetime) -> None:
    for names, is_overseas in ((overseas, True), (domestic, False)):
        for name in names:
            row = session.get(WarehouseKind, name) or WarehouseKind(name=name, source=source, seen_at=now)
            row.overseas, row.source, row.seen_at = is_overseas, source, now
            session.add(row)


def overseas_warehouse_names(session: Session) -> set[str]:
    return set(session.exec(select(WarehouseKind.name).where(col(WarehouseKind.overseas).is_(True))).all())


# ---- plans and campaigns -------------------------------------------------------------------

def get_plan(session: Session, sku: str) -> Optional[SkuPlan]:
    return session.get(SkuPlan, sku)


def plan_for_update(session: Session, sku: str) -> SkuPlan:
    return session.get(SkuPlan, sku) or SkuPlan(sku=sku)


def _rows_by_sku(session: Session, model, skus: Sequence[str]) -> dict:
    """Rows of a table keyed by SKU, in one query per IN_LIST_SIZE SKUs."""
    out = {}
    for chunk in _chunks(skus):
        out.update({row.sku: row for row in session.exec(select(model).where(col(model.sku).in_(chunk))).all()})
    return out


def thresholds_for(session: Session, skus: Sequence[str]) -> dict[str, Threshold]:
    return _rows_by_sku(session, Threshold, skus)


def plans_for(session: Session, skus: Sequence[str]) -> dict[str, SkuPlan]:
    return _rows_by_sku(session, SkuPlan, skus)


def auto_skus(session: Session, skus: Optional[Sequence[str]] = None) -> list[str]:
    query = select(SkuPlan.sku).where(col(SkuPlan.auto).is_(True)).order_by(SkuPlan.sku)
    found = list(session.exec(query).all())
    if skus is None:
        return found
    wanted = set(skus)
    return [sku for sku in found if sku in wanted]


def active_campaigns(session: Session, today: date) -> list[Campaign]:
    """Campaigns not yet over, soonest first."""
    return list(session.exec(select(Campaign).where(col(Campaign.end) >= today)
                             .order_by(Campaign.start, Campaign.id)).all())


def campaign_applies(campaign: Campaign, sku: str) -> bool:
    if campaign.target == "*":
        return True
    if campaign.target.endswith("*"):
        return sku.startswith(campaign.target[:-1])
    return campaign.target == sku


# ---- episodes, alerts, reorders ----------------------------------------------------------

def open_episode(session: Session, sku: str) -> Optional[Episode]:
    return session.exec(select(Episode).where(Episode.open_sku == sku)).first()


def alerts_for_episodes(session: Session, episode_ids: Iterable[int]) -> dict[int, list[Alert]]:
    ids = list(episode_ids)
    result: dict[int, list[Alert]] = {episode_id: [] for episode_id in ids}
    if ids:
        for alert in session.exec(select(Alert).where(col(Alert.episode_id).in_(ids)).order_by(Alert.id)):
            result[alert.episode_id].append(alert)
    return result


def all_snoozes(session: Session) -> dict[str, SkuSnooze]:
    """Every snooze (a check reads them once: only SKUs someone snoozed have a row)."""
    return {snooze.sku: snooze for snooze in session.exec(select(SkuSnooze))}


def active_snooze(session: Session, sku: str, now: datetime) -> Optional[SkuSnooze]:
    snooze = session.get(SkuSnooze, sku)
    return snooze if snooze is not None and (snooze.until is None or now < snooze.until) else None


def save_snooze(session: Session, sku: str, tier: int, until: Optional[datetime], user: str,
                now: datetime) -> SkuSnooze:
    """Snooze a SKU, replacing its snooze if it has one (one upsert: two people choosing at
    once cannot collide), in the caller's transaction."""
    table = SkuSnooze.__table__
    values = {"sku": sku, "tier": tier, "until": until, "snoozed_by": user, "snoozed_at": now}
    insert = _insert(session.connection(), table).values(**values)
    session.execute(insert.on_conflict_do_update(
        index_elements=["team_id", "sku"], set_={name: insert.excluded[name] for name in values if name != "sku"}))
    return SkuSnooze(**values)


def end_snooze(session: Session, sku: str, snoozed_at: datetime) -> bool:
    """Remove the SKU's snooze if it is still the one the caller saw (not replaced since), in the
    caller's transaction."""
    result = session.exec(delete(SkuSnooze).where(col(SkuSnooze.sku) == sku,
                                                  col(SkuSnooze.snoozed_at) == snoozed_at))
    return bool(result.rowcount)


@dataclass(frozen=True)
class AlertState:
    """What a check needs of a posted alert to plan its next step (the Alert fields of the same names)."""
    id: int
    tier: int
    posted_at: datetime
    acked_by: Optional[str]
    last_reminded_at: Optional[datetime]
    channel: str
    digest_id: Optional[int]


def _one_of(session: Session, column, values: list):
    """`column IN values`; on Postgres `= ANY(array)`: one parameter, not one per value (a steady
    check sends ~500 per batch, and building and converting such IN lists cost more than the query)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return col(column).in_(values)


def alert_states(session: Session, episode_ids: Iterable[int]) -> dict[int, list[AlertState]]:
    """alerts_for_episodes for the check's planning: plain rows, not ORM objects, as the steady
    check reads one per open episode every time and loading them was a fifth of its time."""
    ids = list(episode_ids)
    result: dict[int, list[AlertState]] = {episode_id: [] for episode_id in ids}
    if ids:
        query = (select(Alert.episode_id, Alert.id, Alert.tier, Alert.posted_at, Alert.acked_by,
                        Alert.last_reminded_at, Alert.channel, Alert.digest_id)
                 .where(_one_of(session, Alert.episode_id, ids)).order_by(Alert.id))
        for episode_id, *state in session.connection().execute(query):
            result[episode_id].append(AlertState(*state))
    return result


def open_reorder_quantities(session: Session, skus: Iterable[str]) -> dict[str, int]:
    """Units on open reorders per SKU (SKUs without any are left out), summed by the database."""
    keys = list(skus)
    if not keys:
        return {}
    query = (select(Reorder.sku, func.sum(Reorder.quantity))
             .where(_one_of(session, Reorder.sku, keys), Reorder.status == "open").group_by(Reorder.sku))
    return {sku: int(total) for sku, total in session.connection().execute(query)}


def open_reorders(session: Session, skus: Iterable[str]) -> dict[str, list[Reorder]]:
    keys = list(skus)
    result: dict[str, list[Reorder]] = {sku: [] for sku in keys}
    if keys:
        query = (select(Reorder).where(col(Reorder.sku).in_(keys), Reorder.status == "open")
                 .order_by(Reorder.id))
        for reorder in session.exec(query):
            result[reorder.sku].append(reorder)
    return result


def reorders_for_episode(session: Session, episode: Episode) -> list[Reorder]:
    """Reorders shown on an episode's alerts: open ones, or those the recovery received."""
    query = select(Reorder).where(
        Reorder.sku == episode.sku, Reorder.status != "cancelled",
        or_(Reorder.status == "open", col(Reorder.closed_at) >= episode.opened_at),
    ).order_by(Reorder.id)
    return list(session.exec(query).all())


def list_open_reorders(session: Session, sku: Optional[str], limit: int = 50) -> list[Reorder]:
    query = select(Reorder).where(Reorder.status == "open")
    if sku:
        query = query.where(Reorder.sku == sku)
    return list(session.exec(query.order_by(Reorder.eta, Reorder.id).limit(limit)).all())


def open_alert_rows(session: Session, limit: int) -> tuple[list[tuple[Alert, Threshold]], int]:
    """The worst alert of each open episode (for the App Home), worst tier first."""
    worst = (select(Alert.episode_id, func.max(Alert.tier).label("tier"))
             .join(Episode, col(Episode.id) == Alert.episode_id)
             .where(col(Episode.open_sku).is_not(None)).group_by(Alert.episode_id).subquery())
    total = session.exec(select(func.count()).select_from(worst)).one()
    query = (select(Alert, Threshold)
             .join(worst, (col(Alert.episode_id) == worst.c.episode_id) & (col(Alert.tier) == worst.c.tier))
             .join(Threshold, col(Threshold.sku) == Alert.sku)
             .order_by(col(Alert.tier).desc(), Alert.sku).limit(limit))
    return [(alert, threshold) for alert, threshold in session.exec(query).all()], int(total)


# ---- candidates for a check --------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    sku: str
    warning_level: int
    critical_level: int
    channel: Optional[str]
    available: int
    read_at: datetime  # the oldest reading the total depends on: what "as of" means
    name: Optional[str]
    episode_id: Optional[int]
    warehouse: Optional[str] = None  # the threshold watches this warehouse only
    source_on_order: int = 0  # inbound quantity the stock source reported
    source: Optional[str] = None
    oversold: int = 0  # units sold beyond zero (available is 0 then)


RANGE_SPAN = 50_000  # SKUs per keyset range: bounds memory whatever the catalogue size
BATCH_SIZE = 1_000  # candidates handed to the caller at a time (also bounds IN-list sizes)


def _watched(stock) -> object:
    """The stock rows a threshold watches: all of the SKU's, or one warehouse's."""
    return (col(stock.team_id) == Threshold.team_id) & (col(stock.sku) == Threshold.sku) & \
        or_(col(Threshold.warehouse).is_(None), col(stock.warehouse) == Threshold.warehouse)


def candidate_query(lower: Optional[str] = None, upper: Optional[str] = None,
                    skus: Optional[Sequence[str]] = None):
    """SKUs at or below their warning level, or with an open episode (they may have recovered).

    Shaped so the database does little more than the plain below-threshold query: the scan
    sums stock per SKU and tests it; the alert details (name, read time, episode) are scalar
    subqueries in the select list, so they are looked up only for the rows that pass HAVING
    (~1% in a steady check), not for every SKU in the catalogue. Computing them as aggregates
    of the same join instead was measured slower (1M SKUs: 3.5x the raw query on SQLite,
    ~1.6x the merge join's time per range on Postgres): every row then carries name, source
    and read time through the join and the grouping.
    """
    other = aliased(Stock)
    available = func.sum(Stock.available)
    # The team, written out (the query runs with storage.scoping's hook turned off, SCOPED_BY_HAND):
    # each table's index leads with it, so one team's key range is one index range, as the plan
    # tests (tests/test_candidate_plan.py) check on the SQL itself.
    team = current_team()
    in_range = [Threshold.team_id == team, Stock.team_id == team]
    # Every joined table is bounded by the same key range, not just the threshold: with only
    # threshold.sku bounded, Postgres hash-joined each range against the whole stock table
    # (one full scan per range: the check grew quadratically with the catalogue).
    for key in (Threshold.sku, Stock.sku):
        if lower is not None:
            in_range.append(col(key) > lower)
        if upper is not None:
            in_range.append(col(key) <= upper)
    if skus is not None:
        in_range.append(col(Threshold.sku).in_(list(skus)))
    open_skus = select(Episode.open_sku).where(Episode.team_id == team, col(Episode.open_sku).is_not(None))
    if lower is not None:
        open_skus = open_skus.where(col(Episode.open_sku) > lower)
    if upper is not None:
        open_skus = open_skus.where(col(Episode.open_sku) <= upper)

    def detail(expression):
        return select(expression).where(_watched(other)).scalar_subquery()

    episode_id = select(Episode.id).where(Episode.team_id == Threshold.team_id,
                                          col(Episode.open_sku) == Threshold.sku).scalar_subquery()
    return (select(Threshold.sku, Threshold.warning_level, Threshold.critical_level, Threshold.channel,
                   available.label("available"), detail(func.min(other.read_at)).label("read_at"),
                   detail(func.max(other.name)).label("name"), episode_id.label("episode_id"),
                   Threshold.warehouse, detail(func.coalesce(func.sum(other.on_order), 0)).label("on_order"),
                   detail(func.max(other.source)).label("source"),
                   detail(func.coalesce(func.sum(other.oversold), 0)).label("oversold"))
            .join(Stock, _watched(Stock))
            .where(*in_range)
            # The whole key: a threshold's other columns depend on it (the team is one value here,
            # storage.scoping), and the rows come in its index order.
            .group_by(Threshold.team_id, Threshold.sku)
            .having(or_(available <= Threshold.warning_level, col(Threshold.sku).in_(open_skus)))
            .order_by(Threshold.team_id, Threshold.sku)
            .execution_options(**SCOPED_BY_HAND))


# Postgres settings for one range's transaction (SET LOCAL: they end with it).
# - jit off: the planner cannot know that the detail subqueries run only for the few rows
#   passing HAVING, so their estimated cost crosses jit_above_cost and each range paid
#   ~0.2-1 s of LLVM compilation for a query that runs in ~50 ms.
# - no hash join, no sort: both sides of the join are bounded by the same key range, and the
#   planner takes the two bounds as independent filters, so it under-estimates the join ~20x
#   and picks a hash join (often parallel) plus a sort, about twice the time of what the data
#   asks for: a merge join of the two index ranges, already in key order, grouped as it goes.
RANGE_SETTINGS = (("jit", "off"), ("enable_hashjoin", "off"), ("enable_sort", "off"))


def plan_range(conn: Connection, settings=RANGE_SETTINGS) -> None:
    """Apply RANGE_SETTINGS to the transaction `conn` is in (Postgres; nothing to do on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(*(func.set_config(name, value, True) for name, value in settings)))


def iter_candidates(engine: Engine, skus: Optional[Sequence[str]] = None,
                    span: int = RANGE_SPAN, batch_size: int = BATCH_SIZE) -> Iterator[list[Candidate]]:
    """Candidates (see candidate_query) in batches of at most `batch_size`.

    A full check on SQLite walks the catalogue in key ranges of `span` SKUs: each range is one
    index-bounded scan, so the whole walk costs about one pass and memory stays flat however
    many SKUs there are. On Postgres one streamed query does the same in one pass.
    An immediate check (`skus` given) looks up just those SKUs.
    """
    def batches(rows) -> Iterator[list[Candidate]]:
        for start in range(0, len(rows), batch_size):
            yield [Candidate(*row) for row in rows[start:start + batch_size]]

    if skus is not None:
        wanted = list(dict.fromkeys(skus))
        for start in range(0, len(wanted), batch_size):
            with engine.connect() as conn:
                plan_range(conn, RANGE_SETTINGS[:1])  # just jit: an IN list's plan is index lookups
                rows = conn.execute(candidate_query(skus=wanted[start:start + batch_size])).all()
            yield from batches(rows)
        return
    if engine.dialect.name == "postgresql":
        # One query, streamed through a server-side cursor in batches: memory stays flat, and
        # Postgres joins the two tables in one pass as the raw query does (key ranges cost
        # ~2.1x the raw query there: each range is two bounded index scans; one pass ~1.6x).
        # The cursor stays open while the caller decides, which is safe now that the check
        # only writes to the database (Slack is called by the outbox sender, after the check).
        with engine.connect() as conn, conn.begin():
            plan_range(conn, RANGE_SETTINGS[:1])  # jit off: see RANGE_SETTINGS
            result = conn.execution_options(stream_results=True, max_row_buffer=batch_size).execute(
                candidate_query())
            for part in result.partitions(batch_size):
                yield [Candidate(*row) for row in part]
        return
    lower: Optional[str] = None
    while True:
        boundary = select(Threshold.sku).order_by(Threshold.sku).offset(span - 1).limit(1)
        if lower is not None:
            boundary = boundary.where(col(Threshold.sku) > lower)
        with engine.connect() as conn:  # one transaction per range: plan_range's settings end with it
            plan_range(conn)
            upper = conn.execute(boundary).scalar()  # None: this is the last range
            rows = conn.execute(candidate_query(lower, upper)).all()
        yield from batches(rows)
        if upper is None:
            return
        lower = upper


# ---- sources and meta --------------------------------------------------------------------

def source_state(session: Session, name: str) -> SourceState:
    state = session.get(SourceState, name)
    if state is None:
        state = SourceState(name=name)
        session.add(state)
    return state


def channel_problems(session: Session) -> dict[str, ChannelProblem]:
    return {problem.channel: problem for problem in session.exec(select(ChannelProblem))}


def clear_channel_problem(session: Session, channel: str) -> Optional[ChannelProblem]:
    """Forget a channel's refusal (a post went through, or an admin checked it); returns what was stored."""
    problem = session.get(ChannelProblem, channel)
    if problem is not None:
        session.delete(problem)
    return problem


def source_written_at(session: Session) -> dict[str, datetime]:
    return {state.name: state.last_written_at for state in session.exec(select(SourceState))
            if state.last_written_at is not None}


def list_source_states(session: Session) -> list[SourceState]:
    return list(session.exec(select(SourceState).order_by(SourceState.name)).all())


def prune_outbox(conn: Connection, before: datetime) -> int:
    """Delete delivered outbox entries sent before `before`; entries still owed are never touched."""
    result = conn.execute(delete(OutboxEntry).where(col(OutboxEntry.done).is_(True), col(OutboxEntry.sent_at) < before))
    return result.rowcount or 0


def get_meta(session: Session, key: str) -> Optional[str]:
    row = session.get(Meta, key)
    return row.value if row else None


def set_meta_conn(conn: Connection, key: str, value: str) -> None:
    """set_meta inside a Core transaction (the caller's engine.begin())."""
    insert = _insert(conn, Meta.__table__)
    conn.execute(insert.on_conflict_do_update(index_elements=["team_id", "key"], set_={"value": insert.excluded.value}),
                 [{"key": key, "value": value}])


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value


def raw_below_threshold_query() -> str:
    """The plain SQL a DBA would write for 'which SKUs are at or below their level' (bench baseline),
    for the single workspace (team ''): the keys lead with the team, so the join names it too."""
    return ("SELECT t.sku, SUM(s.available) AS available FROM threshold t "
            "JOIN stock s ON s.team_id = t.team_id AND s.sku = t.sku WHERE t.team_id = '' "
            "GROUP BY t.team_id, t.sku HAVING SUM(s.available) <= t.warning_level ORDER BY t.team_id, t.sku")



# ---- delivery keys: a webhook or a Slack request handled once -------------------------------------

def record_delivery(session: Session, key: str, now: datetime) -> bool:
    """Record `key` (commits); False when it was recorded before, by this or any process sharing the
    database: the primary key decides, so two processes cannot both see it first."""
    # A plain INSERT, not the ORM's unit of work: every Slack request passes here before its ack.
    try:
        session.execute(WebhookDelivery.__table__.insert().values(key=key[:128], received_at=now))
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def forget_deliveries(session: Session, received_before: datetime, prefix: str = "") -> None:
    """Delete delivery keys recorded before `received_before` (those starting with `prefix`); commits."""
    query = delete(WebhookDelivery).where(col(WebhookDelivery.received_at) < received_before)
    if prefix:
        query = query.where(col(WebhookDelivery.key).startswith(prefix))
    session.exec(query)
    session.commit()
