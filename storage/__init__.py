"""Persistence: SQLModel tables and the engine (SQLite by default, Postgres via DATABASE_URL)."""
