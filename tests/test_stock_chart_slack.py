"""The stock chart where people look: in a new alert's thread, and on demand with `/stock SKU chart`
— through the real app, signed slash commands and the loopback Slack's files.uploadV2."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.charts import PNG_SIGNATURE
from bot.sources import SalesRow
from storage import repo
from storage.db import session as open_session
from storage.models import Alert
from tests.conftest import ALERT_CHANNEL, write_stock


def _decodes(png: bytes) -> tuple[int, int]:
    from PIL import Image

    assert png[:8] == PNG_SIGNATURE
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.size


def _alerts(bot) -> list[Alert]:
    with open_session(bot.ctx.engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.id)).all())


def _with_history(bot, stock_file, sku: str = "SKU123", sell_per_day: int = 100) -> None:
    """A SKU watched at 1,500 with a month of sales and stock read on earlier days, still above its level."""
    now = repo.utcnow()
    assert "1,500" in bot.ask("/threshold", f"set {sku} 1500")
    end = now.date() - timedelta(days=1)
    bot.checker.write_sales("import", [SalesRow(sku, end - timedelta(days=i), sell_per_day) for i in range(30)])
    for days_ago, available in ((20, 4000), (9, 2600), (2, 1900)):
        write_stock(stock_file, {sku: available})
        bot.checker.run_check(now=now - timedelta(days=days_ago))


def test_a_new_alert_and_its_escalation_each_get_a_chart_in_their_thread(bot, slack, stock_file):
    _with_history(bot, stock_file)
    assert not slack.of("files.getUploadURLExternal")  # no alert yet, no chart
    write_stock(stock_file, {"SKU123": 1400})
    report = bot.checker.run_check()
    assert report.posted == ["SKU123:WARNING"]
    [warning] = _alerts(bot)
    [upload] = slack.wait_for_upload()
    assert (upload.channel_id, upload.thread_ts) == (ALERT_CHANNEL, warning.ts)
    assert (ALERT_CHANNEL, warning.ts) in slack.messages  # the thread is the alert message's
    assert _decodes(upload.content) == (1200, 800)
    assert upload.length == len(upload.content) and upload.filename == "stock-SKU123.png"
    assert "SKU123" in upload.alt_txt and "1,400" in upload.alt_txt and "1,500" in upload.alt_txt

    write_stock(stock_file, {"SKU123": 400})
    assert bot.checker.run_check().posted == ["SKU123:CRITICAL"]
    critical = _alerts(bot)[-1]
    uploads = slack.wait_for_upload(count=2)
    assert uploads[-1].thread_ts == critical.ts != warning.ts
    # a later check with nothing new posts neither an alert nor a chart
    bot.checker.run_check()
    assert bot.checker.charts.wait_idle(10)
    assert len(slack.shared_uploads()) == 2


def test_an_alert_with_nothing_to_draw_gets_no_chart(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400})  # the first reading ever, no sales, no reorder
    assert bot.checker.run_check().posted == ["SKU123:WARNING"]
    assert bot.checker.charts.wait_idle(10)
    assert not slack.of("files.getUploadURLExternal") and not slack.shared_uploads()


@pytest.mark.parametrize("step, failure", [
    ("files.getUploadURLExternal", "ratelimited"),
    ("file_upload", "upload refused"),
    ("files.completeUploadExternal", "invalid_arguments"),
])
def test_an_upload_failure_never_loses_the_alert(bot, slack, stock_file, caplog, step, failure):
    _with_history(bot, stock_file)
    slack.failures[step] = failure
    write_stock(stock_file, {"SKU123": 1400})
    with caplog.at_level(logging.ERROR):
        assert bot.checker.run_check().posted == ["SKU123:WARNING"]
        assert bot.checker.charts.wait_idle(10)
    [alert] = _alerts(bot)
    assert alert.ts and (ALERT_CHANNEL, alert.ts) in slack.messages  # posted and stored
    assert slack.of(step), "the upload was tried"
    assert not slack.shared_uploads()
    assert any("stock chart for SKU123" in record.getMessage() for record in caplog.records)
    # the failed chart is not retried as a new alert: the next check is quiet
    del slack.failures[step]
    assert bot.checker.run_check().posted == []
    assert len(slack.posts(ALERT_CHANNEL, top_level=True)) == 1


def test_stock_chart_command_acks_at_once_then_posts_the_chart_in_that_channel(bot, slack, stock_file):
    _with_history(bot, stock_file)
    bot.ask("/reorder", "SKU123 2000 eta 9d")
    result = bot.command("/stock", "SKU123 chart", channel="C0WORK")
    assert result.status == 200
    ack = json.loads(result.body)
    assert ack["response_type"] == "ephemeral" and "SKU123" in ack["text"] and "coming" in ack["text"]
    [upload] = slack.wait_for_upload(lambda upload: upload.channel_id == "C0WORK")
    bot.settle()
    assert upload.thread_ts == "" and "*SKU123*" in upload.initial_comment
    assert _decodes(upload.content) == (1200, 800)
    assert not slack.responses(result.response_key)  # the chart is the answer


def test_stock_chart_where_the_bot_cannot_post_answers_through_response_url(bot, slack, stock_file):
    _with_history(bot, stock_file)
    slack.failing_channels.add("C0PRIVATE")
    result = bot.command("/stock", "SKU123 chart", channel="C0PRIVATE")
    assert result.status == 200
    reply = slack.wait_for_response(result.response_key)["text"]
    assert "channel_not_found" in reply and "/invite @Stockbot" in reply
    assert not slack.shared_uploads()


@pytest.mark.parametrize("text, expected", [
    ("chart", "SKU"),  # no SKU
    ("SKU123 chart please", "please"),
    ("SKU<@U1> chart", "SKU"),
])
def test_stock_chart_bad_input_gets_a_usage_reply_and_uploads_nothing(bot, slack, stock_file, text, expected):
    _with_history(bot, stock_file)
    result = bot.command("/stock", text)
    assert result.status == 200
    reply = json.loads(result.body)["text"]
    assert "/stock SKU123 chart" in reply and expected in reply  # what was wrong, and how to write it
    bot.settle()
    assert not slack.of("files.getUploadURLExternal")


def _chart_reply(bot, slack, sku: str) -> str:
    """The ack says a chart is coming; what follows on the response_url."""
    result = bot.command("/stock", f"{sku} chart")
    assert "coming" in json.loads(result.body)["text"]
    reply = slack.wait_for_response(result.response_key)["text"]
    bot.settle()
    return reply


def test_stock_chart_for_a_sku_without_stock_or_without_history_says_so(bot, slack, stock_file):
    assert "No stock reading for *NOPE*" in _chart_reply(bot, slack, "NOPE")
    bot.ask("/threshold", "set SKU9 100")
    write_stock(stock_file, {"SKU9": 500})
    bot.checker.run_check()
    assert "Nothing to chart for *SKU9*" in _chart_reply(bot, slack, "SKU9")
    assert not slack.of("files.getUploadURLExternal")


def test_stock_chart_in_chinese(start_bot, slack, stock_file):
    bot = start_bot(language="zh")
    _with_history(bot, stock_file, sku="连衣裙-红-XL")
    result = bot.command("/stock", "连衣裙-红-XL 图表")
    assert "正在生成" in json.loads(result.body)["text"]
    [upload] = slack.wait_for_upload()
    assert _decodes(upload.content) == (1200, 800)
    assert upload.title == "连衣裙-红-XL 库存图" and "预警线 1,500" in upload.alt_txt


def test_stock_chart_acks_within_3_seconds_while_slack_is_slow(bot, slack, stock_file):
    _with_history(bot, stock_file)
    slack.slow_seconds = 3.5  # every Web API call now takes longer than Slack's ack deadline
    started = time.monotonic()
    result = bot.command("/stock", "SKU123 chart")
    assert result.status == 200 and time.monotonic() - started < 3.0
    assert "coming" in json.loads(result.body)["text"]
    [upload] = slack.wait_for_upload(timeout=20)  # drawn and uploaded after the ack
    assert _decodes(upload.content) == (1200, 800)
    bot.settle()


def test_stockbot_check_posts_the_charts_before_it_exits(slack, database_url, stock_file):
    import subprocess

    from storage.db import make_engine
    from tests.test_cli import stockbot, stockbot_env

    engine = make_engine(database_url)
    now = repo.utcnow()
    with open_session(engine) as session:
        repo.save_threshold(session, "SKU123", 1500, 750, None, "U0ADMIN", now)
        session.commit()
    with engine.begin() as conn:  # stock read on an earlier day: a history to draw
        repo.upsert_stock(conn, [{"sku": "SKU123", "warehouse": "", "available": 2600, "source": f"csv:{stock_file}",
                                  "read_at": now - timedelta(days=5)}])
    engine.dispose()
    write_stock(stock_file, {"SKU123": 1400})
    result = subprocess.run(stockbot("check"), capture_output=True, text=True, timeout=120,
                            env=stockbot_env(slack, database_url, stock_file))
    assert result.returncode == 0, result.stderr
    assert "posted 1 alerts" in result.stdout
    [alert] = slack.posts(ALERT_CHANNEL, top_level=True)
    [upload] = slack.shared_uploads()  # already there when the process has exited: no waiting here
    assert upload.thread_ts and (ALERT_CHANNEL, upload.thread_ts) in slack.messages
    assert "1,400" in upload.alt_txt and _decodes(upload.content) == (1200, 800)
