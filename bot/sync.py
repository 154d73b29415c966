"""Stock sources into the database: the sync half of the checker.

Each source is all or nothing: its rows are written in one transaction, and a read that
fails (or is empty) writes nothing, so a broken sync never lowers stored stock or raises an
alert. A source failing is told to OPS_CHANNEL once and its recovery once, through the
outbox, in the transaction that records the source's state.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Iterable, Optional, Sequence

from sqlalchemy.engine import Engine

from bot import notices, outbox
from bot.config import Settings
from bot.core.text import clean_optional, clean_text
from bot.sources import Reason, SalesRow, SourceError, StockRow, reason_of
from bot.sources.registry import PUSH_SOURCE, Source, plan_sources
from storage import repo
from storage.db import session as open_session

log = logging.getLogger(__name__)

STOCK_WRITE_BATCH = 5000


class SourceSync:
    """Mixed into Checker, which provides these (check_soon: it queues the checks a push asks for)."""

    engine: Engine
    settings: Settings
    lang: str
    check_soon: Callable[[Iterable[str]], None]

    # ---- sources -----------------------------------------------------------------------------

    def sync_sources(self, now: datetime) -> list[str]:
        """Read every configured stock source into the database. Returns the errors.

        Each source is all or nothing: its rows are written in one transaction, and a read
        that fails (or is empty) writes nothing, so a broken sync never lowers stored stock
        or raises an alert. SKUs a successful read leaves out keep their last value (and
        show its time). A failure is posted once, the recovery once.
        """
        plan = plan_sources(self.settings, self.engine)
        errors = []
        for name, problem in plan.errors:
            self._source_failed(name, problem, now)
            errors.append(f"{name}: {problem}")
        for source in plan.sources:
            error = self.sync_source(source, now)
            if error:
                errors.append(f"{source.name}: {error}")
        return errors

    def sync_source(self, source: Source, now: datetime) -> Optional[str]:
        try:
            fingerprint = source.fingerprint() if source.fingerprint else None
            with open_session(self.engine) as session:
                unchanged = fingerprint is not None and repo.source_state(session, source.name).content_hash == fingerprint
            rows = 0 if unchanged else self.write_stock(source.name, source.read(), now)
            if source.sync_sales is not None:
                source.sync_sales(self.engine, now)
        except SourceError as exc:
            self._source_failed(source.name, reason_of(exc), now)  # the Reason: worded in the reader's language
            return str(exc)
        self._source_succeeded(source.name, fingerprint, rows, unchanged, now)
        return None

    def accept_push(self, rows: Sequence[StockRow], now: Optional[datetime] = None, source: str = PUSH_SOURCE) -> int:
        """Store pushed (or uploaded) stock in one transaction and check those SKUs at once, in the background.

        A push carries only the SKUs that changed, so it never marks other SKUs stale.
        """
        now = now or repo.utcnow()
        count = self.write_stock(source, rows, now)
        with open_session(self.engine) as session:
            state = repo.source_state(session, source)
            state.last_success_at, state.rows_read = now, count
            session.add(state)
            session.commit()
        self.check_soon(row.sku for row in rows)
        return count

    def write_sales(self, source_name: str, rows: Iterable[SalesRow]) -> int:
        """Write daily sales in one transaction; returns how many (sku, warehouse, day) rows."""
        batch = [{"sku": r.sku, "warehouse": clean_text(r.warehouse), "day": r.day, "units": r.units,
                  "source": source_name} for r in rows]
        with self.engine.begin() as conn:
            for start in range(0, len(batch), STOCK_WRITE_BATCH):
                repo.upsert_sales(conn, batch[start:start + STOCK_WRITE_BATCH])
        return len(batch)

    def write_stock(self, source_name: str, rows: Iterable[StockRow], now: datetime) -> int:
        """Write rows in one transaction (a SourceError raised while iterating rolls all of it back).

        Returns how many rows were written. An empty read is an error, never "all gone".
        """
        count = 0
        batch: list[dict] = []
        with self.engine.begin() as conn:
            for row in rows:
                # Negative available is oversold: stored as 0 available (OUT OF STOCK, and sums over
                # warehouses stay true) with the oversold units kept beside it, whatever the source.
                batch.append({"sku": row.sku, "warehouse": clean_text(row.warehouse),
                              "available": max(row.available, 0),
                              "oversold": -row.available if row.available < 0 else None,
                              "name": clean_optional(row.name), "on_order": row.on_order, "source": source_name,
                              "read_at": now})
                count += 1
                if len(batch) >= STOCK_WRITE_BATCH:
                    repo.upsert_stock(conn, batch)
                    batch = []
            if count == 0:
                raise SourceError("the read returned no stock rows", "read_empty")
            repo.upsert_stock(conn, batch)
        return count

    def _source_failed(self, spec: str, error: str, now: datetime) -> None:
        log.warning("stock source %s failed: %s", spec, error)
        with open_session(self.engine) as session:
            state = repo.source_state(session, spec)
            first_failure = not state.failing
            state.failing, state.last_error, state.last_error_at = True, error[:1000], now
            state.last_error_reason = error.to_json() if isinstance(error, Reason) and error.code else None
            session.add(state)
            if first_failure and self.settings.ops_channel_or_alerts:
                outbox.message(session, self.settings.ops_channel_or_alerts,
                               notices.source_failed_text(self.lang, spec, error), now)
            session.commit()

    def _source_succeeded(self, spec: str, fingerprint: Optional[str], rows: int, unchanged: bool,
                          now: datetime) -> None:
        with open_session(self.engine) as session:
            state = repo.source_state(session, spec)
            was_failing = state.failing
            state.failing, state.last_success_at, state.content_hash = False, now, fingerprint
            if not unchanged:
                state.rows_read, state.last_written_at = rows, now
            session.add(state)
            if was_failing and self.settings.ops_channel_or_alerts:
                outbox.message(session, self.settings.ops_channel_or_alerts,
                               notices.source_recovered_text(self.lang, spec, state.rows_read), now)
            session.commit()
