"""Schema migrations (storage/schema.py, migrations/): an install of the release before migrations is
upgraded in place by the real `stockbot db upgrade` with every row kept; downgrade and its refusal at the
baseline; AUTO_MIGRATE=false; processes starting together; and the check that the models and the
migrations describe the same schema (CI fails when they disagree). On SQLite and Postgres."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text

from storage import schema
from storage.db import all_metadata, init_db, make_engine
from tests.conftest import _database_url, new_schema
from tests.legacy import schema_v0

ROWS_PER_TABLE = 3
T0 = datetime(2026, 10, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)

# A further revision for the downgrade tests, added to a copy of migrations/ on top of the project's head.
# It changes `episode`, which `alert` refers to, so on SQLite batch mode rebuilds a referenced table.
EXTRA = "0099_episode_note"
EXTRA_REVISION = '''"""Episode note (test only)."""

import sqlalchemy as sa
from alembic import op

revision = "0099_episode_note"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("episode") as batch:
        batch.add_column(sa.Column("note", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("episode") as batch:
        batch.drop_column("note")
'''


@pytest.fixture
def empty_url(tmp_path):
    """An empty database: a SQLite file, or a new schema of the Postgres test database (as conftest does)."""
    url = _database_url(tmp_path)
    if url.startswith("sqlite"):
        yield url
        return
    yield from new_schema(url, "m_")


@pytest.fixture
def engine(empty_url):
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


@pytest.fixture
def extra_migrations(tmp_path):
    """migrations/ copied, plus EXTRA_REVISION: what STOCKBOT_MIGRATIONS_DIR points the CLI at."""
    directory = tmp_path / "migrations"
    shutil.copytree(schema.migrations_dir(), directory, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "versions" / f"{EXTRA}.py").write_text(EXTRA_REVISION.replace("{head}", schema.head_revision()),
                                                         encoding="utf-8")
    return directory


def stockbot_db(url: str, *args: str, cwd, **extra_env) -> subprocess.CompletedProcess:
    """The real `stockbot db ...` in its own process (cwd: a folder without a developer's .env)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "SLACK_", "AUTO_MIGRATE", schema.MIGRATIONS_DIR_ENV))}
    env.update({"DATABASE_URL": url, "PYTHONUNBUFFERED": "1", **extra_env})
    return subprocess.run([sys.executable, "-m", "bot.cli", "db", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


# ---- a database from the release before migrations, with rows in every table -----------------------------

def reflect(engine) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return metadata


def generic_value(column: sa.Column, row: int):
    """A value for `column` in row 1..ROWS_PER_TABLE by its type; integers count 1, 2, 3 so foreign keys
    (alert.episode_id, supplier_sku.supplier_id) point at the parents' rows 1, 2, 3."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return row % 2 == 0
    if isinstance(kind, sa.Integer):
        return row
    if isinstance(kind, sa.Float):
        return row + 0.25
    if isinstance(kind, sa.DateTime):
        return T0 + timedelta(days=row, seconds=row)
    if isinstance(kind, sa.Date):
        return date(2026, 10, row)
    if isinstance(kind, sa.String):  # VARCHAR(n) and TEXT
        value = f"{column.name}-{row}-数据"
        return value[:kind.length] if kind.length else value * 40
    raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind!r})")


def realistic_rows(row: int) -> dict[str, dict]:
    """Rows as Stockbot writes them, for the tables an upgrade must never lose."""
    sku = ["LED-STRIP-5M", "连衣裙-红-XL", "MUG-01"][row - 1]
    return {
        "threshold": {"sku": sku, "warning_level": 50 * row, "critical_level": 10 * row, "channel": "C0ALERTS",
                      "updated_by": "U0BUYER", "updated_at": T0, "warehouse": "SZ" if row == 2 else None},
        "stock": {"sku": sku, "warehouse": "", "available": 7 * row, "name": f"{sku} name",
                  "source": "csv:/data/stock.csv", "read_at": T0, "on_order": 100 if row == 1 else None,
                  "oversold": 5 if row == 3 else None},
        "episode": {"id": row, "sku": sku, "open_sku": sku if row != 2 else None, "opened_at": T0,
                    "closed_at": T0 + timedelta(hours=3) if row == 2 else None, "recovered_available": None},
        "alert": {"id": row, "episode_id": row, "sku": sku, "tier": 2, "channel": "C0ALERTS",
                  "ts": f"1764000001.00010{row}", "posted_at": T0, "available": 7 * row, "on_order": 0,
                  "warning_level": 50 * row, "critical_level": 10 * row, "read_at": T0, "name": f"{sku} name",
                  "acked_by": "U0BUYER" if row == 1 else None, "acked_at": T0 if row == 1 else None,
                  "last_reminded_at": None, "warehouse": None, "source_on_order": None, "stale_source": None,
                  "oversold": None, "digest_id": None, "cover_days": 2.5 * row},
        "outbox": {"id": row, "key": f"sku:{sku}", "kind": "post_alert", "channel": "C0ALERTS", "alert_id": row,
                   "digest_id": None, "payload": '{"text": "CRITICAL · ' + sku + '", "blocks": []}',
                   "created_at": T0, "next_try_at": T0, "attempts": row - 1, "in_flight_at": None,
                   "claimed_by": "host:42" if row == 1 else None, "done": row == 1,
                   "sent_at": T0 if row == 1 else None, "ts": None, "error": None},
    }


def fill(engine) -> None:
    tables = reflect(engine)
    with engine.begin() as conn:
        for table in tables.sorted_tables:  # parents first: foreign keys hold
            for row in range(1, ROWS_PER_TABLE + 1):
                values = {column.name: generic_value(column, row) for column in table.columns}
                realistic = realistic_rows(row).get(table.name, {})
                values.update({name: value for name, value in realistic.items() if name in table.columns})
                conn.execute(table.insert().values(**values))


def snapshot(engine, tables: sa.MetaData) -> dict[str, list[tuple]]:
    """Every row of every table in `tables` (the legacy columns only), in primary key order."""
    rows = {}
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            current = sa.Table(table.name, sa.MetaData(), autoload_with=conn)
            columns = [current.c[column.name] for column in table.columns]
            order = [current.c[column.name] for column in table.primary_key.columns]
            rows[table.name] = [tuple(r) for r in conn.execute(sa.select(*columns).order_by(*order))]
    return rows


def differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), all_metadata())


def test_an_install_of_the_release_before_migrations_is_upgraded_in_place_with_every_row_kept(engine, empty_url,
                                                                                           tmp_path):
    schema_v0.create(engine)
    fill(engine)
    legacy = reflect(engine)
    before = snapshot(engine, legacy)
    assert len(before) == 24 and all(len(rows) == ROWS_PER_TABLE for rows in before.values())
    assert [row[:3] for row in before["threshold"]] == [("LED-STRIP-5M", 50, 10), ("MUG-01", 150, 30),
                                                         ("连衣裙-红-XL", 100, 20)]

    current = stockbot_db(empty_url, "current", cwd=tmp_path)
    assert current.returncode == 0 and "no revision yet" in current.stdout and "stockbot db upgrade" in current.stdout

    upgraded = stockbot_db(empty_url, "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    head = schema.head_revision()
    assert f"database upgraded from no revision yet (empty, or created by a release before migrations) to {head} " \
           f"(head)" in upgraded.stdout
    assert snapshot(engine, legacy) == before
    current = stockbot_db(empty_url, "current", cwd=tmp_path)
    assert (current.returncode, current.stdout.strip()) == (0, f"{head} (head)")
    assert differences(engine) == []  # exactly this release's schema

    again = stockbot_db(empty_url, "upgrade", cwd=tmp_path)
    assert again.returncode == 0 and f"database already at {head} (head): nothing to do" in again.stdout
    assert snapshot(engine, legacy) == before


def test_an_install_of_an_older_release_gets_the_nullable_columns_and_indexes_it_lacked(engine, empty_url, tmp_path):
    schema_v0.create(engine)
    with engine.begin() as conn:  # as an older release made them: before these columns existed
        conn.execute(text("DROP INDEX ix_alert_digest_id"))
        for table, column in [("alert", "digest_id"), ("alert", "cover_days"), ("threshold", "warehouse"),
                              ("source_state", "last_error_reason")]:
            conn.execute(text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))
        conn.execute(text("DROP TABLE purchase_request"))  # a table that release did not have at all
    fill(engine)
    older = reflect(engine)
    assert "cover_days" not in older.tables["alert"].c
    before = snapshot(engine, older)

    upgraded = stockbot_db(empty_url, "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert snapshot(engine, older) == before
    assert differences(engine) == []
    inspector = sa.inspect(engine)
    assert "ix_alert_digest_id" in {index["name"] for index in inspector.get_indexes("alert")}
    with engine.connect() as conn:
        added = conn.execute(text("SELECT digest_id, cover_days FROM alert ORDER BY id")).all()
        assert [tuple(row) for row in added] == [(None, None)] * ROWS_PER_TABLE
        assert conn.execute(text("SELECT count(*) FROM purchase_request")).scalar() == 0


def test_downgrade_one_step_then_upgrade_again_keeps_the_data_and_the_baseline_is_never_dropped(
        engine, empty_url, tmp_path, extra_migrations):
    schema_v0.create(engine)
    fill(engine)
    legacy = reflect(engine)
    before = snapshot(engine, legacy)
    use_copy = {schema.MIGRATIONS_DIR_ENV: str(extra_migrations)}

    upgraded = stockbot_db(empty_url, "upgrade", cwd=tmp_path, **use_copy)
    head = schema.head_revision()
    assert upgraded.returncode == 0 and f"to {EXTRA} (head)" in upgraded.stdout, upgraded.stderr
    assert "note" in {column["name"] for column in sa.inspect(engine).get_columns("episode")}
    with engine.begin() as conn:
        conn.execute(text("UPDATE episode SET note = 'kept until the downgrade' WHERE id = 1"))

    down = stockbot_db(empty_url, "downgrade", "-1", cwd=tmp_path, **use_copy)
    assert down.returncode == 0, down.stderr
    assert f"database downgraded from {EXTRA} to {head}" in down.stdout
    assert "note" not in {column["name"] for column in sa.inspect(engine).get_columns("episode")}
    assert snapshot(engine, legacy) == before  # episode rebuilt (SQLite batch mode); alert still points at it
    current = stockbot_db(empty_url, "current", cwd=tmp_path, **use_copy)
    assert f"{head}; this release's head is {EXTRA}" in current.stdout

    up = stockbot_db(empty_url, "upgrade", cwd=tmp_path, **use_copy)
    assert up.returncode == 0 and f"upgraded from {head} to {EXTRA} (head)" in up.stdout
    assert snapshot(engine, legacy) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM episode WHERE note IS NULL")).scalar() == ROWS_PER_TABLE

    while schema.stored_revision(engine) != "0001_baseline":  # down through the project's own revisions
        assert stockbot_db(empty_url, "downgrade", "-1", cwd=tmp_path, **use_copy).returncode == 0
    refused = stockbot_db(empty_url, "downgrade", "-1", cwd=tmp_path, **use_copy)
    assert refused.returncode == 2
    assert "at the baseline (0001_baseline)" in refused.stderr and "refused" in refused.stderr
    assert snapshot(engine, legacy) == before  # nothing dropped
    assert stockbot_db(empty_url, "current", cwd=tmp_path).stdout.strip().startswith("0001_baseline")

    usage = stockbot_db(empty_url, "downgrade", "-2", cwd=tmp_path)
    assert usage.returncode == 2 and "only `-1`" in usage.stderr


def test_auto_migrate_false_refuses_to_start_on_a_database_not_at_head(engine, empty_url, tmp_path):
    schema_v0.create(engine)
    fill(engine)
    legacy = reflect(engine)
    before = snapshot(engine, legacy)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "SLACK_", "STOCK_", "ALERT_", schema.MIGRATIONS_DIR_ENV))}
    env.update({"DATABASE_URL": empty_url, "AUTO_MIGRATE": "false", "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": "secret", "ALERT_CHANNEL": "C0ALERTS", "PORT": "0",
                "STOCK_SOURCE": f"csv:{tmp_path / 'stock.csv'}", "PYTHONUNBUFFERED": "1"})
    (tmp_path / "stock.csv").write_text("sku,name,available\n", encoding="utf-8")

    run = subprocess.run([sys.executable, "-m", "bot.cli", "run"], capture_output=True, text=True, timeout=60,
                         env=env, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "AUTO_MIGRATE is false" in run.stderr and "run `stockbot db upgrade`" in run.stderr
    assert "listening" not in run.stderr
    assert schema.stored_revision(engine) is None and snapshot(engine, legacy) == before  # untouched

    assert stockbot_db(empty_url, "upgrade", cwd=tmp_path).returncode == 0
    check = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--dry-run"], capture_output=True,
                           text=True, timeout=60, env=env, cwd=tmp_path)
    # at head it starts and does its work (exit 1 here: the filled thresholds' SKUs are not in the stock file)
    assert "Nothing was sent or stored" in check.stdout and "AUTO_MIGRATE" not in check.stderr, check.stderr


# Each process imports everything and reads the scripts first, says it is ready, then waits for the word
# so that all of them reach the database within a millisecond or so, as replicas started together do.
RACER = """
import os, sys, time
from pathlib import Path
from bot.cli import main
from storage import schema
schema.head_revision()
Path(sys.argv[1] + ".ready").touch()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
sys.exit(main(["db", "upgrade"]))
"""


def test_processes_upgrading_at_once_run_the_baseline_once(engine, empty_url, tmp_path):
    schema_v0.create(engine)
    with engine.begin() as conn:  # work for the baseline: a column to add (twice would fail) and a table
        conn.execute(text('ALTER TABLE "alert" DROP COLUMN "cover_days"'))
        conn.execute(text("DROP TABLE purchase_request"))
    fill(engine)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "SLACK_", "AUTO_MIGRATE", schema.MIGRATIONS_DIR_ENV))}
    env.update({"DATABASE_URL": empty_url, "PYTHONPATH": os.getcwd()})
    go = tmp_path / "go"
    racers = [tmp_path / f"racer-{i}" for i in range(4)]
    processes = [subprocess.Popen([sys.executable, "-c", RACER, str(racer), str(go)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path) for racer in racers]
    deadline = time.monotonic() + 60
    while not all(racer.with_suffix(".ready").exists() for racer in racers) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * len(racers), outputs
    upgrades = [out for out, _ in outputs if "database upgraded from" in out]
    already = [out for out, _ in outputs if "database already at" in out]
    assert (len(upgrades), len(already)) == (1, len(racers) - 1), outputs
    assert differences(engine) == []


# ---- init_db: what every start and every test fixture runs ---------------------------------------------------

def test_init_db_creates_an_empty_database_at_head_and_then_costs_one_query(engine):
    init_db(engine)
    assert schema.stored_revision(engine) == schema.head_revision()
    assert differences(engine) == []
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    init_db(engine)
    init_db(engine, auto_migrate=False)
    assert statements == ["SELECT version_num FROM alembic_version"] * 2


def test_init_db_without_auto_migrate_refuses_a_legacy_database_and_changes_nothing(engine):
    schema_v0.create(engine)
    with pytest.raises(schema.SchemaMismatch, match="stockbot db upgrade"):
        init_db(engine, auto_migrate=False)
    assert schema.stored_revision(engine) is None
    init_db(engine)  # AUTO_MIGRATE=true adopts it
    assert schema.stored_revision(engine) == schema.head_revision()


def test_a_database_from_a_newer_release_is_refused(engine):
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    for auto_migrate in (True, False):
        with pytest.raises(schema.SchemaMismatch, match="0099_from_the_future, which this release does not know"):
            init_db(engine, auto_migrate=auto_migrate)


# ---- CI fails if the models and the migrations disagree ------------------------------------------------------

def upgrade_through_the_scripts(engine) -> None:
    """Every revision run in order on an empty database: not the create_all shortcut init_db takes."""
    with engine.begin() as conn:
        command.upgrade(schema._config(str(schema.migrations_dir()), conn), "heads")


def test_the_migrations_build_exactly_the_schema_of_the_models(engine):
    # No filter is needed: server defaults are not compared (compare_server_default is off; the models
    # declare none), and the models' AutoString(n) / UTCDateTime are VARCHAR(n) / timestamp with time zone,
    # which is what both databases reflect.
    upgrade_through_the_scripts(engine)
    assert schema.stored_revision(engine) == schema.head_revision()
    assert differences(engine) == []


def test_the_models_check_reports_a_column_or_type_the_migrations_lack(engine):
    upgrade_through_the_scripts(engine)
    changed = sa.MetaData()
    for metadata in all_metadata():
        for table in metadata.sorted_tables:
            table.to_metadata(changed)
    changed.tables["threshold"].append_column(sa.Column("note", sa.String(200), nullable=True))
    changed.tables["alert"].c.channel.type = sa.String(40)  # was 32
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), changed)
    assert [(d[0], d[2], d[3].name) for d in found if d[0] == "add_column"] == [("add_column", "threshold", "note")]
    modified = [d[0] for d in found if isinstance(d, list)]
    assert [(m[0], m[2], m[3]) for m in modified] == [("modify_type", "alert", "channel")]


def test_db_commands_say_when_the_database_cannot_be_opened(tmp_path):
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'stockbot.db'}"
    for action in ("upgrade", "current"):
        result = stockbot_db(missing, action, cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"stockbot db {action}: cannot use the database: unable to open database file" in result.stderr
