"""Migration 0002_team_id: an install from before workspaces keeps every row, now the single
workspace's (team_id ''); downgrading is refused while two workspaces' rows are stored, and
otherwise goes back and up again with nothing lost. On SQLite and Postgres, through the real
`stockbot db` commands."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import text

from storage import schema
from storage.db import Session
from storage.models import Threshold
from tests.legacy import schema_v0
from tests.test_migrations import ROWS_PER_TABLE, differences, empty_url, engine, fill, reflect, snapshot, stockbot_db

__all__ = ["empty_url", "engine"]  # fixtures, shared with tests/test_migrations.py

TEAM_TABLES = ["threshold", "stock", "stock_day", "sales_day", "order_line", "snooze", "source_state",
               "channel_problem", "meta", "sku_plan", "warehouse_kind", "supplier_sku", "threshold_change",
               "episode", "alert", "digest", "outbox", "reorder", "notify_rule", "campaign", "supplier",
               "purchase_request"]


def _at_baseline(engine, empty_url, tmp_path) -> tuple[sa.MetaData, dict]:
    """A database of the release before migrations, with rows in every table, upgraded to 0001 only."""
    schema_v0.create(engine)
    fill(engine)
    legacy = reflect(engine)
    before = snapshot(engine, legacy)
    assert all(len(rows) == ROWS_PER_TABLE for rows in before.values())
    return legacy, before


def _teams(engine) -> dict[str, set]:
    with engine.connect() as conn:
        return {table: set(conn.execute(text(f'SELECT team_id FROM "{table}"')).scalars()) for table in TEAM_TABLES}


def test_rows_stored_before_workspaces_belong_to_the_single_workspace_after_the_upgrade(engine, empty_url, tmp_path):
    legacy, before = _at_baseline(engine, empty_url, tmp_path)
    upgraded = stockbot_db(empty_url, "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"to {schema.head_revision()} (head)" in upgraded.stdout
    assert snapshot(engine, legacy) == before  # every row, every value
    assert _teams(engine) == {table: {""} for table in TEAM_TABLES}
    assert differences(engine) == []  # exactly the models' schema: keys, unique rules and indexes per team
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("threshold")["constrained_columns"] == ["team_id", "sku"]
    assert inspector.get_pk_constraint("lease")["constrained_columns"] == ["name"]  # process-level
    assert "team_id" not in {c["name"] for c in inspector.get_columns("webhook_delivery")}
    with Session(engine) as session:  # the single workspace reads them as before
        assert sorted(t.sku for t in session.exec(sa.select(Threshold)).scalars()) == \
            sorted(row[0] for row in before["threshold"])


def test_downgrade_refuses_to_merge_workspaces_and_otherwise_round_trips(engine, empty_url, tmp_path):
    legacy, before = _at_baseline(engine, empty_url, tmp_path)
    assert stockbot_db(empty_url, "upgrade", cwd=tmp_path).returncode == 0
    with engine.begin() as conn:  # a second workspace's threshold, with a SKU the first one has too
        sku = before["threshold"][0][0]
        conn.execute(text("INSERT INTO threshold (team_id, sku, warning_level, critical_level, updated_by, "
                          "updated_at) SELECT 'T0SECOND', sku, 1, 0, updated_by, updated_at FROM threshold "
                          "WHERE sku = :sku"), {"sku": sku})
    while schema.stored_revision(engine) != "0002_team_id":  # later revisions (new tables) go first
        assert stockbot_db(empty_url, "downgrade", "-1", cwd=tmp_path).returncode == 0
    refused = stockbot_db(empty_url, "downgrade", "-1", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "refused: rows of 2 workspaces are stored ('', 'T0SECOND')" in refused.stderr
    assert schema.stored_revision(engine) == "0002_team_id"
    assert _teams(engine)["threshold"] == {"", "T0SECOND"}  # nothing changed

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM threshold WHERE team_id = 'T0SECOND'"))
    down = stockbot_db(empty_url, "downgrade", "-1", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "to 0001_baseline" in down.stdout
    assert "team_id" not in {c["name"] for c in sa.inspect(engine).get_columns("threshold")}
    assert sa.inspect(engine).get_pk_constraint("threshold")["constrained_columns"] == ["sku"]
    assert snapshot(engine, legacy) == before

    up = stockbot_db(empty_url, "upgrade", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert snapshot(engine, legacy) == before
    assert _teams(engine) == {table: {""} for table in TEAM_TABLES}
    assert differences(engine) == []
