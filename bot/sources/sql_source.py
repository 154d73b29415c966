"""Stock from the seller's own database: STOCK_SQL_URL (any SQLAlchemy URL) + STOCK_SQL_QUERY.

For sellers whose ERP sits on MySQL or Postgres. The query returns columns named `sku`,
`available` and optionally `warehouse`, `name`, `on_order` (alias them in SQL:
`SELECT item_code AS sku, qty_free AS available FROM ...`). It runs in a transaction that
is rolled back, so a query that writes by mistake changes nothing in the seller's ERP.
"""

from __future__ import annotations

import threading
from typing import Optional

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.core.text import clean_text
from bot.sources import Reason, SourceError, StockRow, sku_problem

REQUIRED = ("sku", "available")

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine(url: str) -> Engine:
    # One pooled engine per URL for the life of the process: a check every few minutes
    # should not open a new connection pool each time.
    with _engines_lock:
        if url not in _engines:
            try:
                _engines[url] = create_engine(url, pool_pre_ping=True)
            except (SQLAlchemyError, ImportError, ValueError) as exc:
                raise SourceError(f"STOCK_SQL_URL is not a database URL Stockbot can use "
                                  f"({type(exc).__name__})", "sql_bad_url", error=type(exc).__name__) from None
        return _engines[url]


def _quantity(value, column: str, row_number: int, sku: str) -> Optional[int]:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _row_error(row_number, Reason(f"{column} {str(value)[:40]!r} for {sku} is not a number", "not_number",
                                            label=column, value=repr(str(value)[:40]), sku=sku)) from None
    if number != int(number):
        raise _row_error(row_number, Reason(f"{column} {value} for {sku} is not a whole number", "not_whole",
                                            label=column, value=str(value), sku=sku))
    return int(number)


def _row_error(row_number: int, problem: Reason) -> SourceError:
    return SourceError(f"row {row_number}: {problem}", "sql_row", number=row_number, row=problem)


def read_sql(url: str, query: str) -> list[StockRow]:
    """Run the query and return every row; any problem raises SourceError and returns nothing."""
    if not url or not query:
        raise SourceError("set both STOCK_SQL_URL and STOCK_SQL_QUERY", "sql_not_set")
    rows: list[StockRow] = []
    try:
        with _engine(url).connect() as conn:
            transaction = conn.begin()
            try:
                result = conn.execute(text(query))
                if not result.returns_rows:
                    raise SourceError("STOCK_SQL_QUERY returned no result set: it must be a SELECT", "sql_not_select")
                columns = [name.lower() for name in result.keys()]
                missing = [name for name in REQUIRED if name not in columns]
                if missing:
                    raise SourceError(f"STOCK_SQL_QUERY has no {' or '.join(missing)} column "
                                      f"(columns: {', '.join(columns)[:200]}); alias them with AS",
                                      "sql_missing_columns", fields=missing, columns=", ".join(columns)[:200])
                at = {name: columns.index(name) for name in columns}
                for row_number, record in enumerate(result, start=1):
                    sku = str(record[at["sku"]] or "").strip()
                    problem = sku_problem(sku)  # the rules of /threshold set
                    if problem:
                        raise _row_error(row_number, problem)
                    available = _quantity(record[at["available"]], "available", row_number, sku)
                    if available is None:
                        raise _row_error(row_number, Reason(f"available for {sku} is empty", "value_empty",
                                                            label="available", sku=sku))
                    warehouse = clean_text(str(record[at["warehouse"]] or "")).strip()[:64] \
                        if "warehouse" in at else ""
                    name = (clean_text(str(record[at["name"]])).strip()[:255] or None) if "name" in at and \
                        record[at["name"]] is not None else None
                    on_order = _quantity(record[at["on_order"]], "on_order", row_number, sku) \
                        if "on_order" in at else None
                    rows.append(StockRow(sku=sku, available=available, warehouse=warehouse, name=name,
                                         on_order=on_order))
            finally:
                transaction.rollback()
    except SQLAlchemyError as exc:
        # The driver's first line says what failed (bad column, refused connection) without the URL.
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise SourceError(f"the stock query failed: {detail}", "sql_failed", error=detail) from None
    if not rows:
        raise SourceError("STOCK_SQL_QUERY returned no rows", "sql_no_rows")
    return rows
