"""Several stock sources at once, the SQL source, and the rule that matters most:
a failed, empty or partial read never raises an alert on its own."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlmodel import select

from storage.db import Session
from storage.models import SourceState, Stock
from tests.conftest import ERP_QUERY, write_stock

OPS_CHANNEL = "C0OPS"


def set_erp(path, rows: list[tuple]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM inventory")
        conn.executemany("INSERT INTO inventory VALUES (?, ?, ?, ?)", rows)




def stored(bot) -> dict[tuple[str, str], tuple[int, str]]:
    with Session(bot.ctx.engine) as session:
        return {(r.sku, r.warehouse): (r.available, r.source) for r in session.exec(select(Stock)).all()}


def sku_posts(slack, sku: str) -> list[dict]:
    return [p for p in slack.posts() if sku in p.get("text", "")]


def test_sql_source_reads_the_erp_and_alerts(start_bot, slack, erp):
    set_erp(erp, [("SKU123", 600, "SZ", "Red dress"), ("SKU123", 300, "HK", "Red dress"), ("SKU9", 5000, "SZ", None)])
    bot = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY)
    bot.ask("/threshold", "set SKU123 1500")
    report = bot.checker.run_check()
    assert report.source_errors == [] and report.posted == ["SKU123:WARNING"]
    assert stored(bot) == {("SKU123", "SZ"): (600, "sql"), ("SKU123", "HK"): (300, "sql"), ("SKU9", "SZ"): (5000, "sql")}
    [alert] = sku_posts(slack, "SKU123")
    assert alert["text"] == "WARNING: SKU123 available 900 (warning level 1,500)"
    assert "Red dress" in json.dumps(alert["blocks"])


@pytest.mark.parametrize("query, error", [
    ("SELECT item_code AS sku FROM inventory", "no available column"),
    ("SELECT item_code AS sku, qty_free AS available FROM no_such_table", "the stock query failed: no such table"),
    ("SELECT item_code AS sku, qty_free AS available FROM inventory WHERE 0", "returned no rows"),
    ("SELECT item_code AS sku, 'lots' AS available FROM inventory", "'lots' for SKU123 is not a number"),
])
def test_a_failing_sql_source_changes_nothing_and_is_reported_once(start_bot, slack, erp, query, error):
    set_erp(erp, [("SKU123", 900, "", None)])
    first = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY,
                      ops_channel=OPS_CHANNEL)
    first.ask("/threshold", "set SKU123 1000")
    assert first.checker.run_check().posted == ["SKU123:WARNING"]
    # The query is changed (restart with the new setting) and now fails, while the ERP says 0.
    bot = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=query,
                    ops_channel=OPS_CHANNEL)
    set_erp(erp, [("SKU123", 0, "", None)])
    for _ in range(3):
        report = bot.checker.run_check()
        assert report.posted == [] and len(report.source_errors) == 1 and error in report.source_errors[0]
    assert stored(bot) == {("SKU123", ""): (900, "sql")}  # the last good value stays
    failures = [p for p in slack.posts(channel=OPS_CHANNEL)]
    assert len(failures) == 1 and error in failures[0]["text"] and "`sql`" in failures[0]["text"]
    assert sku_posts(slack, "OUT OF STOCK") == []


def test_sql_source_recovery_is_posted_once(start_bot, slack, erp):
    bot = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY,
                    ops_channel=OPS_CHANNEL)
    bot.checker.run_check()  # the table is empty: a failure
    set_erp(erp, [("SKU123", 900, "", None)])
    bot.checker.run_check()
    bot.checker.run_check()
    texts = [p["text"] for p in slack.posts(channel=OPS_CHANNEL)]
    assert len(texts) == 2 and "returned no rows" in texts[0] and "readable again (1 rows)" in texts[1]


def test_the_sql_url_never_appears_in_slack(start_bot, slack):
    secret_url = "postgresql+psycopg://erp:VerySecret123@127.0.0.1:1/erp"
    bot = start_bot(stock_source="", stock_sql_url=secret_url, stock_sql_query=ERP_QUERY)
    report = bot.checker.run_check()
    assert len(report.source_errors) == 1
    assert "VerySecret123" not in json.dumps([c.params for c in slack.calls])
    assert "VerySecret123" not in report.source_errors[0]


def test_several_sources_each_keep_their_rows_and_a_bad_one_does_not_stop_the_others(
        start_bot, slack, erp, stock_file):
    set_erp(erp, [("ERP-1", 10, "", None)])
    write_stock(stock_file, {"CSV-1": 10})
    bot = start_bot(stock_source=f"csv:{stock_file}; nosuch:thing", stock_sql_url=f"sqlite:///{erp}",
                    stock_sql_query=ERP_QUERY)
    bot.ask("/threshold", "set ERP-1 100")
    bot.ask("/threshold", "set CSV-1 100")
    report = bot.checker.run_check()
    assert sorted(report.posted) == ["CSV-1:CRITICAL", "ERP-1:CRITICAL"]
    assert len(report.source_errors) == 1 and "unknown stock source `nosuch:thing`" in report.source_errors[0]
    assert stored(bot) == {("ERP-1", ""): (10, "sql"), ("CSV-1", ""): (10, f"csv:{stock_file}")}
    with Session(bot.ctx.engine) as session:
        names = {state.name: state.failing for state in session.exec(select(SourceState)).all()}
    assert names == {f"csv:{stock_file}": False, "sql": False, "nosuch:thing": True}


def test_a_sku_missing_from_a_successful_read_keeps_its_value_and_is_shown_as_of(bot, slack, stock_file):
    write_stock(stock_file, {"SKU123": 800, "SKU9": 50})
    bot.checker.run_check()
    write_stock(stock_file, {"SKU9": 40})  # the next export leaves SKU123 out
    assert bot.checker.run_check().source_errors == []
    assert stored(bot)[("SKU123", "")][0] == 800  # not zero, not gone
    bot.ask("/threshold", "set SKU123 1000")  # now below: the alert says the number is last known
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""))
    context = json.dumps(alert["blocks"], ensure_ascii=False)
    assert "Not in the latest read of" in context and "as of" in context
    bot.ask("/threshold", "set SKU9 100")  # SKU9 was in the latest read: no such note
    [fresh] = slack.wait_for("chat.postMessage", lambda p: "SKU9" in p.get("text", ""))
    assert "Not in the latest read" not in json.dumps(fresh["blocks"])


def test_stock_status_lists_each_source_with_its_last_read_and_error(start_bot, slack, erp, stock_file):
    write_stock(stock_file, {"CSV-1": 10, "CSV-2": 20})
    bot = start_bot(stock_source=f"csv:{stock_file}", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY)
    assert "No stock source has been read yet" in bot.ask("/stock", "status")
    bot.checker.run_check()  # the ERP table is empty: the sql source fails
    reply = bot.ask("/stock", "status")
    lines = reply.splitlines()
    assert lines[0].startswith("*Stock sources* · next check <!date^")
    assert lines[1].startswith("🔴 `sql` — last good read never, 0 rows")
    assert "last error" in lines[2] and "returned no rows" in lines[2]
    assert lines[3].startswith(f"🟢 `csv:{stock_file}` — last good read <!date^") and "2 rows" in lines[3]


def test_a_threshold_can_watch_one_warehouse(bot, slack, stock_file):
    write_stock(stock_file, {("SKU123", "US-WEST"): 250, ("SKU123", "US-EAST"): 5000}, warehouse=True)
    bot.checker.run_check()
    reply = bot.ask("/threshold", "set SKU123 300 warehouse US-WEST")
    assert "warehouse *US-WEST* only" in reply
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU123" in p.get("text", ""))
    assert alert["text"] == "WARNING: SKU123 @ US-WEST available 250 (warning level 300)"
    assert "US-WEST" in bot.ask("/threshold", "get SKU123")
    bot.ask("/threshold", "set SKU123 400")  # the scope is kept when only the level changes
    assert "warehouse *US-WEST* only" in bot.ask("/threshold", "get SKU123")
    bot.ask("/threshold", "set SKU123 400 warehouse all")  # back to the total (5 250): recovers
    assert "US-WEST" not in bot.ask("/threshold", "get SKU123")
