"""Install to many workspaces: each workspace's own settings, and Bolt's installation store.

- workspace_setting: what `/stockbot config` sets, one row per (team, key); secrets Fernet-encrypted
  (bot/vault.py), the push token's SHA-256 in value_hash (indexed: a push finds its workspace by it).
- slack_installations, slack_bots: slack_sdk's SQLAlchemyInstallationStore tables (the install of
  each workspace and its bot token), frozen here as slack_sdk 3.x defines them so this revision
  means the same whatever slack_sdk becomes.

Only new tables: an existing install gains them empty and keeps every row.

Revision ID: 0003_workspaces
Revises: 0002_team_id
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_workspaces"
down_revision = "0002_team_id"
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    "workspace_setting", metadata,
    sa.Column("team_id", sa.String(length=32), primary_key=True, nullable=False),
    sa.Column("key", sa.String(length=64), primary_key=True, nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("secret", sa.Boolean(), nullable=False),
    sa.Column("value_hash", sa.String(length=64), nullable=True),
    sa.Column("updated_by", sa.String(length=32), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_workspace_setting_value_hash", "value_hash", unique=False),
)
sa.Table(
    "slack_installations", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
    sa.Column("client_id", sa.String(length=32), nullable=False),
    sa.Column("app_id", sa.String(length=32), nullable=False),
    sa.Column("enterprise_id", sa.String(length=32), nullable=True),
    sa.Column("enterprise_name", sa.String(length=200), nullable=True),
    sa.Column("enterprise_url", sa.String(length=200), nullable=True),
    sa.Column("team_id", sa.String(length=32), nullable=True),
    sa.Column("team_name", sa.String(length=200), nullable=True),
    sa.Column("bot_token", sa.String(length=200), nullable=True),
    sa.Column("bot_id", sa.String(length=32), nullable=True),
    sa.Column("bot_user_id", sa.String(length=32), nullable=True),
    sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
    sa.Column("bot_refresh_token", sa.String(length=200), nullable=True),
    sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
    sa.Column("user_id", sa.String(length=32), nullable=False),
    sa.Column("user_token", sa.String(length=200), nullable=True),
    sa.Column("user_scopes", sa.String(length=1000), nullable=True),
    sa.Column("user_refresh_token", sa.String(length=200), nullable=True),
    sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
    sa.Column("incoming_webhook_url", sa.String(length=200), nullable=True),
    sa.Column("incoming_webhook_channel", sa.String(length=200), nullable=True),
    sa.Column("incoming_webhook_channel_id", sa.String(length=200), nullable=True),
    sa.Column("incoming_webhook_configuration_url", sa.String(length=200), nullable=True),
    sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
    sa.Column("token_type", sa.String(length=32), nullable=True),
    sa.Column("installed_at", sa.DateTime(), nullable=False),
    sa.Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)
sa.Table(
    "slack_bots", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=False),
    sa.Column("client_id", sa.String(length=32), nullable=False),
    sa.Column("app_id", sa.String(length=32), nullable=False),
    sa.Column("enterprise_id", sa.String(length=32), nullable=True),
    sa.Column("enterprise_name", sa.String(length=200), nullable=True),
    sa.Column("team_id", sa.String(length=32), nullable=True),
    sa.Column("team_name", sa.String(length=200), nullable=True),
    sa.Column("bot_token", sa.String(length=200), nullable=True),
    sa.Column("bot_id", sa.String(length=32), nullable=True),
    sa.Column("bot_user_id", sa.String(length=32), nullable=True),
    sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
    sa.Column("bot_refresh_token", sa.String(length=200), nullable=True),
    sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
    sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
    sa.Column("installed_at", sa.DateTime(), nullable=False),
    sa.Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)


def upgrade() -> None:
    metadata.create_all(op.get_bind())  # checkfirst: a table already there is left as it is


def downgrade() -> None:
    # Going back forgets every workspace's installation and settings (the workspaces would install again).
    metadata.drop_all(op.get_bind())
