"""Issue 14, point 4: Slack's Retry-After on a 429 is honoured on every Web API method, by every
thread of the app, against the loopback Slack answering 429 as Slack does."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from bot.notifier import MAX_RETRY_AFTER_SECONDS, retry_after_seconds
from tests.conftest import wait_until

DM = "D0LIMITED"


def calls_of(slack, method: str):
    return [call for call in slack.calls if call.method == method]


def test_an_alert_post_waits_out_retry_after(bot, slack):
    bot.ask("/threshold", "set SKU1 100")
    slack.rate_limit("chat.postMessage", times=1, retry_after="2")

    bot.ask("/stock", "set SKU1 5")  # checked at once: the alert is posted, gets 429, is posted again

    slack.wait_for("chat.postMessage", count=2, timeout=10)
    first, second = calls_of(slack, "chat.postMessage")[:2]
    assert second.at - first.at >= 2.0
    assert second.params["channel"] == first.params["channel"]  # the same alert, posted once it was allowed


def dm(text: str) -> dict:
    return {"type": "message", "channel": DM, "channel_type": "im", "user": "U0BUYER", "text": text,
            "ts": f"{time.time():.6f}"}


def test_other_threads_wait_too_after_a_429(bot, slack):
    slack.rate_limit("chat.postMessage", times=1, retry_after="2")

    assert bot.event(dm("one")).status == 200  # its reply gets the 429
    slack.wait_for("chat.postMessage")
    # the 429 has reached the client (a call already on the wire when it arrives cannot be held back)
    gate = bot.app.client.gate
    wait_until(lambda: gate._open_at > time.monotonic())
    assert bot.event(dm("two")).status == 200  # another listener thread, while the pause lasts

    slack.wait_for("chat.postMessage", count=3, timeout=10)
    limited, *later = calls_of(slack, "chat.postMessage")
    assert len(later) == 2
    assert all(call.at - limited.at >= 2.0 for call in later)


def test_views_open_waits_out_retry_after(bot, slack):
    slack.rate_limit("views.open", times=1, retry_after="1")

    result = bot.command("/stock", "import")
    assert result.status == 200

    slack.wait_for("views.open", count=2, timeout=10)
    first, second = calls_of(slack, "views.open")[:2]
    assert second.at - first.at >= 1.0


@pytest.mark.parametrize("header, seconds", [
    ("2", 2.0), ("20", 20.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0), (None, 1.0), ("soon", 1.0), ("-3", 0.0),
    ("999999", MAX_RETRY_AFTER_SECONDS), ("nan", 1.0),
])
def test_retry_after_values(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date():
    now = time.time()
    assert 29 <= retry_after_seconds(formatdate(now + 30, usegmt=True), now=now) <= 31
