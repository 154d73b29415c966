"""Bad input, garbage payloads, forged requests, the 3-second ack and secrets.

Every case goes through the real HTTP endpoint; "nothing stored" is checked by comparing
the real tables before and after.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import col, select

from storage.db import Session
from storage.models import Alert, Episode, Reorder, Stock, Threshold, ThresholdChange
from tests.conftest import SIGNING_SECRET, http, sign, wait_until, write_stock
from tests.slack_server import BOT_TOKEN

TABLES = (Threshold, ThresholdChange, Reorder, Stock, Alert, Episode)

USAGE = {
    "/threshold": "*Usage:*\n`/threshold set SKU123 1500` — warn at 1500 (critical defaults to half)",
    "/stock": "*Usage:*\n`/stock SKU123` — available, levels and alert state",
    "/reorder": "*Usage:*\n`/reorder SKU123 2000 [eta 2026-12-10 | eta 7d] [note text…]` — record a reorder",
}


def snapshot(bot) -> dict[str, list[str]]:
    """Every row of the tables a command could change, as comparable text."""
    with Session(bot.ctx.engine) as session:
        return {model.__tablename__: sorted(json.dumps(row.model_dump(), default=str, sort_keys=True)
                                            for row in session.exec(select(model)).all())
                for model in TABLES}


def posted_alerts(bot, sku: str) -> list[Alert]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(Alert).where(Alert.sku == sku, col(Alert.ts).is_not(None))).all())


@pytest.fixture
def seeded(bot, slack):
    """A bot with a threshold, a manual stock count and an open reorder for SKU123."""
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/stock", "set SKU123 5000")
    bot.ask("/reorder", "SKU123 2000 eta 7d note seed")
    snap = snapshot(bot)
    assert [len(snap[name]) for name in ("threshold", "threshold_change", "reorder", "stock")] == [1, 1, 1, 1]
    return bot


# ---- malformed commands ------------------------------------------------------------------

PAST = "2020-01-01"

BAD_COMMANDS = [
    # /threshold
    ("/threshold", "set", "Which SKU? The SKU is missing."),
    ("/threshold", "set SKU123", "The warning level is missing."),
    ("/threshold", "set SKU123 lots", "The warning level must be a whole number, not `lots`."),
    ("/threshold", "set SKU123 -5", "The warning level can't be negative (got -5)."),
    ("/threshold", "set SKU123 12.5", "The warning level must be a whole number, not `12.5`."),
    ("/threshold", "set SKU123 99999999999", "The warning level `99999999999` is too big"),
    ("/threshold", "set SKU123 1500 critical 2000",
     "The critical level (2000) can't be above the warning level (1500)."),
    ("/threshold", "set SKU123 1500 critical", "The critical level is missing."),
    ("/threshold", "set SKU123 1500 critical -1", "The critical level can't be negative (got -1)."),
    ("/threshold", "set SKU123 1500 channel", "Which channel? Pick one after `channel`"),
    ("/threshold", "set SKU123 1500 channel stock-alerts", "`stock-alerts` is not a channel I can use."),
    ("/threshold", "set SKU123 1500 colour red", "Unknown option `colour` (use: critical, channel, warehouse)."),
    ("/threshold", "frobnicate SKU123",
     "Unknown command `frobnicate` (use: set, get, list, remove, history, calc, auto, lead, help)."),
    ("/threshold", "set SKU123 " + "9" * 9990, "That command is 10001 characters long; the limit is 1000."),
    ("/threshold", "x" * 10_000, "That command is 10000 characters long; the limit is 1000."),
    ("/threshold", "set '; DROP TABLE threshold;-- 5", "`';` is not a valid SKU"),
    ("/threshold", "set SKU123'); DELETE FROM threshold_change;-- 5",
     "`SKU123');` is not a valid SKU"),
    ("/threshold", "remove * ", "`*` is not a valid SKU"),
    ("/threshold", "set " + "A" * 65 + " 100", "That SKU is 65 characters long; the limit is 64."),
    ("/threshold", "set " + "连" * 65 + " 100", "That SKU is 65 characters long; the limit is 64."),
    ("/threshold", "get", "Which SKU? The SKU is missing."),
    ("/threshold", "remove SKU123 now", "I didn't understand `now`."),
    ("/threshold", "history", "Which SKU? The SKU is missing."),
    ("/threshold", "list page 0", "The page number must be more than 0."),
    ("/threshold", "list page two", "The page number must be a whole number, not `two`."),
    ("/threshold", "list % page 1", "`%` is not a valid SKU"),
    # /stock
    ("/stock", "set", "Which SKU? The SKU is missing."),
    ("/stock", "set SKU123", "The available quantity is missing."),
    ("/stock", "set SKU123 -1", "The available quantity can't be negative (got -1)."),
    ("/stock", "set SKU123 many", "The available quantity must be a whole number, not `many`."),
    ("/stock", "set SKU123 100 warehouse", "The warehouse name is missing after `warehouse`."),
    ("/stock", "set SKU123 100 please", "I didn't understand `please`."),
    ("/stock", "SKU123 now", "I didn't understand `now`."),
    ("/stock", "set 'OR'1'='1 5", "is not a valid SKU"),
    ("/stock", "y" * 10_000, "That command is 10000 characters long; the limit is 1000."),
    # /reorder
    ("/reorder", "SKU123", "The quantity is missing."),
    ("/reorder", "SKU123 0", "The quantity must be more than 0."),
    ("/reorder", "SKU123 -20", "The quantity can't be negative (got -20)."),
    ("/reorder", "SKU123 two", "The quantity must be a whole number, not `two`."),
    ("/reorder", f"SKU123 2000 eta {PAST}", f"The ETA {PAST} is in the past."),
    ("/reorder", "SKU123 2000 eta soon", "`soon` is not a date: use `2026-12-10` or `7d`."),
    ("/reorder", "SKU123 2000 eta 2026-13-45", "`2026-13-45` is not a date"),
    ("/reorder", "SKU123 2000 eta", "The ETA is missing"),
    ("/reorder", "SKU123 2000 eta 999d", "is more than a year away."),
    ("/reorder", "SKU123 2000 note", "The note is empty."),
    ("/reorder", "SKU123 2000 note " + "n" * 501, "The note is too long (max 500 characters)."),
    ("/reorder", "SKU123 2000 by air", "Unknown option `by` (use: eta, note)."),
    ("/reorder", "cancel", "Which SKU? The SKU is missing."),
    ("/reorder", "cancel SKU123 all", "I didn't understand `all`."),
    ("/reorder", "'; DROP TABLE reorder;-- 5", "`';` is not a valid SKU"),
    ("/reorder", "B" * 65 + " 5", "That SKU is 65 characters long; the limit is 64."),
]


@pytest.mark.parametrize("command, text, expected", BAD_COMMANDS,
                         ids=[f"{c}:{t[:40]}" for c, t, _ in BAD_COMMANDS])
def test_malformed_command_gets_an_ephemeral_explanation_and_stores_nothing(seeded, slack, command, text,
                                                                            expected):
    before = snapshot(seeded)

    result = seeded.command(command, text)

    assert result.status == 200
    body = result.json()
    assert body["response_type"] == "ephemeral"
    message, usage = body["text"].split("\n", 1)
    assert message.startswith("⚠️ ") and expected in message
    assert usage.startswith(USAGE[command])
    assert len(body["text"]) < 1500  # a 10 000-character command is not echoed back
    time.sleep(0.2)  # anything the listener might do after the ack would have happened by now
    assert snapshot(seeded) == before
    assert slack.responses(result.response_key) == []
    assert slack.of("chat.postMessage") == []


def test_sql_looking_text_leaves_every_table_in_place(seeded):
    for text in ["set x'; DROP TABLE threshold;-- 5", "get 1;DELETE", "list ';--"]:
        assert seeded.command("/threshold", text).json()["response_type"] == "ephemeral"
    # The tables still exist and still hold the seeded rows.
    assert seeded.ask("/threshold", "get SKU123").startswith("*SKU123*: warning at 1,500, critical at 750")
    assert "available *5,000*" in seeded.ask("/stock", "SKU123")


def test_the_same_rules_apply_in_chinese(start_bot):
    bot = start_bot(language="zh")
    body = bot.command("/threshold", "set SKU123 -5").json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("⚠️ 预警线不能为负数（收到 -5）。\n*用法：*")


# ---- garbage interactive payloads --------------------------------------------------------

@pytest.fixture
def alerting(bot, slack):
    """SKU123 with an open CRITICAL alert posted to Slack."""
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/stock", "set SKU123 100")
    [alert] = wait_until(lambda: posted_alerts(bot, "SKU123"))
    return bot, alert


def test_unknown_action_id_is_not_a_server_error(alerting, slack):
    bot, alert = alerting
    before, calls = snapshot(bot), len(slack.calls)

    result = bot.action("delete_everything", str(alert.id), message_ts=alert.ts)

    assert result.status == 200
    bot.settle()
    assert snapshot(bot) == before
    # A private word to the presser, nothing else reaches Slack.
    assert [call.method for call in slack.calls[calls:]] == ["response_url"]
    assert slack.calls[-1].params["text"].startswith("Stockbot does not know that button")


@pytest.mark.parametrize("action_id", ["ack_restock", "mark_reordered"])
@pytest.mark.parametrize("value", ["abc", "", "999999", "-1", "1e9", "' OR 1=1 --"])
def test_button_with_a_bad_or_unknown_alert_id_gets_a_friendly_reply(alerting, slack, action_id, value):
    bot, alert = alerting
    before = snapshot(bot)

    result = bot.action(action_id, value)

    assert result.status == 200 and result.body == ""
    [reply] = slack.wait_for("response_url", lambda p: "no longer exists" in p.get("text", ""))
    assert reply == {"text": "That alert no longer exists (its SKU was removed or the episode closed).",
                     "response_type": "ephemeral", "replace_original": False}
    assert snapshot(bot) == before
    assert slack.of("views.open") == [] and slack.of("chat.update") == []


def modal_values(quantity, eta=None, note=None) -> dict:
    values = {"quantity": {"value": {"type": "number_input", "value": quantity}}}
    if eta is not None:
        values["eta"] = {"value": {"type": "datepicker", "selected_date": eta}}
    if note is not None:
        values["note"] = {"value": {"type": "plain_text_input", "value": note}}
    return values


@pytest.mark.parametrize("values, field, error", [
    (modal_values("abc"), "quantity", "⚠️ The quantity must be a whole number, not `abc`."),
    (modal_values(None), "quantity", "⚠️ The quantity is missing."),
    (modal_values("0"), "quantity", "⚠️ The quantity must be more than 0."),
    (modal_values("-3"), "quantity", "⚠️ The quantity can't be negative (got -3)."),
    (modal_values("5", eta="2020-01-01"), "eta", "⚠️ The ETA 2020-01-01 is in the past."),
    (modal_values("5", eta="someday"), "eta", "⚠️ `someday` is not a date: use `2026-12-10` or `7d`."),
])
def test_modal_with_bad_values_answers_field_errors(alerting, values, field, error):
    bot, alert = alerting
    before = snapshot(bot)

    result = bot.view_submission("reorder_modal", str(alert.id), values)

    assert result.status == 200
    assert result.json() == {"response_action": "errors", "errors": {field: error}}
    assert snapshot(bot) == before


def test_modal_with_a_broken_alert_reference(alerting):
    bot, alert = alerting
    before = snapshot(bot)

    result = bot.view_submission("reorder_modal", "not-an-id", modal_values("5"))
    assert result.status == 200
    assert result.json() == {"response_action": "errors", "errors": {
        "quantity": "That alert no longer exists (its SKU was removed or the episode closed)."}}

    result = bot.view_submission("reorder_modal", "999999", modal_values("5"))
    assert result.status == 200 and result.body == ""  # the modal closes; there is nothing to record on
    time.sleep(0.2)
    assert snapshot(bot) == before


@pytest.mark.parametrize("body, content_type", [
    ("payload=not-json", "application/x-www-form-urlencoded"),
    ("payload=%5B%5D", "application/x-www-form-urlencoded"),  # a JSON list
    ("payload=null", "application/x-www-form-urlencoded"),
    ("{not json", "application/json"),
    ("[1, 2, 3]", "application/json"),
    ('"just a string"', "application/json"),
], ids=["form-not-json", "form-list", "form-null", "json-broken", "json-list", "json-string"])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_unreadable_bodies_are_refused_without_a_server_error(bot, slack, body, content_type, signed):
    before = snapshot(bot)
    headers = {"Content-Type": content_type, **(sign(body) if signed else {})}

    result = http("POST", bot.url + "/slack/events", body, headers)

    assert result.status in (400, 401)
    assert json.loads(result.body) == {"error": "invalid request"}
    assert snapshot(bot) == before
    # The server is still healthy afterwards.
    assert bot.ask("/threshold", "list") == "No thresholds yet. Set one with `/threshold set SKU123 1500`."


def test_block_actions_without_actions_is_not_a_server_error(bot, slack):
    payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": "U0BUYER"}, "actions": []}
    result = bot.post_signed(urlencode({"payload": json.dumps(payload)}))
    assert result.status != 500 and result.status < 500
    assert bot.ask("/threshold", "list").startswith("No thresholds yet.")


# ---- forged requests ---------------------------------------------------------------------

def command_body(bot, text: str = "set FORGED 1500", user: str = "U0BUYER") -> str:
    return urlencode({
        "token": "legacy-verification-token", "team_id": "T0TEST", "channel_id": "C0WORK", "user_id": user,
        "user_name": user.lower(), "command": "/threshold", "text": text, "api_app_id": "A0STOCK",
        "response_url": bot.slack.response_url("forged"), "trigger_id": "trigger-forged",
    })


def _forged_headers(body: str, case: str) -> dict:
    now = int(time.time())
    good = sign(body)
    if case == "bad signature":
        return {**good, "X-Slack-Signature": "v0=" + "0" * 64}
    if case == "signature of another body":
        return sign(body.replace("1500", "9999"))
    if case == "wrong signing secret":
        return sign(body, secret="not-the-" + SIGNING_SECRET)
    if case == "stale timestamp":
        return sign(body, timestamp=now - 6 * 60)
    if case == "timestamp from the future":
        return sign(body, timestamp=now + 6 * 60)
    if case == "timestamp not signed":  # a fresh timestamp header with an old signature
        return {**sign(body, timestamp=now - 6 * 60), "X-Slack-Request-Timestamp": str(now)}
    if case == "no headers":
        return {}
    if case == "no signature":
        return {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]}
    if case == "no timestamp":
        return {"X-Slack-Signature": good["X-Slack-Signature"]}
    if case == "signature without version":
        return {**good, "X-Slack-Signature": good["X-Slack-Signature"][3:]}
    raise AssertionError(case)


FORGERIES = ["bad signature", "signature of another body", "wrong signing secret", "stale timestamp",
             "timestamp from the future", "timestamp not signed", "no headers", "no signature", "no timestamp",
             "signature without version"]


@pytest.mark.parametrize("case", FORGERIES)
def test_forged_command_is_refused_and_stores_nothing(bot, slack, case):
    body = command_body(bot)
    before = snapshot(bot)

    result = http("POST", bot.url + "/slack/events", body,
                  {"Content-Type": "application/x-www-form-urlencoded", **_forged_headers(body, case)})

    assert result.status == 401
    assert json.loads(result.body) == {"error": "invalid request"}
    time.sleep(0.2)
    assert snapshot(bot) == before
    assert slack.of("response_url") == []


def test_the_same_request_correctly_signed_is_accepted(bot, slack):
    """The control for the forgeries above: only the signature made the difference."""
    body = command_body(bot)
    result = http("POST", bot.url + "/slack/events", body,
                  {"Content-Type": "application/x-www-form-urlencoded", **sign(body)})
    assert result.status == 200
    assert slack.wait_for_response("forged")["text"].startswith("✅ *FORGED*: warning at 1,500")
    with Session(bot.ctx.engine) as session:
        assert session.get(Threshold, "FORGED").warning_level == 1500


def test_a_bot_with_another_signing_secret_refuses_our_requests(start_bot, slack):
    other = start_bot(slack_signing_secret="a-different-secret")
    result = other.command("/threshold", "set SKU123 1500")  # signed with the test secret
    assert result.status == 401
    with Session(other.ctx.engine) as session:
        assert session.exec(select(Threshold)).all() == []


@pytest.mark.parametrize("case", ["wrong signing secret", "stale timestamp", "no headers"])
def test_forged_button_press_changes_nothing(alerting, slack, case):
    bot, alert = alerting
    payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": "U0MALLORY"},
               "api_app_id": "A0STOCK", "trigger_id": "t", "channel": {"id": alert.channel},
               "container": {"type": "message", "message_ts": alert.ts, "channel_id": alert.channel},
               "message": {"ts": alert.ts}, "response_url": slack.response_url("forged-button"),
               "actions": [{"action_id": "ack_restock", "block_id": "b", "value": str(alert.id), "type": "button"}]}
    body = urlencode({"payload": json.dumps(payload)})
    before = snapshot(bot)

    result = http("POST", bot.url + "/slack/events", body,
                  {"Content-Type": "application/x-www-form-urlencoded", **_forged_headers(body, case)})

    assert result.status == 401
    time.sleep(0.2)
    assert snapshot(bot) == before
    assert slack.of("chat.update") == []


# ---- the 3-second acknowledgement ---------------------------------------------------------

def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_commands_ack_within_3_seconds_while_slack_is_slow(bot, slack, stock_file):
    write_stock(stock_file, {"SKU123": 100})
    bot.checker.run_check()
    slack.slow_seconds = 3.5  # every Web API call now takes longer than Slack's ack deadline

    result, elapsed = timed(lambda: bot.command("/threshold", "set SKU123 1500"))
    assert result.status == 200 and result.body == "" and elapsed < 3.0
    # The work still happens after the ack: the reply, then the immediate check's alert.
    assert slack.wait_for_response(result.response_key)["text"].startswith("✅ *SKU123*")
    slack.wait_for("chat.postMessage", lambda p: p.get("text", "").startswith("CRITICAL: SKU123"), timeout=15)
    wait_until(lambda: posted_alerts(bot, "SKU123"), timeout=15)

    result, elapsed = timed(lambda: bot.command("/stock", "set SKU123 0"))
    assert result.status == 200 and elapsed < 3.0
    slack.wait_for("chat.postMessage", lambda p: p.get("text", "").startswith("OUT OF STOCK: SKU123"), timeout=15)

    result, elapsed = timed(lambda: bot.command("/threshold", "set SKU123 -1"))  # answered in the ack itself
    assert result.status == 200 and elapsed < 3.0 and result.json()["response_type"] == "ephemeral"

    # Let the slow work finish before the test (and its database) goes away.
    wait_until(lambda: len(posted_alerts(bot, "SKU123")) == 2, timeout=15)


# ---- secrets -----------------------------------------------------------------------------

def test_secrets_never_appear_in_replies_messages_or_logs(start_bot, slack, stock_file, caplog):
    caplog.set_level(logging.INFO)
    bot = start_bot(threshold_admins=frozenset({"U0ADMIN"}))
    answers: list[str] = []

    def command(name, text, user="U0ADMIN"):
        result = bot.command(name, text, user=user)
        answers.append(result.body)
        return result

    command("/threshold", "set SKU123 1500 channel <#C0123ABC|stock-alerts>")
    command("/threshold", "set SKU9 10")
    for text in ["get SKU123", "list", "list SKU", "history SKU123", "help", "set SKU123 -1", "bogus",
                 "x" * 2000]:
        command("/threshold", text, user="U0BUYER")
    command("/threshold", "remove SKU9", user="U0BUYER")  # refused
    command("/stock", "set SKU123 100")
    [alert] = wait_until(lambda: posted_alerts(bot, "SKU123"))
    command("/stock", "SKU123", user="U0BUYER")
    command("/reorder", "SKU123 2000 eta 7d note PO 1", user="U0ADMIN")
    command("/reorder", "SKU123 5", user="U0BUYER")  # refused
    command("/reorder", "list")
    answers.append(bot.action("ack_restock", str(alert.id), message_ts=alert.ts).body)
    answers.append(bot.action("mark_reordered", str(alert.id), user="U0ADMIN", message_ts=alert.ts).body)
    answers.append(bot.action("mark_reordered", "nope").body)
    answers.append(bot.view_submission("reorder_modal", str(alert.id), modal_values("abc")).body)
    answers.append(http("GET", bot.url + "/healthz").body)
    # Slack refusing a post, and a broken stock source, produce messages and logs too.
    slack.failures["chat.update"] = "invalid_auth"
    command("/reorder", "cancel SKU123")
    stock_file.unlink()
    bot.checker.run_check()
    slack.wait_for("views.open")
    slack.wait_for("chat.postMessage", lambda p: "could not be read" in p.get("text", ""))
    time.sleep(0.3)

    recorded = [json.dumps(call.params, ensure_ascii=False) for call in slack.calls]
    assert len(recorded) >= 15 and any("SKU123" in text for text in recorded)
    everything = "\n".join(answers + recorded + [caplog.text, repr(bot.settings)])
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in everything
        assert secret[-12:] not in everything  # not even a recognisable part of it
