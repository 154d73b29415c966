"""Engine creation. SQLite gets WAL and a busy timeout so the web threads and the scheduler
can share one file; Postgres is used as is."""

from __future__ import annotations

from sqlalchemy import event, inspect, text
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


def init_db(engine: Engine) -> None:
    """Create missing tables and add missing nullable columns; rows are never touched.

    New versions only ever add tables or nullable columns, so an upgrade is this additive
    step: an existing install keeps every threshold, episode and reorder it has.
    """
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)
    for table in SQLModel.metadata.sorted_tables:  # create_all adds indexes only to tables it creates
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def add_missing_columns(engine: Engine) -> list[str]:
    added = []
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in SQLModel.metadata.sorted_tables:
            existing = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing or not column.nullable or column.primary_key:
                    continue
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                added.append(f"{table.name}.{column.name}")
    return added


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
