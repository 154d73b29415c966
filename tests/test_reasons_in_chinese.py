"""Why a stock source failed, in the reader's language: the OPS_CHANNEL notice, `/stock status`'s
last error and an import reply read in Chinese with STOCKBOT_LANG=zh, and exactly as before in English."""

from __future__ import annotations

import random
import re
import sqlite3
import string
from datetime import datetime, timezone

import pytest
from openpyxl import Workbook

from bot.config import Settings
from bot.i18n import STRINGS
from bot.notices import reason_text, source_failed_text
from bot.replies import source_status
from bot.slack_text import outside
from bot.sources import Reason, SourceError, files, reason_of
from bot.sources.registry import plan_sources
from bot.sources.sql_source import read_sql
from bot.sources.tiktok import ShopConfig, TikTokConfig, TikTokShopClient, load_tiktok_config, read_shop_stock
from storage.models import SourceState
from tests import tiktok_server as tts
from tests.tiktok_server import TikTokShopServer

OPS_CHANNEL = "C0OPS"
PLACEHOLDER = re.compile(r"{(\w+)}")
# A run of three lowercase English words is a sentence, not a name: "is not a", "has no column".
ENGLISH_RUN = re.compile(r"[a-z]+(?: [a-z]+){2,}")
LATIN_1_EXPORT = "sku,name,available\nCAFE-1,Café crème,5\n".encode("latin-1")  # neither UTF-8 nor GBK


def reason_keys() -> list[str]:
    return sorted(key for key in STRINGS["en"] if key.startswith("reason."))


def test_every_reason_has_english_and_chinese_with_the_same_placeholders():
    assert len(reason_keys()) > 80
    for key in reason_keys():
        assert key in STRINGS["zh"], key
        english, chinese = STRINGS["en"][key], STRINGS["zh"][key]
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(chinese)), key
        # t(lang, key, **values): a detail called `key` or `lang` could never be filled in.
        assert not {"key", "lang"} & set(PLACEHOLDER.findall(english)), key
        assert not ENGLISH_RUN.search(PLACEHOLDER.sub("", chinese)), (key, chinese)
    assert not [key for key in STRINGS["zh"] if key.startswith("reason.") and key not in STRINGS["en"]]


def codes_in(reason: Reason) -> list[str]:
    """The reason's code and those of the reasons inside it (a row's, a sheet's, a retry's)."""
    found = [reason.code] if reason.code else []
    for value in reason.detail.values():
        if isinstance(value, Reason):
            found += codes_in(value)
    return found


def english_sentences(code: str) -> list[str]:
    """The English words of `reason.<code>` that are Stockbot's own (not a detail from outside)."""
    return [run for piece in PLACEHOLDER.split(STRINGS["en"][f"reason.{code}"])[::2]
            for run in ENGLISH_RUN.findall(piece)]


def assert_chinese(text: str, reason: Reason) -> None:
    assert re.search(r"[\u4e00-\u9fff]", text), text
    codes = codes_in(reason)
    assert codes, f"no code: {reason!r}"
    for code in codes:
        assert f"reason.{code}" in STRINGS["zh"], code
        for sentence in english_sentences(code):
            assert sentence not in text, (code, sentence, text)


def raised(read) -> Reason:
    try:
        read()
    except SourceError as exc:
        return reason_of(exc)
    raise AssertionError(f"{read.__code__.co_firstlineno}: did not fail")


def two_sheet_workbook(path) -> None:
    workbook = Workbook()
    workbook.active.title = "Notes"
    sheet = workbook.create_sheet("Inventory")
    sheet.append(["sku", "available"])
    sheet.append(["SKU1", "lots"])
    workbook.save(path)


def tiktok_client(server: TikTokShopServer, refresh_token: str) -> TikTokShopClient:
    config = TikTokConfig(app_key=tts.APP_KEY, app_secret=tts.APP_SECRET, api_url=server.url, auth_url=server.url)
    shop = ShopConfig(name="us", shop_cipher=tts.SHOP_CIPHER, access_token=server.access_token,
                      refresh_token=refresh_token,
                      access_token_expire_at=datetime.fromtimestamp(server.access_token_expire_at, tz=timezone.utc))
    config.shops.append(shop)
    return TikTokShopClient(config, shop, sleep=lambda _: None, max_retries=1)


@pytest.fixture
def shop():
    server = TikTokShopServer().start()
    server.add_product("SKU1", {server.add_warehouse("US-WEST"): 5})
    yield server
    server.stop()


@pytest.fixture
def failures(tmp_path, shop):
    """One representative failure of each source, raised by the real readers."""
    gbk_broken = tmp_path / "latin.csv"
    gbk_broken.write_bytes(LATIN_1_EXPORT)
    no_columns = tmp_path / "export.csv"
    no_columns.write_text("备注,颜色\nA1,红\n", encoding="utf-8")
    workbook = tmp_path / "stock.xlsx"
    two_sheet_workbook(workbook)
    erp = tmp_path / "erp.db"
    with sqlite3.connect(erp) as conn:
        conn.execute("CREATE TABLE inventory (item_code TEXT)")
        conn.execute("INSERT INTO inventory VALUES ('SKU1')")
    empty_folder, folder_named_csv = tmp_path / "empty", tmp_path / "folder.csv"
    empty_folder.mkdir()
    folder_named_csv.mkdir()
    shop.expire_access_token()
    closed = TikTokShopServer().start()
    closed.stop()  # nothing listens there any more
    bad_plan = plan_sources(Settings(slack_bot_token="x", slack_signing_secret="x", stock_source="ftp:stock.csv"))
    return {
        "bad STOCK_COLUMNS": raised(lambda: files.parse_column_mapping("sku货品编号")),
        "unknown STOCK_COLUMNS field": raised(lambda: files.parse_column_mapping("sku=货号,qty=数量")),
        "no SKU column": raised(lambda: files.read_stock_file(str(no_columns))),
        "no header at all": raised(lambda: files.resolve_columns(["", ""], ["sku", "available"])),
        "GBK-undecodable file": raised(lambda: files.read_stock_file(str(gbk_broken))),
        "bad row on a sheet": raised(lambda: files.read_stock_file(str(workbook), sheet="Inventory")),
        "missing sheet": raised(lambda: files.read_stock_file(str(workbook), sheet="Lager")),
        "missing folder": raised(lambda: files.newest_export(str(tmp_path / "exports"))),
        "no export in the folder": raised(lambda: files.newest_export(str(empty_folder))),
        "a folder as the file": raised(lambda: files.read_stock_file(str(folder_named_csv))),
        "a PDF": raised(lambda: files.open_table(str(tmp_path / "stock.pdf"))),
        "unknown source": bad_plan.errors[0][1],
        "SQL without a query": raised(lambda: read_sql(f"sqlite:///{erp}", "")),
        "SQL without an available column": raised(lambda: read_sql(f"sqlite:///{erp}",
                                                                   "SELECT item_code AS sku FROM inventory")),
        "SQL row": raised(lambda: read_sql(f"sqlite:///{erp}", "SELECT item_code AS sku, 'lots' AS available "
                                                               "FROM inventory")),
        "TikTok auth failure": raised(lambda: read_shop_stock(tiktok_client(shop, "TTP_stale_refresh_token"))),
        "TikTok unreachable": raised(lambda: read_shop_stock(tiktok_client(closed, "TTP_refresh"))),
        "TikTok without a secret": raised(lambda: load_tiktok_config({"TIKTOK_APP_KEY": "k"})),
    }


def test_each_source_failure_reads_in_chinese_in_the_notice_and_in_stock_status(failures):
    for what, reason in failures.items():
        notice = source_failed_text("zh", "src", reason)
        assert_chinese(notice, reason)
        # /stock status reads what was stored: the English text and the Reason's JSON.
        state = SourceState(name="src", failing=True, last_error=str(reason)[:1000], last_error_reason=reason.to_json(),
                            last_error_at=datetime(2026, 11, 25, tzinfo=timezone.utc))
        status = source_status("zh", [state], None)
        assert_chinese(status, reason)
        assert reason_text("zh", reason) in status, what


def test_the_english_wording_is_the_text_it_always_was(failures):
    for what, reason in failures.items():
        assert reason_text("en", reason) == outside(reason), what
        stored = Reason.from_json(reason.to_json(), "unused")
        assert stored == reason and reason_text("en", stored) == outside(reason), what
        assert reason_text("zh", stored) == reason_text("zh", reason), what


def test_an_error_stored_before_codes_existed_is_shown_as_it_was():
    assert Reason.from_json(None, "the read returned no stock rows").code is None
    assert Reason.from_json("{not json", "old text") == "old text"
    state = SourceState(name="sql", failing=True, last_error="old <!here> text")
    assert "old &lt;!here&gt; text" in source_status("zh", [state], None)


def test_outside_text_in_a_reason_is_escaped_in_chinese_too(tmp_path):
    path = tmp_path / "<!channel>.csv"
    path.write_text("sku,available\n", encoding="utf-8")
    reason = raised(lambda: files.read_stock_file(str(path)))
    text = source_failed_text("zh", "csv", Reason.from_json(reason.to_json(), str(reason)))
    assert "<!channel>" not in text and "&lt;!channel&gt;.csv 只有表头" in text


def test_a_secret_sql_url_stays_out_of_the_stored_reason():
    secret = "postgresql+psycopg://erp:" + "".join(random.choices(string.ascii_letters, k=12)) + "@127.0.0.1:1/erp"
    reason = raised(lambda: read_sql(secret, "SELECT 1 AS sku, 2 AS available"))
    assert reason.code == "sql_failed"
    assert secret.split(":")[2].split("@")[0] not in reason.to_json()


# ---- end to end: the app running with STOCKBOT_LANG=zh ---------------------------------------

def test_a_failing_sql_source_is_reported_in_chinese(start_bot, slack, tmp_path):
    erp = tmp_path / "erp.db"
    with sqlite3.connect(erp) as conn:
        conn.execute("CREATE TABLE inventory (item_code TEXT, qty TEXT)")
        conn.execute("INSERT INTO inventory VALUES ('SKU1', 'lots')")
    bot = start_bot(language="zh", stock_source="", stock_sql_url=f"sqlite:///{erp}",
                    stock_sql_query="SELECT item_code AS sku, qty AS available FROM inventory", ops_channel=OPS_CHANNEL)
    report = bot.checker.run_check()
    assert len(report.source_errors) == 1 and "is not a number" in report.source_errors[0]  # the log stays English
    [notice] = slack.posts(channel=OPS_CHANNEL)
    assert "库存数据源 `sql` 读取失败：第 1 行：SKU1 的可用库存 'lots' 不是数字" in notice["text"]
    assert "is not a number" not in notice["text"] and "row 1" not in notice["text"]
    status = bot.ask("/stock", "status")
    assert "最近错误" in status and "第 1 行：SKU1 的可用库存 'lots' 不是数字" in status
    assert "is not a number" not in status


def test_an_unreadable_export_file_is_reported_in_chinese(start_bot, slack, tmp_path):
    export = tmp_path / "exports"
    export.mkdir()
    (export / "stock.csv").write_bytes(LATIN_1_EXPORT)
    bot = start_bot(language="zh", stock_source=f"file:{export}", ops_channel=OPS_CHANNEL)
    bot.checker.run_check()
    [notice] = slack.posts(channel=OPS_CHANNEL)
    assert "stock.csv 既不是 UTF-8 也不是中文（GBK）文本：请另存为 CSV UTF-8" in notice["text"]
    assert "neither" not in notice["text"] and "save the export" not in notice["text"]


def test_a_refused_tiktok_token_refresh_is_reported_in_chinese(start_bot, slack, shop):
    env = {"TIKTOK_APP_KEY": tts.APP_KEY, "TIKTOK_APP_SECRET": tts.APP_SECRET, "TIKTOK_SHOP_CIPHER": tts.SHOP_CIPHER,
           "TIKTOK_ACCESS_TOKEN": shop.access_token, "TIKTOK_REFRESH_TOKEN": "TTP_stale_refresh_token",
           "TIKTOK_API_URL": shop.url, "TIKTOK_AUTH_URL": shop.url}
    bot = start_bot(language="zh", stock_source="", tiktok_env=tuple(sorted(env.items())), ops_channel=OPS_CHANNEL)
    shop.expire_access_token()
    bot.checker.run_check()
    [notice] = slack.posts(channel=OPS_CHANNEL)
    assert f"TikTok 店铺 'tiktok' 的令牌刷新被拒绝：错误码 {tts.INVALID_REFRESH_TOKEN}" in notice["text"]
    assert "was refused" not in notice["text"] and "TTP_stale_refresh_token" not in notice["text"]
    status = bot.ask("/stock", "status")
    assert "令牌刷新被拒绝" in status and "was refused" not in status


def test_the_same_failure_reads_in_english_without_zh(start_bot, slack, tmp_path):
    bot = start_bot(stock_source=f"file:{tmp_path / 'missing'}", ops_channel=OPS_CHANNEL)
    bot.checker.run_check()
    [notice] = slack.posts(channel=OPS_CHANNEL)
    assert f"file not found: {tmp_path / 'missing'}" in notice["text"]


def test_an_existing_database_gains_last_error_reason_and_keeps_its_errors(database_url):
    from sqlalchemy import inspect, text
    from sqlmodel import Session

    from storage.db import init_db, make_engine

    engine = make_engine(database_url)
    with engine.begin() as conn:  # source_state as the previous version left it
        conn.execute(text("ALTER TABLE source_state DROP COLUMN last_error_reason"))
        conn.execute(text("DROP TABLE alembic_version"))  # that version had no migrations: the baseline adopts it
        conn.execute(text("INSERT INTO source_state (name, failing, last_error, rows_read) "
                          "VALUES ('sql', TRUE, 'STOCK_SQL_QUERY returned no rows', 0)"))
    init_db(engine)
    with engine.connect() as conn:
        assert "last_error_reason" in {c["name"] for c in inspect(conn).get_columns("source_state")}
    with Session(engine) as session:
        state = session.get(SourceState, "sql")
        assert state.last_error_reason is None
        assert "STOCK_SQL_QUERY returned no rows" in source_status("zh", [state], None)  # as it was stored
    engine.dispose()
