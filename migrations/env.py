"""Alembic environment. Stockbot runs it on its own connection (storage.schema passes it in
config.attributes["connection"], inside the migration lock); the `alembic` command line
(developers: `alembic revision --autogenerate -m ...`) connects to DATABASE_URL itself."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from storage.db import all_metadata

config = context.config
target_metadata = all_metadata()


def render_item(kind, obj, autogen_context):
    """Autogenerate writes SQLModel's column types as the plain SQLAlchemy types they create, so revisions
    need no sqlmodel import and mean the same whatever SQLModel's types become."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table, changes it, and moves the rows back.
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    from bot.config import load_settings
    from storage.db import make_engine

    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    engine = make_engine(config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    try:
        with engine.connect() as connection:
            run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: the baseline revision inspects the database")
if config.attributes.get("connection") is not None:
    run_on(config.attributes["connection"])
else:
    run_from_command_line()
