"""Tables. Small typed classes; sessions are opened at the edge (listeners, checker, CLI).

All times are timezone-aware UTC datetimes (SQLModel's UTCDateTime column type).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Index, Text, UniqueConstraint, column
from sqlmodel import Field, SQLModel

from bot.tenancy import current_team

SKU_MAX_LENGTH = 64
TEAM_MAX_LENGTH = 32  # a Slack team id (T...) or, for an org-wide install, an enterprise id (E...)


# ---- whose rows: every table holding a workspace's data carries its team (bot.tenancy) -----------
# A new row takes the current team (the Python-side column default covers ORM objects and Core
# inserts alike); the database default '' is SINGLE_TEAM, so rows written before workspaces existed,
# and raw inserts that leave the column out, belong to the single workspace. Reads, updates and
# deletes are narrowed to the current team by storage.scoping, for every ORM statement.

class TeamKeyed(SQLModel):
    """A table whose rows are found by a natural key (a SKU, a name): the team leads the primary key,
    so the key's index serves each team's lookups and ranges in key order."""

    team_id: str = Field(default_factory=current_team, primary_key=True, max_length=TEAM_MAX_LENGTH,
                         sa_column_kwargs={"server_default": ""})


class TeamOwned(SQLModel):
    """A table whose rows are found by an autoincrement id (alerts, reorders ...): ids stay global,
    the team is an indexed column."""

    team_id: str = Field(default_factory=current_team, index=True, max_length=TEAM_MAX_LENGTH,
                         sa_column_kwargs={"server_default": ""})


class TeamScoped:
    """Every team-owned model, for storage.scoping's criteria. Not a base of the models themselves
    (a plain attribute on a SQLModel base would become a field); SQLAlchemy finds the mapped
    classes through __subclasses__, and `team_id` here only lets it try its criteria lambda once."""

    team_id = column("team_id")

    @classmethod
    def __subclasses__(cls):
        return [TeamKeyed, TeamOwned]


class Threshold(TeamKeyed, table=True):
    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    warning_level: int
    critical_level: int
    channel: Optional[str] = Field(default=None, max_length=32)  # None: ALERT_CHANNEL
    updated_by: str = Field(max_length=32)
    updated_at: datetime
    # None: the levels apply to the SKU's total over all warehouses; else to this warehouse only.
    warehouse: Optional[str] = Field(default=None, max_length=64)


class ThresholdChange(TeamOwned, table=True):
    """Audit trail for `/threshold history`: who changed what, when, old -> new."""

    __tablename__ = "threshold_change"
    id: Optional[int] = Field(default=None, primary_key=True)
    sku: str = Field(index=True, max_length=SKU_MAX_LENGTH)
    changed_by: str = Field(max_length=32)
    changed_at: datetime
    action: str = Field(max_length=16)  # set | remove
    old_warning: Optional[int] = None
    old_critical: Optional[int] = None
    old_channel: Optional[str] = Field(default=None, max_length=32)
    new_warning: Optional[int] = None
    new_critical: Optional[int] = None
    new_channel: Optional[str] = Field(default=None, max_length=32)


class Stock(TeamKeyed, table=True):
    """Last known stock per SKU and warehouse ('' when the source has no warehouses).

    A SKU's available quantity is the sum over its warehouses.
    """

    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    warehouse: str = Field(default="", primary_key=True, max_length=64)
    available: int
    name: Optional[str] = Field(default=None, max_length=255)
    source: str = Field(max_length=255)
    read_at: datetime
    on_order: Optional[int] = None  # inbound quantity reported by the source (ERP/WMS push)
    # A source reported a negative available (sold more than it had): stored as 0 available,
    # with how far below zero here, so "oversold by 5" can be shown. None: not oversold.
    oversold: Optional[int] = None


class StockDay(TeamKeyed, table=True):
    """A day's closing available per SKU and warehouse: the history the stock chart draws.

    Written with each stock write (not each check), and only when the value differs from the
    one already stored for that day, so a SKU costs at most one row per warehouse per day.
    A day without a row had the value of the latest earlier row.
    """

    __tablename__ = "stock_day"
    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    warehouse: str = Field(default="", primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    available: int


class SalesDay(TeamKeyed, table=True):
    """Units sold per SKU, warehouse ('' when unknown), day and source: one small row each.

    Writing the same (sku, warehouse, day, source) again replaces the units, so re-sent
    pushes, re-imported files and re-synced orders never count twice.
    """

    __tablename__ = "sales_day"
    # The forecast's history window ends at the newest day any sales arrived (max(day)): without
    # this index that is a scan of the whole table for every alert.
    __table_args__ = (Index("ix_sales_day_day", "team_id", "day"),)
    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    warehouse: str = Field(default="", primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    source: str = Field(primary_key=True, max_length=64)
    units: int


class OrderLine(TeamKeyed, table=True):
    """Units of one SKU in one marketplace order, kept so an order seen again (its status
    changed, or a webhook was redelivered) replaces its units instead of adding them."""

    __tablename__ = "order_line"
    source: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    warehouse: str = Field(default="", primary_key=True, max_length=64)
    day: date
    units: int
    cancelled: bool = False


class WebhookDelivery(SQLModel, table=True):
    """Process-level, not a team's (keys are globally unique delivery ids and signatures).

    Requests already handled: webhook deliveries (marketplaces redeliver until they see a 200),
    Slack request signatures (replays) and Slack event ids (Slack's retries), by key prefix."""

    __tablename__ = "webhook_delivery"
    key: str = Field(primary_key=True, max_length=128)
    received_at: datetime


class Episode(TeamOwned, table=True):
    """One stretch of time a SKU spends at or below its warning level.

    `open_sku` equals `sku` while the episode is open and NULL once closed; its unique
    constraint guarantees at most one open episode per SKU even across processes.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    sku: str = Field(index=True, max_length=SKU_MAX_LENGTH)
    __table_args__ = (UniqueConstraint("team_id", "open_sku", name="uq_episode_open_sku"),)
    open_sku: Optional[str] = Field(default=None, max_length=SKU_MAX_LENGTH)
    opened_at: datetime
    closed_at: Optional[datetime] = None
    recovered_available: Optional[int] = None


class Alert(TeamOwned, table=True):
    """One Slack message per tier per episode; the unique constraint makes posting idempotent."""

    __table_args__ = (UniqueConstraint("episode_id", "tier", name="uq_alert_episode_tier"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True)
    sku: str = Field(max_length=SKU_MAX_LENGTH)
    tier: int  # bot.core.tiers.Tier value
    channel: str = Field(max_length=32)
    ts: Optional[str] = Field(default=None, max_length=32)  # Slack message timestamp once posted
    posted_at: datetime
    # What the alert said when posted, so later updates (ack, reorder, recovery) re-render it.
    available: int
    on_order: int = 0
    warning_level: int
    critical_level: int
    read_at: datetime
    name: Optional[str] = Field(default=None, max_length=255)
    acked_by: Optional[str] = Field(default=None, max_length=32)
    acked_at: Optional[datetime] = None
    last_reminded_at: Optional[datetime] = None
    warehouse: Optional[str] = Field(default=None, max_length=64)  # the threshold watches this one
    source_on_order: Optional[int] = None  # inbound quantity the stock source reported
    # Set when this SKU was missing from its source's latest read: the numbers are "as of".
    stale_source: Optional[str] = Field(default=None, max_length=255)
    oversold: Optional[int] = None  # units sold beyond zero when posted (Stock.oversold summed)
    # Part of a digest (many SKUs entered the tier in one check): no message of its own, `ts` stays None.
    digest_id: Optional[int] = Field(default=None, index=True)
    cover_days: Optional[float] = None  # days the available lasts at the recent pace (digest order); None: no sales


class Digest(TeamOwned, table=True):
    """One message for many SKUs that entered the same tier for the same channel in one check."""

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    tier: int
    created_at: datetime
    count: int
    ts: Optional[str] = Field(default=None, max_length=32)  # Slack message timestamp once posted
    acked_by: Optional[str] = Field(default=None, max_length=32)  # "Acknowledge all"
    acked_at: Optional[datetime] = None
    last_reminded_at: Optional[datetime] = None


class OutboxEntry(TeamOwned, table=True):
    """A Slack call to make, written in the same transaction as the change that causes it.

    The sender (bot.sender) delivers entries with one `key` (a SKU, a digest, a channel) in id
    order, retries with backoff, and marks each sent once Slack has answered. `in_flight_at` is
    set just before the call and cleared after a definite answer: an entry found with it set was
    cut off inside the call, so the sender first looks for the message it may have posted
    (message metadata carries the entry id) before posting again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "done", "id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=96)
    kind: str = Field(max_length=16)  # bot.outbox.Kind
    channel: str = Field(max_length=32)
    alert_id: Optional[int] = None
    digest_id: Optional[int] = None
    payload: Optional[str] = Field(default=None, sa_type=Text)  # JSON: text, blocks, file contents
    created_at: datetime
    next_try_at: datetime
    attempts: int = 0
    in_flight_at: Optional[datetime] = None
    claimed_by: Optional[str] = Field(default=None, max_length=96)  # host:pid of the sender that made the call
    done: bool = False  # sent, or given up (then `error` says why)
    sent_at: Optional[datetime] = None
    ts: Optional[str] = Field(default=None, max_length=32)
    error: Optional[str] = Field(default=None, max_length=64)


class SkuSnooze(TeamKeyed, table=True):
    """A SKU's snooze from an alert's Snooze menu: no reminders and no WARNING posts while it
    lasts (bot.core.tiers.plan_episode). One row per SKU; it outlives episodes, so a WARNING
    repeat after a recovery stays quiet too. Removed when a worse tier posts or its time is up."""

    __tablename__ = "snooze"
    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    until: Optional[datetime] = None  # None: until it gets worse
    tier: int  # the worst tier the seller had seen when snoozing (bot.core.tiers.Tier value)
    snoozed_by: str = Field(max_length=32)
    snoozed_at: datetime


class Reorder(TeamOwned, table=True):
    __table_args__ = (Index("ix_reorder_sku_status", "team_id", "sku", "status"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    sku: str = Field(max_length=SKU_MAX_LENGTH)
    quantity: int
    eta: Optional[date] = None
    note: Optional[str] = Field(default=None, max_length=500)
    created_by: str = Field(max_length=32)
    created_at: datetime
    status: str = Field(default="open", max_length=16)  # open | received | cancelled
    closed_at: Optional[datetime] = None


class SourceState(TeamKeyed, table=True):
    """Health of a stock source, so a failure is reported once and its recovery once."""

    __tablename__ = "source_state"
    name: str = Field(primary_key=True, max_length=255)
    failing: bool = False
    last_success_at: Optional[datetime] = None
    last_error: Optional[str] = Field(default=None, max_length=1000)
    # The same error's code and details (JSON, bot.sources.Reason.to_json), so `/stock status`
    # words it in the reader's language; NULL for errors stored before it existed.
    last_error_reason: Optional[str] = Field(default=None, sa_type=Text)
    last_error_at: Optional[datetime] = None
    rows_read: int = 0
    content_hash: Optional[str] = Field(default=None, max_length=64)
    # When rows were last written from this source; its rows read earlier are stale.
    last_written_at: Optional[datetime] = None


class ChannelProblem(TeamKeyed, table=True):
    """A channel Slack refuses alerts for (not found, bot not a member, archived).

    Kept in the database so the refusal is reported to OPS_CHANNEL once, across restarts,
    and the channel is retried with backoff instead of at every check. Removed once a post
    goes through.
    """

    __tablename__ = "channel_problem"
    channel: str = Field(primary_key=True, max_length=32)
    error: str = Field(max_length=64)
    first_failed_at: datetime
    failures: int = 0
    next_try_at: datetime
    reported_at: Optional[datetime] = None


class NotifyRule(TeamOwned, table=True):
    """Where else alerts go (`/notify add`): an e-mail address, a DingTalk/WeCom/Feishu robot, a
    phone number (SMS) or any webhook. `target` and `secret` are credentials: never shown back in
    full (bot.core.notify.mask_target) and never logged. Removing a rule ends its waiting messages."""

    __tablename__ = "notify_rule"
    __table_args__ = {"sqlite_autoincrement": True}  # a removed rule's number is never given to a new one
    id: Optional[int] = Field(default=None, primary_key=True)
    tier: str = Field(max_length=16)  # "all" or a tier name: that tier and worse
    kind: str = Field(max_length=16)  # bot.core.notify.KINDS
    target: str = Field(sa_type=Text)  # address, E.164 number or URL
    secret: Optional[str] = Field(default=None, max_length=255)
    sku_prefix: Optional[str] = Field(default=None, max_length=SKU_MAX_LENGTH + 1)  # a SKU or PREFIX*
    warehouse: Optional[str] = Field(default=None, max_length=64)
    lang: str = Field(max_length=8)
    created_by: str = Field(max_length=32)
    created_at: datetime


class Meta(TeamKeyed, table=True):
    """Small key/value facts about a workspace's install (time of its last check)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class Lease(SQLModel, table=True):
    """Process-level, not a team's: one leader serves every workspace.

    Who leads the scheduled work when several processes share the database (bot/leader.py)."""

    name: str = Field(primary_key=True, max_length=64)  # "scheduler"
    holder: str = Field(max_length=255)  # host:pid:random of the leading process
    expires_at: datetime  # the holder renews well before; after it, any process may take over
    acquired_at: datetime  # when the holder took the lease (kept while it renews)


class SkuPlan(TeamKeyed, table=True):
    """How a SKU's levels are planned: auto mode, lead time, pack sizes, and the last forecast.

    One row per SKU that has any of these set; a SKU without a row is manual with defaults.
    """

    __tablename__ = "sku_plan"
    sku: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH)
    auto: bool = Field(default=False, index=True)
    lead_days: Optional[int] = None  # None: the default for its warehouse type
    basis: Optional[str] = Field(default=None, max_length=16)  # None: DEFAULT_BASIS
    service: Optional[float] = None  # None: DEFAULT_SERVICE
    # one-off (wholesale) orders in the reorder point: None/"keep" covers a repeat, "exclude" leaves them
    # out (the seller handles them as special orders); they never set the daily demand
    spikes: Optional[str] = Field(default=None, max_length=8)
    case_pack: Optional[int] = None
    moq: Optional[int] = None
    target_cover_days: Optional[int] = None  # None: DEFAULT_TARGET_COVER_DAYS
    # How the last auto recompute set the level (planning.describe_method): what alerts and
    # `/threshold get` explain.
    method: Optional[str] = Field(default=None, max_length=255)
    computed_at: Optional[datetime] = None


class Campaign(TeamOwned, table=True):
    """A planned live-stream or ad push: expected demand x `multiplier` from `start` to `end`.

    `target` is a SKU, `*` for every SKU, or a prefix ending in `*` (`DRESS-*`).
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    target: str = Field(max_length=SKU_MAX_LENGTH + 1, index=True)
    start: date
    end: date = Field(index=True)
    multiplier: float
    name: Optional[str] = Field(default=None, max_length=100)
    created_by: str = Field(max_length=32)
    created_at: datetime


class WarehouseKind(TeamKeyed, table=True):
    """Warehouses a source reported as overseas (TikTok Shop's CB_OVERSEA_WAREHOUSE): SKUs stocked
    there default to the long lead time."""

    __tablename__ = "warehouse_kind"
    name: str = Field(primary_key=True, max_length=64)
    overseas: bool = False
    source: str = Field(max_length=255)
    seen_at: datetime


class Supplier(TeamOwned, table=True):
    """Who a SKU is bought from: where purchase orders are e-mailed, and the supply terms
    (lead time, MOQ, pack) a SKU without its own plan values takes (bot.planning)."""

    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_supplier_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    lead_days: int
    moq: Optional[int] = None
    pack: Optional[int] = None
    currency: Optional[str] = Field(default=None, max_length=8)
    created_by: str = Field(max_length=32)
    created_at: datetime


class SupplierSku(TeamKeyed, table=True):
    """A SKU (or every SKU of a prefix, `DRESS-*`) bought from a supplier; the exact SKU wins
    over the longest prefix."""

    __tablename__ = "supplier_sku"
    target: str = Field(primary_key=True, max_length=SKU_MAX_LENGTH + 1)  # a SKU or 'PREFIX*'
    supplier_id: int = Field(foreign_key="supplier.id", index=True)
    unit_cost: Optional[float] = None
    assigned_by: str = Field(max_length=32)
    assigned_at: datetime


class PurchaseRequest(TeamOwned, table=True):
    """One line of a purchase request: requested from an alert (one line) or by `/purchase batch`
    (several lines, one per SKU, sharing `batch_id` = the id of the first line, which carries
    the Slack message). Approval gives every line of it one PO number."""

    __tablename__ = "purchase_request"
    id: Optional[int] = Field(default=None, primary_key=True)
    po_number: Optional[str] = Field(default=None, max_length=32, index=True)
    batch_id: Optional[int] = Field(default=None, index=True)
    sku: str = Field(max_length=SKU_MAX_LENGTH)
    name: Optional[str] = Field(default=None, max_length=255)
    supplier_id: int = Field(index=True)
    quantity: int
    unit_cost: Optional[float] = None
    currency: Optional[str] = Field(default=None, max_length=8)
    reason: Optional[str] = Field(default=None, max_length=500)
    requested_by: str = Field(max_length=32)
    requested_at: datetime
    status: str = Field(default="requested", max_length=16)  # requested | approved | rejected
    decided_by: Optional[str] = Field(default=None, max_length=32)
    decided_at: Optional[datetime] = None
    reject_reason: Optional[str] = Field(default=None, max_length=500)
    channel: str = Field(max_length=32)
    ts: Optional[str] = Field(default=None, max_length=32)  # the request message, once posted
    alert_id: Optional[int] = None


class WorkspaceSetting(SQLModel, table=True):
    """One setting of one installed workspace (OAuth mode), set with `/stockbot config`.

    Secrets (the push token, TikTok credentials) are Fernet-encrypted under STOCKBOT_SECRET_KEY
    (bot/vault.py); the push token also keeps its SHA-256 in `value_hash`, to find the workspace a
    push belongs to without decrypting every stored token."""

    __tablename__ = "workspace_setting"
    team_id: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=Text)
    secret: bool = False
    value_hash: Optional[str] = Field(default=None, max_length=64, index=True)
    updated_by: str = Field(max_length=32)
    updated_at: datetime


# Bolt's installation store (slack_sdk SQLAlchemyInstallationStore): its tables, defined by
# slack_sdk, registered on this metadata so init_db and the migrations create them next to ours
# (bot/workspaces.py hands them to the store). One row per install, keyed by team and enterprise.
def _installation_store_tables():
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore as Store

    return (Store.build_installations_table(SQLModel.metadata, Store.default_installations_table_name),
            Store.build_bots_table(SQLModel.metadata, Store.default_bots_table_name))


slack_installations, slack_bots = _installation_store_tables()
