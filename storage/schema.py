"""Schema migrations (Alembic, scripts in migrations/ at the top of the repository).

Every process that opens the database calls storage.db.init_db, which brings it to the head
revision here (or, with AUTO_MIGRATE=false, refuses to start on a database behind it).
Kept cheap because it runs at every start and for every test database:

- the script directory and its head are read once per process;
- a database already at head costs one query (`SELECT version_num FROM alembic_version`);
- an empty database gets create_all + a stamp of head (Alembic's cookbook path; the models and the
  migrations are proven equal by tests/test_migrations.py), not every revision replayed.

Several processes may start on one database at once: the upgrade runs in one transaction that
first takes a lock (Postgres: an advisory lock on MIGRATION_LOCK_KEY; SQLite: BEGIN IMMEDIATE,
the one writer), then looks at the revision again, so a revision is never run twice.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

import storage
from storage.db import all_metadata

log = logging.getLogger(__name__)

# Another migrations folder (tests use a copy with an extra revision); unset: the one beside storage/.
MIGRATIONS_DIR_ENV = "STOCKBOT_MIGRATIONS_DIR"
# pg_advisory_xact_lock key serialising upgrades on one Postgres database: "STOCKBOT" in ASCII.
MIGRATION_LOCK_KEY = 0x53544F434B424F54
UPGRADE_HINT = "run `stockbot db upgrade` (back the database up first; README: 'Upgrading')"


class SchemaMismatch(RuntimeError):
    """The database is not at this release's schema and may not be upgraded here."""


class DowngradeRefused(RuntimeError):
    """A downgrade that would go below the baseline (dropping every table) or has nothing to undo."""


@dataclass(frozen=True)
class Upgrade:
    before: Optional[str]  # None: an empty database or one from before migrations
    after: str
    created: bool = False  # an empty database: tables created, head stamped

    @property
    def changed(self) -> bool:
        return self.before != self.after


def migrations_dir() -> Path:
    configured = os.environ.get(MIGRATIONS_DIR_ENV, "").strip()
    return Path(configured) if configured else Path(storage.__file__).resolve().parents[1] / "migrations"


@lru_cache(maxsize=8)
def _script(directory: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(directory))


@lru_cache(maxsize=8)
def _head(directory: str) -> str:
    head = _script(directory).get_current_head()
    if head is None:
        raise SchemaMismatch(f"no migration revisions in {directory}")
    return head


def _config(directory: str, connection: Optional[Connection] = None) -> Config:
    """Built here, not read from alembic.ini: the process's working directory does not matter."""
    config = Config()
    config.set_main_option("script_location", directory)
    config.attributes["connection"] = connection  # migrations/env.py runs on it: the caller's engine
    return config


def script_directory() -> ScriptDirectory:
    return _script(str(migrations_dir()))


def head_revision() -> str:
    return _head(str(migrations_dir()))


def stored_revision(engine: Engine) -> Optional[str]:
    """The database's revision in one query; None when it has no alembic_version table (yet)."""
    with engine.connect() as conn:  # a database that cannot be reached raises here
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no such table: empty, or created before migrations
            return None


def describe(revision: Optional[str]) -> str:
    return revision or "no revision yet (empty, or created by a release before migrations)"


def require_head(engine: Engine) -> None:
    """AUTO_MIGRATE=false: refuse a database that is not at head, never half-work on it."""
    head, current = head_revision(), stored_revision(engine)
    if current == head:
        return
    _refuse_unknown(current)
    raise SchemaMismatch(f"the database's schema revision is {describe(current)}; this release needs {head} and "
                         f"AUTO_MIGRATE is false: {UPGRADE_HINT}, or set AUTO_MIGRATE=true.")


def _refuse_unknown(revision: Optional[str]) -> None:
    """A revision this release does not have: the database was upgraded by a newer release."""
    if revision is None:
        return
    try:
        known = script_directory().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        known = False
    if not known:
        raise SchemaMismatch(f"the database is at revision {revision}, which this release does not know (a newer "
                             f"release upgraded it): run that release, or restore the backup taken before it.")


def migrate_to_head(engine: Engine) -> Upgrade:
    head = head_revision()
    current = stored_revision(engine)
    if current == head:
        return Upgrade(current, head)
    _refuse_unknown(current)
    with locked_migration(engine) as conn:
        current = MigrationContext.configure(conn).get_current_revision()  # another process may have done it
        if current == head:
            return Upgrade(current, head)
        _refuse_unknown(current)
        if current is None and not _has_our_tables(conn):
            for metadata in all_metadata():
                metadata.create_all(conn)
            MigrationContext.configure(conn).stamp(script_directory(), "heads")
            log.info("database created at schema revision %s", head)
            return Upgrade(None, head, created=True)
        command.upgrade(_config(str(migrations_dir()), conn), "heads")
        log.info("database upgraded from %s to %s", describe(current), head)
        return Upgrade(current, head)


def downgrade_one(engine: Engine) -> tuple[str, Optional[str]]:
    """One revision back; refused at the baseline (below it is no schema at all: every table dropped)."""
    with locked_migration(engine) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None:
            raise DowngradeRefused("the database has no revision yet: nothing to downgrade (`stockbot db upgrade` "
                                   "adopts it)")
        _refuse_unknown(current)
        revision = script_directory().get_revision(current)
        if revision.down_revision is None:
            raise DowngradeRefused(f"the database is at the baseline ({current}): going below it would drop every "
                                   f"table, so it is refused. Restore a backup to go further back.")
        command.downgrade(_config(str(migrations_dir()), conn), "-1")
        return current, MigrationContext.configure(conn).get_current_revision()


def _has_our_tables(conn: Connection) -> bool:
    existing = set(inspect(conn).get_table_names())
    return any(table in existing for metadata in all_metadata() for table in metadata.tables)


@contextmanager
def locked_migration(engine: Engine) -> Iterator[Connection]:
    """One transaction that only one process at a time holds; committed on success, rolled back on error.

    Postgres: DDL is transactional and pg_advisory_xact_lock is released with the transaction.
    SQLite: BEGIN IMMEDIATE takes the write lock at once (others wait busy_timeout for it); the
    driver would otherwise start its transaction only at the first INSERT. Foreign keys are off
    meanwhile (the pragma cannot change inside a transaction), so batch mode may rebuild a table
    other tables refer to.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            yield conn
        return
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
