"""Engine creation, and init_db: the schema brought to the migrations' head (storage/schema.py). SQLite gets WAL
and a busy timeout so the web threads and the scheduler can share one file; Postgres is used as is."""

from __future__ import annotations

from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session as _SqlModelSession
from sqlmodel import SQLModel, create_engine

from bot.tenancy import current_team
from storage import (
    models,  # registers the tables on SQLModel.metadata
    scoping,  # noqa: F401  (every ORM statement: the current team's rows only)
)


def make_engine(database_url: str, busy_timeout: float = 30, **pool_options) -> Engine:
    """`busy_timeout`: how long a SQLite write waits for another's transaction; `pool_options`
    (pool_size, pool_timeout ...) go to SQLAlchemy's connection pool."""
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
            **pool_options,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True, **pool_options)


def all_metadata() -> list[MetaData]:
    """Every MetaData whose tables live in the database: what the migrations must match (migrations/env.py,
    the autogenerate compare and the models-vs-migrations check in tests/test_migrations.py).
    Bolt's installation store keeps its tables (slack_installations, slack_bots) on SQLModel.metadata
    too (storage.models), so they are covered here with ours."""
    return [SQLModel.metadata]


def init_db(engine: Engine, auto_migrate: bool = True) -> None:
    """Bring the database to this release's schema (the migrations' head), or refuse.

    auto_migrate: upgrade it here (several processes starting at once take turns; rows are never
    lost). False (AUTO_MIGRATE=false): a database not at head raises storage.schema.SchemaMismatch,
    whose message names `stockbot db upgrade`; the process must not start on it.
    """
    from storage import schema

    if auto_migrate:
        schema.migrate_to_head(engine)
    else:
        schema.require_head(engine)


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "not reachable" for /healthz
        return False


class Session(_SqlModelSession):
    """A session whose get() takes a team-owned row's own key: `get(Threshold, sku)` means the
    current team's threshold (its primary key is (team_id, sku)), and a row of another team is
    never handed out, not even from the identity map."""

    def get(self, entity, ident, **kwargs):
        team_keyed = isinstance(entity, type) and issubclass(entity, models.TeamKeyed)
        if team_keyed:
            key = tuple(ident) if isinstance(ident, (tuple, list)) else (ident,)
            if len(key) < len(entity.__table__.primary_key.columns):
                ident = (current_team(), *key)
        found = super().get(entity, ident, **kwargs)
        if found is not None and (team_keyed or isinstance(found, models.TeamOwned)) \
                and found.team_id != current_team():
            return None
        return found


def session(engine: Engine) -> Session:
    # expire_on_commit=False: objects stay readable after commit, outside the session.
    return Session(engine, expire_on_commit=False)
