"""Every workspace's rows carry team_id (many workspaces in one database; storage.models.TeamKeyed
and TeamOwned).

Each table holding a workspace's data gains team_id VARCHAR(32) NOT NULL DEFAULT '': every row
already stored belongs to the single workspace (bot.tenancy.SINGLE_TEAM = ''), and nothing is
lost. Tables found by a natural key get (team_id, key...) as primary key; tables found by an
autoincrement id keep it and get an index on team_id. The per-SKU and per-name unique rules
become per team (episode.open_sku, supplier.name), and the sales-day and reorder indexes lead
with the team. lease and webhook_delivery stay process-level.

SQLite cannot alter a primary key or a constraint: batch mode rebuilds those tables (rows copied).
A table that already has team_id is left as it is.
Downgrading merges nothing: it is refused while rows of more than one team are stored.

Revision ID: 0002_team_id
Revises: 0001_baseline
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_team_id"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

TEAM_LENGTH = 32

# table -> its primary key before this revision (the team goes first)
KEYED = {
    "threshold": ["sku"],
    "stock": ["sku", "warehouse"],
    "stock_day": ["sku", "warehouse", "day"],
    "sales_day": ["sku", "warehouse", "day", "source"],
    "order_line": ["source", "order_id", "sku", "warehouse"],
    "snooze": ["sku"],
    "source_state": ["name"],
    "channel_problem": ["channel"],
    "meta": ["key"],
    "sku_plan": ["sku"],
    "warehouse_kind": ["name"],
    "supplier_sku": ["target"],
}
OWNED = ["threshold_change", "episode", "alert", "digest", "outbox", "reorder", "notify_rule", "campaign",
         "supplier", "purchase_request"]
# table -> (constraint name, columns before): unique per team from now on
UNIQUE = {"episode": ("uq_episode_open_sku", ["open_sku"]), "supplier": ("uq_supplier_name", ["name"])}
# index -> (table, columns before): the team leads from now on
INDEXES = {"ix_sales_day_day": ("sales_day", ["day"]), "ix_reorder_sku_status": ("reorder", ["sku", "status"])}
# Names for the baseline's unnamed constraints, so SQLite's batch mode can find them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}


def _team_column() -> sa.Column:
    return sa.Column("team_id", sa.String(length=TEAM_LENGTH), nullable=False, server_default="")


def _pk_name(table: str) -> str:
    # Postgres' own name for a table's primary key: what create_all gives a new database too.
    return f"{table}_pkey"


def _unique_name(table: str, columns: list[str]) -> str:
    """The unique constraint's stored name: the baseline left it unnamed (Postgres named it)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if constraint["column_names"] == columns:
            return constraint["name"] or NAMING["uq"] % {"table_name": table, "column_0_name": columns[0]}
    raise RuntimeError(f"{table}: no unique constraint on {columns}")


def _stored_pk_name(table: str) -> str:
    """The primary key's stored name (SQLite's unnamed one: by NAMING, as batch mode reflects it)."""
    return sa.inspect(op.get_bind()).get_pk_constraint(table)["name"] or NAMING["pk"] % {"table_name": table}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for table in [*KEYED, *OWNED]:
        if "team_id" in {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}:
            # Adopted as it is (like the baseline adopts tables): a database this release made before it
            # was stamped (its tables came from the models, team_id and all) has nothing to change.
            continue
        old_unique = _unique_name(table, UNIQUE[table][1]) if table in UNIQUE else None
        old_pk = _stored_pk_name(table) if table in KEYED else None
        with op.batch_alter_table(table, recreate="always" if _sqlite() and (table in KEYED or table in UNIQUE)
                                  else "auto", naming_convention=NAMING) as batch:
            batch.add_column(_team_column())
            if table in KEYED:
                batch.drop_constraint(old_pk, type_="primary")
                batch.create_primary_key(_pk_name(table), ["team_id", *KEYED[table]])
            if table in UNIQUE:
                name, columns = UNIQUE[table]
                batch.drop_constraint(old_unique, type_="unique")
                batch.create_unique_constraint(name, ["team_id", *columns])
            if table in OWNED:
                batch.create_index(f"ix_{table}_team_id", ["team_id"])
            for index, (indexed, columns) in INDEXES.items():
                if indexed == table:
                    batch.drop_index(index)
                    batch.create_index(index, ["team_id", *columns])


def downgrade() -> None:
    conn = op.get_bind()
    teams: set[str] = set()
    for table in [*KEYED, *OWNED]:
        teams.update(conn.execute(sa.text(f'SELECT DISTINCT team_id FROM "{table}"')).scalars())
    if len(teams) > 1:
        from storage.schema import DowngradeRefused  # `stockbot db downgrade` words it and exits 2

        raise DowngradeRefused(
            f"refused: rows of {len(teams)} workspaces are stored ({', '.join(sorted(repr(t) for t in teams))}); "
            f"the schema before 0002_team_id has room for one, so going back would merge them. Export and remove "
            f"the other workspaces' rows first, or stay at this revision.")
    for table in [*KEYED, *OWNED]:
        pk = _stored_pk_name(table) if table in KEYED else None
        with op.batch_alter_table(table, recreate="always" if _sqlite() and (table in KEYED or table in UNIQUE)
                                  else "auto", naming_convention=NAMING) as batch:
            for index, (indexed, columns) in INDEXES.items():
                if indexed == table:
                    batch.drop_index(index)
                    batch.create_index(index, columns)
            if table in OWNED:
                batch.drop_index(f"ix_{table}_team_id")
            if table in UNIQUE:
                name, columns = UNIQUE[table]
                batch.drop_constraint(name, type_="unique")
                batch.create_unique_constraint(name, columns)
            if table in KEYED:
                batch.drop_constraint(pk, type_="primary")
                batch.create_primary_key(_pk_name(table), KEYED[table])
            batch.drop_column("team_id")
