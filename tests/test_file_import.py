"""Export files dropped into Slack (a DM, or `/stock import`) and `stockbot import-sales FILE`:
downloaded from (loopback) Slack with the bot token, imported, summarised back."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import openpyxl
from sqlmodel import select

from storage.db import Session, make_engine
from storage.models import SalesDay, Stock
from tests.conftest import write_stock
from tests.slack_server import BOT_TOKEN
from tests.test_cli import stockbot, stockbot_env

DM = "D0BUYER"
# A Chinese ERP export as Excel saves it: BOM, Chinese headers, a blank line, a bad number,
# thousands separators, a column Stockbot does not use.
ERP_CSV = ("\ufeff商品编码,商品名称,可用库存,备注\n"
           "SKU123,红色连衣裙,\"1,200\",\n"
           "\n"
           "SKU9,蓝色T恤,很多,盘点中\n"
           "SKU7,,0,\n").encode("utf-8")


def stock(bot) -> dict[str, tuple[int, str]]:
    with Session(bot.ctx.engine) as session:
        return {r.sku: (r.available, r.source) for r in session.exec(select(Stock)).all()}


def sales(bot) -> dict[tuple[str, date], int]:
    with Session(bot.ctx.engine) as session:
        return {(r.sku, r.day): r.units for r in session.exec(select(SalesDay)).all()}


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def share_in_dm(bot, file_id: str, text: str = "", user: str = "U0BUYER"):
    return bot.event({"type": "message", "subtype": "file_share", "channel": DM, "channel_type": "im",
                      "user": user, "text": text, "ts": "1764000500.000100",
                      "files": [{"id": file_id, "name": "ignored.csv"}]})


def dm_reply(slack, channel: str = DM) -> dict:
    [reply] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == channel, timeout=10)
    return reply


def test_stock_import_opens_a_modal_with_a_file_input(bot, slack):
    result = bot.command("/stock", "import")
    assert result.status == 200
    [opened] = slack.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "stock_import" and view["private_metadata"] == "stock"
    [element] = [block["element"] for block in view["blocks"] if block["type"] == "input"]
    assert element["type"] == "file_input" and "xlsx" in element["filetypes"] and "csv" in element["filetypes"]
    bot.command("/stock", "import sales")
    assert slack.wait_for("views.open", count=2)[1]["view"]["private_metadata"] == "sales"


def test_a_file_uploaded_in_the_modal_is_imported_and_summarised_in_a_dm(bot, slack):
    bot.ask("/threshold", "set SKU7 100")
    file_id = slack.add_file("ERP导出.csv", ERP_CSV)
    result = bot.view_submission("stock_import", "stock", {"file": {"file": {"type": "file_input", "files": [
        {"id": file_id, "name": "ERP导出.csv"}]}}}, user="U0BUYER")
    assert result.status == 200 and result.body in ("", "{}")  # the modal closes at once
    reply = dm_reply(slack, channel="U0BUYER")
    lines = reply["text"].splitlines()
    assert lines[0] == "📥 *ERP导出.csv* imported: 3 lines read · 2 SKUs updated · 1 rejected"
    assert lines[1].startswith("• Line 4: ") and "很多" in lines[1] and "SKU9" in lines[1]
    assert "Columns not used: 备注" in reply["text"]
    assert stock(bot) == {"SKU123": (1200, "upload"), "SKU7": (0, "upload")}
    # The bot token went to the download link; SKU7 at 0 is alerted without waiting for a check.
    [download] = slack.of("file_download")
    assert download.params == {"file": file_id, "authorized": True}
    [alert] = slack.wait_for("chat.postMessage", lambda p: "SKU7" in p.get("text", ""))
    assert alert["text"].startswith("OUT OF STOCK: SKU7 available 0")


def test_the_modal_without_a_file_asks_for_one(bot):
    result = bot.view_submission("stock_import", "stock", {"file": {"file": {"type": "file_input", "files": []}}})
    assert result.status == 200
    assert result.json() == {"response_action": "errors", "errors": {"file": "Choose a CSV or XLSX file."}}


def test_an_xlsx_shared_in_a_dm_is_imported_and_answered_in_its_thread(bot, slack):
    file_id = slack.add_file("stock 11-25.xlsx", xlsx([["Seller SKU", "Available", "Warehouse"],
                                                        ["SKU123", 40, "US-WEST"], ["SKU123", 900, "US-EAST"]]))
    assert share_in_dm(bot, file_id).status == 200
    reply = dm_reply(slack)
    assert reply["thread_ts"] == "1764000500.000100"
    assert reply["text"].startswith("📥 *stock 11-25.xlsx* imported: 2 rows read · 1 SKUs updated · 0 rejected")
    with Session(bot.ctx.engine) as session:
        rows = {(r.sku, r.warehouse): r.available for r in session.exec(select(Stock)).all()}
    assert rows == {("SKU123", "US-WEST"): 40, ("SKU123", "US-EAST"): 900}


def test_sales_history_shared_in_a_dm_is_stored_per_day(bot, slack):
    history = "日期,SKU,销量\n2026-11-20,SKU123,150\n2026-11-21,SKU123,170\n2026-11-21,SKU123,10\n".encode("gbk")
    file_id = slack.add_file("销量.csv", history)
    share_in_dm(bot, file_id, text="上个月的销量")
    reply = dm_reply(slack)
    assert "(sales)" in reply["text"] and "3 lines read" in reply["text"]
    assert sales(bot) == {("SKU123", date(2026, 11, 20)): 150, ("SKU123", date(2026, 11, 21)): 180}
    assert stock(bot) == {}  # a sales file never touches stock


def test_a_file_stockbot_cannot_read_changes_nothing(bot, slack, stock_file):
    write_stock(stock_file, {"SKU123": 800})
    bot.checker.run_check()
    file_id = slack.add_file("notes.csv", "item,count\nSKU123,0\n".encode())
    share_in_dm(bot, file_id)
    reply = dm_reply(slack)
    assert reply["text"].startswith("❌ Could not import *notes.csv*: ")
    assert "Nothing was changed." in reply["text"] and "/tmp" not in reply["text"]
    assert stock(bot)["SKU123"][0] == 800


def test_the_token_is_never_sent_to_a_link_off_slack(bot, slack):
    file_id = slack.add_file("stock.csv", b"sku,available\nSKU123,0\n", url="http://198.51.100.7/steal")
    share_in_dm(bot, file_id)
    reply = dm_reply(slack)
    assert "not on slack.com" in reply["text"] and slack.of("file_download") == []
    assert stock(bot) == {}


def test_without_files_read_the_reply_says_which_scope_to_add(bot, slack):
    slack.failures["files.info"] = "missing_scope"
    share_in_dm(bot, slack.add_file("stock.csv", b"sku,available\nSKU123,0\n"))
    reply = dm_reply(slack)["text"]
    assert reply.startswith("❌ Could not get *ignored.csv* from Slack") and "files:read" in reply


def test_a_dm_without_a_file_gets_a_hint_and_the_bots_own_posts_are_ignored(bot, slack):
    bot.event({"type": "message", "channel": DM, "channel_type": "im", "user": "U0BUYER", "text": "hi",
               "ts": "1764000600.000100"})
    assert "CSV or XLSX" in dm_reply(slack)["text"]
    bot.event({"type": "message", "channel": DM, "channel_type": "im", "bot_id": "B0BOT", "text": "x",
               "ts": "1764000601.000100"})
    bot.event({"type": "message", "channel": "C0WORK", "channel_type": "channel", "user": "U0BUYER",
               "text": "hi", "ts": "1764000602.000100"})
    bot.settle()
    assert len(slack.posts()) == 1


def test_import_sales_command_reads_a_history_export(slack, database_url, stock_file, tmp_path):
    path = tmp_path / "sales.xlsx"
    path.write_bytes(xlsx([["SKU", "Date", "Units sold"], ["SKU123", "2026-11-20", 150],
                           ["SKU123", "2026-11-21", "lots"], ["SKU9", "2026/11/21", 3]]))
    env = stockbot_env(slack, database_url, stock_file)
    result = subprocess.run(stockbot("import-sales", str(path)), capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "sales.xlsx: 3 rows read, 2 daily totals stored for 2 SKUs, 1 rejected"
    assert "row 3:" in result.stdout and "lots" in result.stdout
    again = subprocess.run(stockbot("import-sales", str(path)), capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 0
    engine = make_engine(database_url)
    with Session(engine) as session:
        stored = {(r.sku, r.day): r.units for r in session.exec(select(SalesDay)).all()}
    engine.dispose()
    assert stored == {("SKU123", date(2026, 11, 20)): 150, ("SKU9", date(2026, 11, 21)): 3}  # not doubled
    missing = subprocess.run(stockbot("import-sales", str(tmp_path / "nope.csv")), capture_output=True, text=True,
                             timeout=60, env=env)
    assert missing.returncode == 1 and "Nothing was stored" in missing.stderr
    assert BOT_TOKEN not in result.stdout + result.stderr + missing.stderr


# ---- rejected rows in the reader's language ------------------------------------------------

BAD_STOCK_CSV = ("sku,warehouse,available,on_order\n"
                 "SKU1,美西,很多,\n"      # not a whole number
                 ",美西,5,\n"             # no SKU
                 "SKU2,美西,,\n"          # available empty
                 "SKU3,美西,5,-4\n"       # on order negative
                 "SKU4,美西,99999999999,\n"  # too large
                 "SKU5,美西,5,\n"
                 "SKU5,美西,6,\n"         # listed twice
                 "SKU6,美西,5,1,extra\n"  # too many values
                 "SKU7,美西\n")           # too few values
BAD_SALES_CSV = ("sku,date,units\n"
                 "SKU1,,3\n"            # no date
                 "SKU1,20/11/2026,3\n"  # ambiguous date
                 "SKU1,2099-01-01,3\n"  # in the future
                 "SKU1,2026-11-01,-2\n")  # returns


def _rejected(tmp_path, name: str, text: str, kind: str):
    from bot.sources import files

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    read = files.import_stock_file(str(path)) if kind == "stock" else files.read_sales_file(str(path))
    return read.rejected


def test_rejected_reason_texts_are_worded_in_each_language(tmp_path):
    import re

    from bot.notices import reason_text

    rejected = _rejected(tmp_path, "stock.csv", BAD_STOCK_CSV, "stock") + \
        _rejected(tmp_path, "sales.csv", BAD_SALES_CSV, "sales")
    assert len(rejected) == 12 and all(reason.code for _, reason in rejected)
    for _, reason in rejected:
        # English reads exactly as the reason always did (the CLI and logs print that text)...
        assert reason_text("en", reason) == str(reason)
        # ...and Chinese has no English left but SKUs, numbers, values quoted from the file and dates.
        chinese = reason_text("zh", reason)
        leftover = re.sub(r"SKU\d?|'[^']*'|\d[\d,./-]*|…", "", chinese)
        assert not re.search(r"[A-Za-z]{2,}", leftover), (str(reason), chinese)
    assert reason_text("zh", rejected[0][1]) == "SKU1 的可用库存 '很多' 不是整数"


def test_a_chinese_workspace_gets_the_import_summary_all_in_chinese(start_bot, slack):
    bot = start_bot(language="zh")
    file_id = slack.add_file("ERP导出.csv", ERP_CSV)
    assert bot.event({"type": "message", "channel_type": "im", "channel": DM, "user": "U0BUYER", "text": "",
                      "ts": "1764000000.000100", "files": [{"id": file_id}]}).status == 200
    bot.settle()
    [summary] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == DM)
    assert "• 第 4 行：SKU9 的可用库存 '很多' 不是整数" in summary["text"], summary["text"]
    assert "is not a whole number" not in summary["text"]


def test_a_chinese_workspace_hears_of_a_broken_source_in_chinese(start_bot, slack, stock_file):
    from tests.conftest import ALERT_CHANNEL

    bot = start_bot(language="zh")
    stock_file.write_text("sku,available\nSKU1,很多\n", encoding="utf-8")
    bot.checker.run_check()
    stock_file.unlink()
    bot.checker.run_check()  # a second failure is not posted again, even with another reason
    [notice] = slack.posts(ALERT_CHANNEL)
    assert "stock.csv 第 2 行：SKU1 的可用库存 '很多' 不是整数" in notice["text"], notice["text"]
    assert "line" not in notice["text"] and "is not a whole number" not in notice["text"]
    upload = slack.add_file("库存.xls", b"\xd0\xcf\x11\xe0")  # not a file Stockbot can import
    bot.event({"type": "message", "channel_type": "im", "channel": DM, "user": "U0BUYER", "text": "",
               "ts": "1764000000.000200", "files": [{"id": upload}]})
    bot.settle()
    [summary] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == DM)
    assert "库存.xls 不是 CSV 或 XLSX 文件" in summary["text"], summary["text"]
    elsewhere = slack.add_file("b.csv", b"sku,available\n", url="https://files.evil.example/b.csv")
    bot.event({"type": "message", "channel_type": "im", "channel": DM, "user": "U0BUYER", "text": "",
               "ts": "1764000000.000300", "files": [{"id": elsewhere, "name": "b.csv"}]})
    bot.settle()
    replies = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == DM, count=2)
    assert "❌ 无法从 Slack 获取 *b.csv*：下载链接不在 slack.com 上" in replies[1]["text"], replies[1]["text"]
