"""Baseline: the schema of the release before migrations (storage/models.py at 2578734).

It adopts a database that release created (no alembic_version table): like that release's
storage.db.init_db it creates the missing tables, adds the missing nullable columns (older
releases had fewer) and creates the missing indexes, and never touches a row. On an empty
database it creates every table.

The tables are frozen here, in their own MetaData, so this revision means the same thing
whatever storage/models.py becomes; later schema changes are later revisions.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    'campaign', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('target', sa.String(length=65), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('multiplier', sa.Float(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Index('ix_campaign_end', 'end', unique=False),
    sa.Index('ix_campaign_target', 'target', unique=False),
)
sa.Table(
    'channel_problem', metadata,
    sa.Column('channel', sa.String(length=32), primary_key=True, nullable=False),
    sa.Column('error', sa.String(length=64), nullable=False),
    sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
)
sa.Table(
    'digest', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('acked_by', sa.String(length=32), nullable=True),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
)
sa.Table(
    'episode', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('open_sku', sa.String(length=64), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recovered_available', sa.Integer(), nullable=True),
    sa.UniqueConstraint('open_sku'),
    sa.Index('ix_episode_sku', 'sku', unique=False),
)
sa.Table(
    'lease', metadata,
    sa.Column('name', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('holder', sa.String(length=255), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    'meta', metadata,
    sa.Column('key', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
)
sa.Table(
    'notify_rule', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=255), nullable=True),
    sa.Column('sku_prefix', sa.String(length=65), nullable=True),
    sa.Column('warehouse', sa.String(length=64), nullable=True),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)
sa.Table(
    'order_line', metadata,
    sa.Column('source', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('order_id', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('warehouse', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
)
sa.Table(
    'outbox', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('in_flight_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=96), nullable=True),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.Index('ix_outbox_pending', 'done', 'id', unique=False),
)
sa.Table(
    'purchase_request', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('po_number', sa.String(length=32), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('requested_by', sa.String(length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=32), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Index('ix_purchase_request_batch_id', 'batch_id', unique=False),
    sa.Index('ix_purchase_request_po_number', 'po_number', unique=False),
    sa.Index('ix_purchase_request_supplier_id', 'supplier_id', unique=False),
)
sa.Table(
    'reorder', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('eta', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Index('ix_reorder_sku_status', 'sku', 'status', unique=False),
)
sa.Table(
    'sales_day', metadata,
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('warehouse', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('day', sa.Date(), primary_key=True, nullable=False),
    sa.Column('source', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Index('ix_sales_day_day', 'day', unique=False),
)
sa.Table(
    'sku_plan', metadata,
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('auto', sa.Boolean(), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=True),
    sa.Column('basis', sa.String(length=16), nullable=True),
    sa.Column('service', sa.Float(), nullable=True),
    sa.Column('spikes', sa.String(length=8), nullable=True),
    sa.Column('case_pack', sa.Integer(), nullable=True),
    sa.Column('moq', sa.Integer(), nullable=True),
    sa.Column('target_cover_days', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=255), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Index('ix_sku_plan_auto', 'auto', unique=False),
)
sa.Table(
    'snooze', metadata,
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('snoozed_by', sa.String(length=32), nullable=False),
    sa.Column('snoozed_at', sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    'source_state', metadata,
    sa.Column('name', sa.String(length=255), primary_key=True, nullable=False),
    sa.Column('failing', sa.Boolean(), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('last_error_reason', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('last_written_at', sa.DateTime(timezone=True), nullable=True),
)
sa.Table(
    'stock', metadata,
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('warehouse', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_order', sa.Integer(), nullable=True),
    sa.Column('oversold', sa.Integer(), nullable=True),
)
sa.Table(
    'stock_day', metadata,
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('warehouse', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('day', sa.Date(), primary_key=True, nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
)
sa.Table(
    'supplier', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('moq', sa.Integer(), nullable=True),
    sa.Column('pack', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint('name'),
)
sa.Table(
    'threshold', metadata,
    sa.Column('sku', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('warning_level', sa.Integer(), nullable=False),
    sa.Column('critical_level', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('updated_by', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warehouse', sa.String(length=64), nullable=True),
)
sa.Table(
    'threshold_change', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('changed_by', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('old_warning', sa.Integer(), nullable=True),
    sa.Column('old_critical', sa.Integer(), nullable=True),
    sa.Column('old_channel', sa.String(length=32), nullable=True),
    sa.Column('new_warning', sa.Integer(), nullable=True),
    sa.Column('new_critical', sa.Integer(), nullable=True),
    sa.Column('new_channel', sa.String(length=32), nullable=True),
    sa.Index('ix_threshold_change_sku', 'sku', unique=False),
)
sa.Table(
    'warehouse_kind', metadata,
    sa.Column('name', sa.String(length=64), primary_key=True, nullable=False),
    sa.Column('overseas', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    'webhook_delivery', metadata,
    sa.Column('key', sa.String(length=128), primary_key=True, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    'alert', metadata,
    sa.Column('id', sa.Integer(), primary_key=True, nullable=False),
    sa.Column('episode_id', sa.Integer(), sa.ForeignKey('episode.id'), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.Column('on_order', sa.Integer(), nullable=False),
    sa.Column('warning_level', sa.Integer(), nullable=False),
    sa.Column('critical_level', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('acked_by', sa.String(length=32), nullable=True),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('warehouse', sa.String(length=64), nullable=True),
    sa.Column('source_on_order', sa.Integer(), nullable=True),
    sa.Column('stale_source', sa.String(length=255), nullable=True),
    sa.Column('oversold', sa.Integer(), nullable=True),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.Column('cover_days', sa.Float(), nullable=True),
    sa.UniqueConstraint('episode_id', 'tier', name='uq_alert_episode_tier'),
    sa.Index('ix_alert_digest_id', 'digest_id', unique=False),
    sa.Index('ix_alert_episode_id', 'episode_id', unique=False),
)
sa.Table(
    'supplier_sku', metadata,
    sa.Column('target', sa.String(length=65), primary_key=True, nullable=False),
    sa.Column('supplier_id', sa.Integer(), sa.ForeignKey('supplier.id'), nullable=False),
    sa.Column('unit_cost', sa.Float(), nullable=True),
    sa.Column('assigned_by', sa.String(length=32), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Index('ix_supplier_sku_supplier_id', 'supplier_id', unique=False),
)


def upgrade() -> None:
    conn = op.get_bind()
    metadata.create_all(conn)  # checkfirst: only the tables that are missing
    _add_missing_nullable_columns(conn)
    for table in metadata.sorted_tables:  # create_all adds indexes only to the tables it creates
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _add_missing_nullable_columns(conn) -> None:
    """A database from an older release lacks some nullable columns: add them (NULL in every row)."""
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing or not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))


def downgrade() -> None:
    # `stockbot db downgrade` refuses to go below the baseline (it would drop every table and its
    # rows); this runs only when asked for explicitly, e.g. `alembic downgrade base`.
    metadata.drop_all(op.get_bind())
