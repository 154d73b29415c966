"""The schema of the last release before migrations, frozen as test data: the DDL its storage.db.init_db
emitted on an empty database (SQLAlchemy's create_all of storage/models.py at commit 2578734, compiled
for each dialect). tests/test_migrations.py builds "an install of that release" from it, fills it with
rows and upgrades it with the real `stockbot db upgrade`.

Kept as the DDL itself, not regenerated from any model or migration in this repository, so the
upgrade is tested against what that release really created.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

SQLITE = [
    """CREATE TABLE campaign (
    id INTEGER NOT NULL,
    target VARCHAR(65) NOT NULL,
    start DATE NOT NULL,
    "end" DATE NOT NULL,
    multiplier FLOAT NOT NULL,
    name VARCHAR(100),
    created_by VARCHAR(32) NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_campaign_end ON campaign ("end")""",
    """CREATE INDEX ix_campaign_target ON campaign (target)""",
    """CREATE TABLE channel_problem (
    channel VARCHAR(32) NOT NULL,
    error VARCHAR(64) NOT NULL,
    first_failed_at DATETIME NOT NULL,
    failures INTEGER NOT NULL,
    next_try_at DATETIME NOT NULL,
    reported_at DATETIME,
    PRIMARY KEY (channel)
)""",
    """CREATE TABLE digest (
    id INTEGER NOT NULL,
    channel VARCHAR(32) NOT NULL,
    tier INTEGER NOT NULL,
    created_at DATETIME NOT NULL,
    count INTEGER NOT NULL,
    ts VARCHAR(32),
    acked_by VARCHAR(32),
    acked_at DATETIME,
    last_reminded_at DATETIME,
    PRIMARY KEY (id)
)""",
    """CREATE TABLE episode (
    id INTEGER NOT NULL,
    sku VARCHAR(64) NOT NULL,
    open_sku VARCHAR(64),
    opened_at DATETIME NOT NULL,
    closed_at DATETIME,
    recovered_available INTEGER,
    PRIMARY KEY (id),
    UNIQUE (open_sku)
)""",
    """CREATE INDEX ix_episode_sku ON episode (sku)""",
    """CREATE TABLE lease (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(255) NOT NULL,
    expires_at DATETIME NOT NULL,
    acquired_at DATETIME NOT NULL,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE meta (
    "key" VARCHAR(64) NOT NULL,
    value VARCHAR(255) NOT NULL,
    PRIMARY KEY ("key")
)""",
    """CREATE TABLE notify_rule (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tier VARCHAR(16) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    target TEXT NOT NULL,
    secret VARCHAR(255),
    sku_prefix VARCHAR(65),
    warehouse VARCHAR(64),
    lang VARCHAR(8) NOT NULL,
    created_by VARCHAR(32) NOT NULL,
    created_at DATETIME NOT NULL
)""",
    """CREATE TABLE order_line (
    source VARCHAR(64) NOT NULL,
    order_id VARCHAR(64) NOT NULL,
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    units INTEGER NOT NULL,
    cancelled BOOLEAN NOT NULL,
    PRIMARY KEY (source, order_id, sku, warehouse)
)""",
    """CREATE TABLE outbox (
    id INTEGER NOT NULL,
    "key" VARCHAR(96) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    channel VARCHAR(32) NOT NULL,
    alert_id INTEGER,
    digest_id INTEGER,
    payload TEXT,
    created_at DATETIME NOT NULL,
    next_try_at DATETIME NOT NULL,
    attempts INTEGER NOT NULL,
    in_flight_at DATETIME,
    claimed_by VARCHAR(96),
    done BOOLEAN NOT NULL,
    sent_at DATETIME,
    ts VARCHAR(32),
    error VARCHAR(64),
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_outbox_pending ON outbox (done, id)""",
    """CREATE TABLE purchase_request (
    id INTEGER NOT NULL,
    po_number VARCHAR(32),
    batch_id INTEGER,
    sku VARCHAR(64) NOT NULL,
    name VARCHAR(255),
    supplier_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    unit_cost FLOAT,
    currency VARCHAR(8),
    reason VARCHAR(500),
    requested_by VARCHAR(32) NOT NULL,
    requested_at DATETIME NOT NULL,
    status VARCHAR(16) NOT NULL,
    decided_by VARCHAR(32),
    decided_at DATETIME,
    reject_reason VARCHAR(500),
    channel VARCHAR(32) NOT NULL,
    ts VARCHAR(32),
    alert_id INTEGER,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_purchase_request_batch_id ON purchase_request (batch_id)""",
    """CREATE INDEX ix_purchase_request_po_number ON purchase_request (po_number)""",
    """CREATE INDEX ix_purchase_request_supplier_id ON purchase_request (supplier_id)""",
    """CREATE TABLE reorder (
    id INTEGER NOT NULL,
    sku VARCHAR(64) NOT NULL,
    quantity INTEGER NOT NULL,
    eta DATE,
    note VARCHAR(500),
    created_by VARCHAR(32) NOT NULL,
    created_at DATETIME NOT NULL,
    status VARCHAR(16) NOT NULL,
    closed_at DATETIME,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_reorder_sku_status ON reorder (sku, status)""",
    """CREATE TABLE sales_day (
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    source VARCHAR(64) NOT NULL,
    units INTEGER NOT NULL,
    PRIMARY KEY (sku, warehouse, day, source)
)""",
    """CREATE INDEX ix_sales_day_day ON sales_day (day)""",
    """CREATE TABLE sku_plan (
    sku VARCHAR(64) NOT NULL,
    auto BOOLEAN NOT NULL,
    lead_days INTEGER,
    basis VARCHAR(16),
    service FLOAT,
    spikes VARCHAR(8),
    case_pack INTEGER,
    moq INTEGER,
    target_cover_days INTEGER,
    method VARCHAR(255),
    computed_at DATETIME,
    PRIMARY KEY (sku)
)""",
    """CREATE INDEX ix_sku_plan_auto ON sku_plan (auto)""",
    """CREATE TABLE snooze (
    sku VARCHAR(64) NOT NULL,
    until DATETIME,
    tier INTEGER NOT NULL,
    snoozed_by VARCHAR(32) NOT NULL,
    snoozed_at DATETIME NOT NULL,
    PRIMARY KEY (sku)
)""",
    """CREATE TABLE source_state (
    name VARCHAR(255) NOT NULL,
    failing BOOLEAN NOT NULL,
    last_success_at DATETIME,
    last_error VARCHAR(1000),
    last_error_reason TEXT,
    last_error_at DATETIME,
    rows_read INTEGER NOT NULL,
    content_hash VARCHAR(64),
    last_written_at DATETIME,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE stock (
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    available INTEGER NOT NULL,
    name VARCHAR(255),
    source VARCHAR(255) NOT NULL,
    read_at DATETIME NOT NULL,
    on_order INTEGER,
    oversold INTEGER,
    PRIMARY KEY (sku, warehouse)
)""",
    """CREATE TABLE stock_day (
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    available INTEGER NOT NULL,
    PRIMARY KEY (sku, warehouse, day)
)""",
    """CREATE TABLE supplier (
    id INTEGER NOT NULL,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(254) NOT NULL,
    lead_days INTEGER NOT NULL,
    moq INTEGER,
    pack INTEGER,
    currency VARCHAR(8),
    created_by VARCHAR(32) NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (name)
)""",
    """CREATE TABLE threshold (
    sku VARCHAR(64) NOT NULL,
    warning_level INTEGER NOT NULL,
    critical_level INTEGER NOT NULL,
    channel VARCHAR(32),
    updated_by VARCHAR(32) NOT NULL,
    updated_at DATETIME NOT NULL,
    warehouse VARCHAR(64),
    PRIMARY KEY (sku)
)""",
    """CREATE TABLE threshold_change (
    id INTEGER NOT NULL,
    sku VARCHAR(64) NOT NULL,
    changed_by VARCHAR(32) NOT NULL,
    changed_at DATETIME NOT NULL,
    action VARCHAR(16) NOT NULL,
    old_warning INTEGER,
    old_critical INTEGER,
    old_channel VARCHAR(32),
    new_warning INTEGER,
    new_critical INTEGER,
    new_channel VARCHAR(32),
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_threshold_change_sku ON threshold_change (sku)""",
    """CREATE TABLE warehouse_kind (
    name VARCHAR(64) NOT NULL,
    overseas BOOLEAN NOT NULL,
    source VARCHAR(255) NOT NULL,
    seen_at DATETIME NOT NULL,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE webhook_delivery (
    "key" VARCHAR(128) NOT NULL,
    received_at DATETIME NOT NULL,
    PRIMARY KEY ("key")
)""",
    """CREATE TABLE alert (
    id INTEGER NOT NULL,
    episode_id INTEGER NOT NULL,
    sku VARCHAR(64) NOT NULL,
    tier INTEGER NOT NULL,
    channel VARCHAR(32) NOT NULL,
    ts VARCHAR(32),
    posted_at DATETIME NOT NULL,
    available INTEGER NOT NULL,
    on_order INTEGER NOT NULL,
    warning_level INTEGER NOT NULL,
    critical_level INTEGER NOT NULL,
    read_at DATETIME NOT NULL,
    name VARCHAR(255),
    acked_by VARCHAR(32),
    acked_at DATETIME,
    last_reminded_at DATETIME,
    warehouse VARCHAR(64),
    source_on_order INTEGER,
    stale_source VARCHAR(255),
    oversold INTEGER,
    digest_id INTEGER,
    cover_days FLOAT,
    PRIMARY KEY (id),
    CONSTRAINT uq_alert_episode_tier UNIQUE (episode_id, tier),
    FOREIGN KEY(episode_id) REFERENCES episode (id)
)""",
    """CREATE INDEX ix_alert_digest_id ON alert (digest_id)""",
    """CREATE INDEX ix_alert_episode_id ON alert (episode_id)""",
    """CREATE TABLE supplier_sku (
    target VARCHAR(65) NOT NULL,
    supplier_id INTEGER NOT NULL,
    unit_cost FLOAT,
    assigned_by VARCHAR(32) NOT NULL,
    assigned_at DATETIME NOT NULL,
    PRIMARY KEY (target),
    FOREIGN KEY(supplier_id) REFERENCES supplier (id)
)""",
    """CREATE INDEX ix_supplier_sku_supplier_id ON supplier_sku (supplier_id)""",
]

POSTGRESQL = [
    """CREATE TABLE campaign (
    id SERIAL NOT NULL,
    target VARCHAR(65) NOT NULL,
    start DATE NOT NULL,
    "end" DATE NOT NULL,
    multiplier FLOAT NOT NULL,
    name VARCHAR(100),
    created_by VARCHAR(32) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_campaign_end ON campaign ("end")""",
    """CREATE INDEX ix_campaign_target ON campaign (target)""",
    """CREATE TABLE channel_problem (
    channel VARCHAR(32) NOT NULL,
    error VARCHAR(64) NOT NULL,
    first_failed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    failures INTEGER NOT NULL,
    next_try_at TIMESTAMP WITH TIME ZONE NOT NULL,
    reported_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (channel)
)""",
    """CREATE TABLE digest (
    id SERIAL NOT NULL,
    channel VARCHAR(32) NOT NULL,
    tier INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    count INTEGER NOT NULL,
    ts VARCHAR(32),
    acked_by VARCHAR(32),
    acked_at TIMESTAMP WITH TIME ZONE,
    last_reminded_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
)""",
    """CREATE TABLE episode (
    id SERIAL NOT NULL,
    sku VARCHAR(64) NOT NULL,
    open_sku VARCHAR(64),
    opened_at TIMESTAMP WITH TIME ZONE NOT NULL,
    closed_at TIMESTAMP WITH TIME ZONE,
    recovered_available INTEGER,
    PRIMARY KEY (id),
    UNIQUE (open_sku)
)""",
    """CREATE INDEX ix_episode_sku ON episode (sku)""",
    """CREATE TABLE lease (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(255) NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    acquired_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE meta (
    key VARCHAR(64) NOT NULL,
    value VARCHAR(255) NOT NULL,
    PRIMARY KEY (key)
)""",
    """CREATE TABLE notify_rule (
    id SERIAL NOT NULL,
    tier VARCHAR(16) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    target TEXT NOT NULL,
    secret VARCHAR(255),
    sku_prefix VARCHAR(65),
    warehouse VARCHAR(64),
    lang VARCHAR(8) NOT NULL,
    created_by VARCHAR(32) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE TABLE order_line (
    source VARCHAR(64) NOT NULL,
    order_id VARCHAR(64) NOT NULL,
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    units INTEGER NOT NULL,
    cancelled BOOLEAN NOT NULL,
    PRIMARY KEY (source, order_id, sku, warehouse)
)""",
    """CREATE TABLE outbox (
    id SERIAL NOT NULL,
    key VARCHAR(96) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    channel VARCHAR(32) NOT NULL,
    alert_id INTEGER,
    digest_id INTEGER,
    payload TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    next_try_at TIMESTAMP WITH TIME ZONE NOT NULL,
    attempts INTEGER NOT NULL,
    in_flight_at TIMESTAMP WITH TIME ZONE,
    claimed_by VARCHAR(96),
    done BOOLEAN NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE,
    ts VARCHAR(32),
    error VARCHAR(64),
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_outbox_pending ON outbox (done, id)""",
    """CREATE TABLE purchase_request (
    id SERIAL NOT NULL,
    po_number VARCHAR(32),
    batch_id INTEGER,
    sku VARCHAR(64) NOT NULL,
    name VARCHAR(255),
    supplier_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    unit_cost FLOAT,
    currency VARCHAR(8),
    reason VARCHAR(500),
    requested_by VARCHAR(32) NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
    status VARCHAR(16) NOT NULL,
    decided_by VARCHAR(32),
    decided_at TIMESTAMP WITH TIME ZONE,
    reject_reason VARCHAR(500),
    channel VARCHAR(32) NOT NULL,
    ts VARCHAR(32),
    alert_id INTEGER,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_purchase_request_batch_id ON purchase_request (batch_id)""",
    """CREATE INDEX ix_purchase_request_po_number ON purchase_request (po_number)""",
    """CREATE INDEX ix_purchase_request_supplier_id ON purchase_request (supplier_id)""",
    """CREATE TABLE reorder (
    id SERIAL NOT NULL,
    sku VARCHAR(64) NOT NULL,
    quantity INTEGER NOT NULL,
    eta DATE,
    note VARCHAR(500),
    created_by VARCHAR(32) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    status VARCHAR(16) NOT NULL,
    closed_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_reorder_sku_status ON reorder (sku, status)""",
    """CREATE TABLE sales_day (
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    source VARCHAR(64) NOT NULL,
    units INTEGER NOT NULL,
    PRIMARY KEY (sku, warehouse, day, source)
)""",
    """CREATE INDEX ix_sales_day_day ON sales_day (day)""",
    """CREATE TABLE sku_plan (
    sku VARCHAR(64) NOT NULL,
    auto BOOLEAN NOT NULL,
    lead_days INTEGER,
    basis VARCHAR(16),
    service FLOAT,
    spikes VARCHAR(8),
    case_pack INTEGER,
    moq INTEGER,
    target_cover_days INTEGER,
    method VARCHAR(255),
    computed_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (sku)
)""",
    """CREATE INDEX ix_sku_plan_auto ON sku_plan (auto)""",
    """CREATE TABLE snooze (
    sku VARCHAR(64) NOT NULL,
    until TIMESTAMP WITH TIME ZONE,
    tier INTEGER NOT NULL,
    snoozed_by VARCHAR(32) NOT NULL,
    snoozed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (sku)
)""",
    """CREATE TABLE source_state (
    name VARCHAR(255) NOT NULL,
    failing BOOLEAN NOT NULL,
    last_success_at TIMESTAMP WITH TIME ZONE,
    last_error VARCHAR(1000),
    last_error_reason TEXT,
    last_error_at TIMESTAMP WITH TIME ZONE,
    rows_read INTEGER NOT NULL,
    content_hash VARCHAR(64),
    last_written_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE stock (
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    available INTEGER NOT NULL,
    name VARCHAR(255),
    source VARCHAR(255) NOT NULL,
    read_at TIMESTAMP WITH TIME ZONE NOT NULL,
    on_order INTEGER,
    oversold INTEGER,
    PRIMARY KEY (sku, warehouse)
)""",
    """CREATE TABLE stock_day (
    sku VARCHAR(64) NOT NULL,
    warehouse VARCHAR(64) NOT NULL,
    day DATE NOT NULL,
    available INTEGER NOT NULL,
    PRIMARY KEY (sku, warehouse, day)
)""",
    """CREATE TABLE supplier (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(254) NOT NULL,
    lead_days INTEGER NOT NULL,
    moq INTEGER,
    pack INTEGER,
    currency VARCHAR(8),
    created_by VARCHAR(32) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (name)
)""",
    """CREATE TABLE threshold (
    sku VARCHAR(64) NOT NULL,
    warning_level INTEGER NOT NULL,
    critical_level INTEGER NOT NULL,
    channel VARCHAR(32),
    updated_by VARCHAR(32) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    warehouse VARCHAR(64),
    PRIMARY KEY (sku)
)""",
    """CREATE TABLE threshold_change (
    id SERIAL NOT NULL,
    sku VARCHAR(64) NOT NULL,
    changed_by VARCHAR(32) NOT NULL,
    changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    action VARCHAR(16) NOT NULL,
    old_warning INTEGER,
    old_critical INTEGER,
    old_channel VARCHAR(32),
    new_warning INTEGER,
    new_critical INTEGER,
    new_channel VARCHAR(32),
    PRIMARY KEY (id)
)""",
    """CREATE INDEX ix_threshold_change_sku ON threshold_change (sku)""",
    """CREATE TABLE warehouse_kind (
    name VARCHAR(64) NOT NULL,
    overseas BOOLEAN NOT NULL,
    source VARCHAR(255) NOT NULL,
    seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE webhook_delivery (
    key VARCHAR(128) NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (key)
)""",
    """CREATE TABLE alert (
    id SERIAL NOT NULL,
    episode_id INTEGER NOT NULL,
    sku VARCHAR(64) NOT NULL,
    tier INTEGER NOT NULL,
    channel VARCHAR(32) NOT NULL,
    ts VARCHAR(32),
    posted_at TIMESTAMP WITH TIME ZONE NOT NULL,
    available INTEGER NOT NULL,
    on_order INTEGER NOT NULL,
    warning_level INTEGER NOT NULL,
    critical_level INTEGER NOT NULL,
    read_at TIMESTAMP WITH TIME ZONE NOT NULL,
    name VARCHAR(255),
    acked_by VARCHAR(32),
    acked_at TIMESTAMP WITH TIME ZONE,
    last_reminded_at TIMESTAMP WITH TIME ZONE,
    warehouse VARCHAR(64),
    source_on_order INTEGER,
    stale_source VARCHAR(255),
    oversold INTEGER,
    digest_id INTEGER,
    cover_days FLOAT,
    PRIMARY KEY (id),
    CONSTRAINT uq_alert_episode_tier UNIQUE (episode_id, tier),
    FOREIGN KEY(episode_id) REFERENCES episode (id)
)""",
    """CREATE INDEX ix_alert_digest_id ON alert (digest_id)""",
    """CREATE INDEX ix_alert_episode_id ON alert (episode_id)""",
    """CREATE TABLE supplier_sku (
    target VARCHAR(65) NOT NULL,
    supplier_id INTEGER NOT NULL,
    unit_cost FLOAT,
    assigned_by VARCHAR(32) NOT NULL,
    assigned_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (target),
    FOREIGN KEY(supplier_id) REFERENCES supplier (id)
)""",
    """CREATE INDEX ix_supplier_sku_supplier_id ON supplier_sku (supplier_id)""",
]


def create(engine: Engine) -> None:
    """Create the tables and indexes exactly as that release's init_db did (no alembic_version table)."""
    statements = POSTGRESQL if engine.dialect.name == "postgresql" else SQLITE
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
