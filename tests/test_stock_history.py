"""The daily stock history behind the stock chart: one row per SKU, warehouse and day, on SQLite and Postgres."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func
from sqlmodel import select

from storage import repo
from storage.db import init_db, make_engine
from storage.db import session as open_session
from storage.models import StockDay

DAY = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def _write(engine, rows):
    with engine.begin() as conn:
        repo.upsert_stock(conn, [{"source": "test", **row} for row in rows])


def test_one_row_per_sku_warehouse_and_day_holding_the_closing_value(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    _write(engine, [{"sku": "A", "warehouse": "W1", "available": 100, "read_at": DAY}])
    _write(engine, [{"sku": "A", "warehouse": "W1", "available": 90, "read_at": DAY + timedelta(hours=3)}])
    _write(engine, [{"sku": "A", "warehouse": "W1", "available": 90, "read_at": DAY + timedelta(hours=4)}])
    _write(engine, [{"sku": "A", "warehouse": "W2", "available": 5, "read_at": DAY + timedelta(hours=4)}])
    _write(engine, [{"sku": "A", "warehouse": "W1", "available": 70, "read_at": DAY + timedelta(days=2)}])
    with open_session(engine) as session:
        assert session.exec(select(func.count()).select_from(StockDay)).one() == 3
        first = date(2026, 10, 30)
        history = repo.stock_history(session, "A", first, date(2026, 11, 4))
        # nothing known before the first write; a day without a write carries the day before
        assert history == [(date(2026, 11, 1), 95), (date(2026, 11, 2), 95), (date(2026, 11, 3), 75),
                           (date(2026, 11, 4), 75)]
        assert repo.stock_history(session, "A", first, date(2026, 11, 4), warehouse="W2")[-1] == (date(2026, 11, 4), 5)
        # a window that starts after the last change still starts from the value carried into it
        assert repo.stock_history(session, "A", date(2026, 11, 2), date(2026, 11, 2)) == [(date(2026, 11, 2), 95)]
        assert repo.first_stock_day(session, "A") == date(2026, 11, 1)
        assert repo.first_stock_day(session, "B") is None
        assert repo.stock_history(session, "B", first, date(2026, 11, 4)) == []
    engine.dispose()


def test_a_manual_count_and_a_source_read_both_record_history(bot, stock_file):
    from tests.conftest import write_stock

    write_stock(stock_file, {"SKU1": 400})
    bot.checker.run_check(now=DAY)
    assert "350" in bot.ask("/stock", "set SKU1 350")
    with open_session(bot.ctx.engine) as session:
        days = session.exec(select(StockDay).where(StockDay.sku == "SKU1").order_by(StockDay.day)).all()
    assert [(row.day, row.available) for row in days][0] == (DAY.date(), 400)
    assert days[-1].available == 350


def test_the_nightly_prune_keeps_what_the_chart_reads(database_url):
    from bot.checker import STOCK_HISTORY_KEEP_DAYS

    engine = make_engine(database_url)
    init_db(engine)
    today = date(2026, 11, 25)
    start = today - timedelta(days=300)
    for offset in range(0, 300, 10):  # a change every 10 days for 300 days, in two warehouses
        read_at = datetime.combine(start + timedelta(days=offset), datetime.min.time(), tzinfo=timezone.utc)
        _write(engine, [{"sku": "A", "warehouse": "W1", "available": 1000 - offset, "read_at": read_at},
                        {"sku": "A", "warehouse": "W2", "available": 7, "read_at": read_at}])
    _write(engine, [{"sku": "B", "warehouse": "", "available": 3, "read_at": DAY - timedelta(days=400)}])
    window = (today - timedelta(days=STOCK_HISTORY_KEEP_DAYS), today)
    with open_session(engine) as session:
        before = repo.stock_history(session, "A", *window)
        b_before = repo.stock_history(session, "B", *window)
    with engine.begin() as conn:
        removed = repo.prune_stock_history(conn, window[0])
    with open_session(engine) as session:
        assert repo.stock_history(session, "A", *window) == before  # the same values, every day
        assert repo.stock_history(session, "B", *window) == b_before == [(day, 3) for day, _ in b_before]
        kept = session.exec(select(StockDay).where(StockDay.day < window[0])).all()
    # one row per (sku, warehouse) is left before the window: the value carried into it
    assert sorted((row.sku, row.warehouse) for row in kept) == [("A", "W1"), ("A", "W2"), ("B", "")]
    assert removed == 2 * 17  # per warehouse: 18 changes before the window (days 0..170), the last one kept
    engine.dispose()


def test_the_prune_runs_nightly(bot):
    from bot.scheduler import start_scheduler

    scheduler = start_scheduler(bot.checker, 900, run_now=False)
    try:
        fields = {f.name: str(f) for f in scheduler.get_job("stock_history_prune").trigger.fields}
        assert (fields["hour"], fields["minute"]) == (str(bot.settings.auto_recompute_hour), "35")
    finally:
        scheduler.shutdown(wait=False)
