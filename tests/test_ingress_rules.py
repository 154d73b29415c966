"""Issue 14, points 1 and 6 (what gets in): the SKU rules of `/threshold set` on every way in,
control characters stripped before storing, STOCK_EDITORS, and oversold stock from any source.

Each case drives the real app (HTTP, files, the loopback Slack and TikTok servers, a real
ERP database file) and reads the real tables afterwards."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from sqlmodel import Session, select

from bot.config import load_settings
from bot.core.text import clean_text
from storage.models import Alert, Reorder, Stock
from tests import tiktok_server as tts
from tests.conftest import ALERT_CHANNEL, ERP_QUERY, write_stock
from tests.test_file_import import DM, dm_reply, share_in_dm
from tests.test_push_api import PUSH_TOKEN, push
from tests.test_tiktok_source import tiktok_env

HOSTILE_SKUS = ["<!here>", "<!channel>", "SKU 1", "SKU\x001", "a" * 65, "SKU<https://evil.example|x>", "SKU\u200b1"]


def stock(bot) -> dict[tuple[str, str], Stock]:
    with Session(bot.ctx.engine) as session:
        return {(r.sku, r.warehouse): r for r in session.exec(select(Stock)).all()}


def no_controls(text) -> bool:
    return text is None or clean_text(text) == text


# ---- the SKU rules, every way in ---------------------------------------------------------------

@pytest.mark.parametrize("sku", HOSTILE_SKUS)
def test_a_push_with_a_bad_sku_is_400_naming_the_item(start_bot, sku):
    bot = start_bot(stock_push_token=PUSH_TOKEN)
    result = push(bot, "/api/stock", {"items": [{"sku": "GOOD-1", "available": 5}, {"sku": sku, "available": 5}]})
    assert result.status == 400
    assert result.json()["item"] == 1 and result.json()["error"].startswith("items[1].sku")
    assert stock(bot) == {}
    sales = push(bot, "/api/sales", {"items": [{"sku": sku, "date": "2026-01-02", "units": 1}]})
    assert sales.status == 400 and sales.json()["item"] == 0


def test_a_scheduled_file_with_a_bad_sku_is_refused_whole_naming_the_line(bot, stock_file):
    stock_file.write_text("sku,name,available\nGOOD-1,ok,5\n<!channel>,bad,5\n", encoding="utf-8")
    errors = bot.checker.run_check().source_errors
    assert len(errors) == 1 and "line 3" in errors[0] and "'<!channel>'" in errors[0]
    assert stock(bot) == {}


def test_an_upload_rejects_the_bad_sku_row_and_keeps_the_good_ones(bot, slack):
    content = "sku,name,available\nGOOD-1,Red\x00 dress\t XL,5\n<!here>,bad,5\nSKU 2,bad,7\n".encode()
    share_in_dm(bot, slack.add_file("export.csv", content))
    reply = dm_reply(slack)["text"]
    bot.settle()
    assert "1 SKUs updated" in reply or "1 SKU" in reply
    # the refused SKU is named, escaped: the reply itself cannot ping
    assert "Line 3" in reply and "'&lt;!here&gt;'" in reply and "<!here>" not in reply and "Line 4" in reply
    rows = stock(bot)
    assert list(rows) == [("GOOD-1", "")]
    assert rows[("GOOD-1", "")].name == "Red dress  XL"




def test_an_sql_row_with_a_bad_sku_fails_the_read_naming_the_row(start_bot, erp):
    with sqlite3.connect(erp) as conn:
        conn.executemany("INSERT INTO inventory VALUES (?, ?, ?, ?)",
                         [("GOOD-1", 5, "SZ", "ok"), ("<!here>", 5, "SZ", "bad")])
    bot = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY)
    errors = bot.checker.run_check().source_errors
    assert len(errors) == 1 and "row 2" in errors[0] and "'<!here>'" in errors[0]
    assert stock(bot) == {}


def test_sql_names_and_warehouses_lose_control_characters(start_bot, erp):
    with sqlite3.connect(erp) as conn:
        conn.execute("INSERT INTO inventory VALUES (?, ?, ?, ?)", ("GOOD-1", 5, "S\x00Z", "Lip\x00stick \u202egnp"))
    bot = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY)
    assert bot.checker.run_check().source_errors == []
    assert stock(bot)[("GOOD-1", "SZ")].name == "Lipstick gnp"


@pytest.fixture
def shop():
    server = tts.TikTokShopServer().start()
    server.warehouse_id = server.add_warehouse("US-WEST")
    yield server
    server.stop()


def test_a_tiktok_seller_sku_breaking_the_rules_fails_the_read(start_bot, shop):
    shop.add_product("GOOD-1", {shop.warehouse_id: 5})
    shop.add_product("<!channel>", {shop.warehouse_id: 5})
    bot = start_bot(stock_source="", tiktok_env=tiktok_env(shop))
    [error] = bot.checker.run_check().source_errors
    assert "seller_sku" in error and "'<!channel>'" in error
    assert stock(bot) == {}


def test_tiktok_answering_an_expired_token_with_http_401_is_refreshed_and_read(start_bot, shop):
    shop.add_product("GOOD-1", {shop.warehouse_id: 5}, title="Velvet\x00 lipstick")
    shop.token_error_status = 401
    bot = start_bot(stock_source="", tiktok_env=tiktok_env(shop, TIKTOK_ACCESS_TOKEN_EXPIRE_AT=str(
        int(time.time()) + 5 * 24 * 3600)))  # the configured expiry says days; TikTok says expired
    shop.expire_access_token()
    assert bot.checker.run_check().source_errors == []
    assert shop.count(tts.REFRESH) == 1
    assert stock(bot)[("GOOD-1", "US-WEST")].name == "Velvet lipstick"


def test_a_tiktok_token_without_a_known_expiry_is_refreshed_at_start(start_bot, shop):
    shop.add_product("GOOD-1", {shop.warehouse_id: 5})
    from bot.sources import tiktok_source

    tiktok_source._clients.clear()  # a new process
    bot = start_bot(stock_source="", tiktok_env=tiktok_env(shop))  # no TIKTOK_ACCESS_TOKEN_EXPIRE_AT
    assert bot.checker.run_check().source_errors == []
    assert shop.count(tts.REFRESH) == 1 and shop.calls[0].path == tts.REFRESH


# ---- control characters never reach the database ---------------------------------------------

def test_nul_and_surrogates_in_pushed_text_are_stripped_not_stored(start_bot):
    bot = start_bot(stock_push_token=PUSH_TOKEN)
    body = '{"items": [{"sku": "GOOD-1", "available": 5, "name": "Mat\\u0000te \\ud800lip", "warehouse": "US\\u0007W"}]}'
    assert push(bot, "/api/stock", body).status == 200
    row = stock(bot)[("GOOD-1", "USW")]
    assert row.name == "Matte lip"


def test_nul_in_a_reorder_note_is_stripped_on_every_database(bot):
    bot.ask("/threshold", "set SKU1 100")
    reply = bot.ask("/reorder", "SKU1 50 note call\x00 the\x1b supplier")
    assert reply.startswith("📦")
    with Session(bot.ctx.engine) as session:
        [reorder] = session.exec(select(Reorder)).all()
    assert reorder.note == "call the supplier"


def test_nul_in_the_reorder_modal_note_is_stripped_and_its_lines_kept(bot, slack):
    from tests.test_bad_input_and_safety import modal_values

    bot.ask("/threshold", "set SKU1 100")
    bot.ask("/stock", "set SKU1 5")
    with Session(bot.ctx.engine) as session:
        alert = session.exec(select(Alert)).one()
    result = bot.view_submission("reorder_modal", str(alert.id), modal_values("40", note="PO 7\x00\nsupplier\u202e ok"))
    assert result.status == 200
    bot.settle()
    with Session(bot.ctx.engine) as session:
        [reorder] = session.exec(select(Reorder)).all()
    assert reorder.note == "PO 7\nsupplier ok"


# ---- STOCK_EDITORS ------------------------------------------------------------------------------

def test_stock_editors_setting_is_read():
    settings = load_settings({"STOCK_EDITORS": " U1, U2 ,,", "THRESHOLD_ADMINS": "U9"}, dotenv=False)
    assert settings.stock_editors == frozenset({"U1", "U2"})
    assert settings.may_edit_stock("U1") and settings.may_edit_stock("U9") and not settings.may_edit_stock("U3")
    assert load_settings({}, dotenv=False).may_edit_stock("anyone")


@pytest.fixture
def editors_bot(start_bot):
    return start_bot(stock_editors=frozenset({"U0EDITOR"}), threshold_admins=frozenset({"U0ADMIN"}))


def test_only_editors_and_admins_may_set_stock(editors_bot, slack):
    refused = editors_bot.ask("/stock", "set SKU1 5", user="U0BUYER")
    assert refused.startswith("Sorry, only stock editors") and "<@U0EDITOR>" in refused and "<@U0ADMIN>" in refused
    assert stock(editors_bot) == {}
    assert editors_bot.ask("/stock", "set SKU1 5", user="U0EDITOR").startswith("✅")
    assert editors_bot.ask("/stock", "set SKU2 5", user="U0ADMIN").startswith("✅")
    assert set(stock(editors_bot)) == {("SKU1", ""), ("SKU2", "")}
    assert "SKU1" in editors_bot.ask("/stock", "SKU1", user="U0BUYER")  # reading stays open to everyone


def test_others_cannot_import_through_slack(editors_bot, slack):
    refused = editors_bot.ask("/stock", "import", user="U0BUYER")
    assert refused.startswith("Sorry, only stock editors")
    assert slack.of("views.open") == []

    file_id = slack.add_file("export.csv", b"sku,available\nSKU1,5\n", user="U0BUYER")
    share_in_dm(editors_bot, file_id, user="U0BUYER")
    assert dm_reply(slack)["text"].startswith("Sorry, only stock editors")
    assert slack.of("file_download") == []

    submitted = editors_bot.view_submission("stock_import", "stock", {"file": {"file": {
        "type": "file_input", "files": [{"id": file_id, "name": "export.csv"}]}}}, user="U0BUYER")
    assert submitted.status == 200 and json.loads(submitted.body)["response_action"] == "errors"
    editors_bot.settle()
    assert stock(editors_bot) == {}

    share_in_dm(editors_bot, file_id, user="U0EDITOR")
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") == DM, count=2, timeout=10)
    editors_bot.settle()
    assert set(stock(editors_bot)) == {("SKU1", "")}


# ---- oversold -----------------------------------------------------------------------------------

def test_a_negative_push_is_stored_as_zero_with_the_oversold_amount(start_bot, slack):
    bot = start_bot(stock_push_token=PUSH_TOKEN)
    bot.ask("/threshold", "set SKU1 100")
    assert push(bot, "/api/stock", {"items": [{"sku": "SKU1", "available": -5}]}).status == 200
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU1" in p.get("text", ""), timeout=5)
    bot.settle()
    row = stock(bot)[("SKU1", "")]
    assert (row.available, row.oversold) == (0, 5)
    assert alert["text"].startswith("OUT OF STOCK")
    fields = " ".join(f["text"] for f in alert["blocks"][0]["fields"])
    assert "0 · oversold by 5" in fields
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(Alert)).one().oversold == 5
    assert "Oversold by 5" in bot.ask("/stock", "SKU1")

    assert push(bot, "/api/stock", {"items": [{"sku": "SKU1", "available": 3}]}).status == 200
    row = stock(bot)[("SKU1", "")]
    assert (row.available, row.oversold) == (3, None)
    assert "Oversold" not in bot.ask("/stock", "SKU1")


def test_oversold_from_a_file_in_chinese(start_bot, slack, stock_file):
    bot = start_bot(language="zh")
    bot.ask("/threshold", "set SKU1 100")
    write_stock(stock_file, {"SKU1": -7})
    assert bot.checker.run_check().posted == ["SKU1:OUT OF STOCK"]
    row = stock(bot)[("SKU1", "")]
    assert (row.available, row.oversold) == (0, 7)
    [alert] = slack.posts(channel=ALERT_CHANNEL)
    assert "超卖 7" in " ".join(f["text"] for f in alert["blocks"][0]["fields"])
    assert "超卖 7" in bot.ask("/stock", "SKU1")


def test_oversold_from_sql_and_tiktok(start_bot, erp, shop):
    with sqlite3.connect(erp) as conn:
        conn.execute("INSERT INTO inventory VALUES (?, ?, ?, ?)", ("SQL-1", -2, "SZ", "x"))
    shop.add_product("TT-1", {shop.warehouse_id: -4})
    bot = start_bot(stock_source="", stock_sql_url=f"sqlite:///{erp}", stock_sql_query=ERP_QUERY,
                    tiktok_env=tiktok_env(shop))
    assert bot.checker.run_check().source_errors == []
    rows = stock(bot)
    assert (rows[("SQL-1", "SZ")].available, rows[("SQL-1", "SZ")].oversold) == (0, 2)
    assert (rows[("TT-1", "US-WEST")].available, rows[("TT-1", "US-WEST")].oversold) == (0, 4)


def test_every_stored_text_is_free_of_control_characters(start_bot, slack, stock_file):
    bot = start_bot(stock_push_token=PUSH_TOKEN)
    stock_file.write_text("sku,name,warehouse,available\nF-1,\"a\x01b\",\"W\x7f1\",5\n", encoding="utf-8")
    bot.checker.run_check()
    push(bot, "/api/stock", {"items": [{"sku": "P-1", "available": 1, "name": "x\u0085y\u2066z"}]})
    rows = stock(bot)
    assert rows and all(no_controls(r.name) and no_controls(r.warehouse) for r in rows.values())


def test_an_existing_database_gains_the_oversold_columns_and_keeps_its_rows(database_url):
    from sqlalchemy import inspect, text

    from storage.db import init_db, make_engine

    engine = make_engine(database_url)
    with engine.begin() as conn:  # the tables as the previous version left them
        conn.execute(text('ALTER TABLE stock DROP COLUMN oversold'))
        conn.execute(text('ALTER TABLE alert DROP COLUMN oversold'))
        conn.execute(text("DROP TABLE alembic_version"))  # that version had no migrations: the baseline adopts it
        conn.execute(text("INSERT INTO stock (sku, warehouse, available, source, read_at) "
                          "VALUES ('OLD-1', '', 7, 'push', '2026-11-01 00:00:00')"))
    init_db(engine)
    with engine.connect() as conn:
        assert {"oversold"} <= {c["name"] for c in inspect(conn).get_columns("stock")}
        assert {"oversold"} <= {c["name"] for c in inspect(conn).get_columns("alert")}
        assert conn.execute(text("SELECT available, oversold FROM stock WHERE sku = 'OLD-1'")).one() == (7, None)
    engine.dispose()
