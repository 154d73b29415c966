"""Slack needs its acknowledgement within 3 s: slow work must come after ack()."""

from __future__ import annotations

import time

from tests.conftest import write_stock


def test_commands_and_buttons_ack_before_slow_slack_calls(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 100})
    bot.checker.run_check()
    slack.slow_seconds = 3.5  # every Web API call now takes longer than Slack's ack deadline

    started = time.monotonic()
    result = bot.command("/stock", "set SKU123 0")  # triggers an immediate check that posts to Slack
    assert result.status == 200
    assert time.monotonic() - started < 3.0

    started = time.monotonic()
    assert bot.action("ack_restock", "1").status == 200  # the chat.update happens after the ack
    assert time.monotonic() - started < 3.0

    # the slow work still happened, after the acknowledgement
    slack.wait_for("chat.postMessage", lambda p: p.get("text", "").startswith("OUT OF STOCK"), timeout=15)
    slack.wait_for("chat.update", timeout=15)
