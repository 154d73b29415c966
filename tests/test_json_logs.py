"""LOG_FORMAT=json: a real `stockbot run` writes one JSON object per stderr line, with the request_id
of the Slack request a line belongs to (also in the work after its ack) and the check_id of a check;
configured secrets and Slack tokens never appear in a line, in either format."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import threading
import time
from datetime import datetime
from urllib.parse import urlencode

import pytest

from bot import logs
from bot.config import ConfigError, Settings, load_settings
from tests.conftest import http, sign, write_stock
from tests.slack_server import BOT_TOKEN
from tests.test_cli import free_port, stockbot, stockbot_env

SIGNING = "signing-secret-planted-51b2"
PUSH = "push-token-planted-8d0a"
SMTP_PASSWORD = "smtp-password-planted-33f"
SMS = "sms-token-planted-e41c"
PLANTED = (BOT_TOKEN, SIGNING, PUSH, SMTP_PASSWORD, SMS)


def command(slack, text: str) -> str:
    return urlencode({"token": "legacy", "team_id": "T0TEST", "channel_id": "C0WORK", "user_id": "U0BUYER",
                      "command": "/threshold", "text": text, "api_app_id": "A0STOCK",
                      "response_url": slack.response_url(f"json-{time.monotonic_ns()}"), "trigger_id": "t-1"})


def post(base: str, body: str, headers: dict) -> int:
    return http("POST", base + "/slack/events", body, headers).status


def wait_for_line(lines: list[dict], predicate, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next((line for line in list(lines) if predicate(line)), None)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no such log line in {json.dumps(lines, indent=1)[-12000:]}")


def test_stockbot_run_logs_json_with_request_and_check_ids_and_no_secrets(slack, database_url, stock_file):
    port = free_port()
    env = stockbot_env(slack, database_url, stock_file, LOG_FORMAT="json", PORT=str(port),
                       SLACK_SIGNING_SECRET=SIGNING, STOCK_PUSH_TOKEN=PUSH, SMS_AUTH_TOKEN=SMS,
                       SMTP_URL=f"smtp://stockbot:{SMTP_PASSWORD}@127.0.0.1:2525", SMTP_FROM="bot@example.com",
                       CHECK_INTERVAL_SECONDS="900")
    write_stock(stock_file, {"WARN-1": 1400})
    process = subprocess.Popen(stockbot("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    raw: list[str] = []
    parsed: list[dict] = []

    def read_stderr() -> None:
        for line in process.stderr:
            raw.append(line)
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"unparsed": line})

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_line(parsed, lambda line: "listening on port" in line.get("message", ""))
        # A command whose work after ack logs (Slack fails the channel lookup), and which triggers a check
        slack.failures["conversations.info"] = "internal_error"
        body = command(slack, "set WARN-1 1500 channel <#C0OTHER|other>")
        # Signed once: the replay below must carry the very same signature and timestamp
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SIGNING)}
        assert post(base, body, headers) == 200
        after_ack = wait_for_line(parsed, lambda line: "could not check channel" in line.get("message", ""))
        checked = wait_for_line(parsed, lambda line: line.get("message", "").startswith("check:"))
        # The same signed request again: refused as a replay, logged inside the request
        assert post(base, body, headers) == 200
        replay = wait_for_line(parsed, lambda line: "(a replay)" in line.get("message", ""))
        # A push with the wrong token, and a push with the right one (the token is never logged)
        assert http("POST", base + "/api/stock", json.dumps({"items": [{"sku": "P", "available": 1}]}),
                    {"Content-Type": "application/json", "Authorization": f"Bearer {PUSH}x"}).status == 401
        slack.wait_for("chat.postMessage", lambda p: "WARN-1" in p.get("text", ""), timeout=20)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        process.stdout.close()

    assert raw, "nothing logged"
    unparsed = [line["unparsed"] for line in parsed if "unparsed" in line]
    assert not unparsed, unparsed
    for line in parsed:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert line["time"].endswith("Z") and datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    # The work after ack carries its request's id; the replay is a different request
    assert after_ack["level"] == "WARNING" and len(after_ack["request_id"]) == 16
    assert replay["request_id"] and replay["request_id"] != after_ack["request_id"]
    assert checked["check_id"] and "request_id" not in checked
    # Lines of the startup belong to neither
    startup = next(line for line in parsed if "listening on port" in line["message"])
    assert "request_id" not in startup and "check_id" not in startup
    everything = "".join(raw)
    for secret in PLANTED:
        assert secret not in everything


def test_log_format_setting():
    assert load_settings({}, dotenv=False).log_format == "plain"
    assert load_settings({"LOG_FORMAT": " JSON "}, dotenv=False).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be plain or json"):
        load_settings({"LOG_FORMAT": "xml"}, dotenv=False)


# ---- the formatters, with code that does log secrets ------------------------------------------------

SETTINGS = Settings(slack_bot_token="xoxb-1111-2222-planted", slack_signing_secret=SIGNING, stock_push_token=PUSH,
                    sms_auth_token=SMS, smtp_url=f"smtps://bot:{SMTP_PASSWORD}@mail.example.com:465",
                    database_url="postgresql+psycopg://stockbot:db-password-planted@db:5432/stockbot")


@pytest.fixture(params=["plain", "json"])
def captured(request):
    """A logger writing through the format under test, and what it wrote."""
    stream = io.StringIO()
    redact = logs.Redactor(logs.configured_secrets(SETTINGS))
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter(redact) if request.param == "json" else logs.PlainFormatter(redact))
    logger = logging.getLogger(f"test_json_logs.{request.param}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield request.param, logger, stream
    logger.removeHandler(handler)


def test_secrets_are_masked_in_both_formats_even_when_code_logs_them(captured):
    kind, logger, stream = captured
    logger.warning("token %s, signing %s, push %s, sms %s", SETTINGS.slack_bot_token, SIGNING, PUSH, SMS)
    logger.warning("tokens seen elsewhere: xoxp-9-8-7 xapp-1-A0-123-abc xoxe.xoxb-1-abc xoxe-1-ZZ")
    logger.warning("header was Authorization: Bearer abc.def-ghi and the mail url %s", SETTINGS.smtp_url)
    try:
        raise RuntimeError(f"could not connect to {SETTINGS.database_url}")
    except RuntimeError:
        logger.exception("the database refused")
    out = stream.getvalue()
    for secret in (SETTINGS.slack_bot_token, SIGNING, PUSH, SMS, SMTP_PASSWORD, "db-password-planted",
                   "xoxp-9-8-7", "xapp-1-A0-123-abc", "xoxb-1-abc", "xoxe-1-ZZ", "abc.def-ghi"):
        assert secret not in out
    assert "Bearer ***" in out and "smtps://bot:***@mail.example.com" in out and "RuntimeError" in out
    lines = out.splitlines()
    if kind == "json":
        entries = [json.loads(line) for line in lines]
        assert len(entries) == 4 and entries[3]["level"] == "ERROR" and "RuntimeError" in entries[3]["exception"]
    else:
        assert lines[0].split(" ", 3)[2] == "WARNING" and "test_json_logs.plain: token ***, signing ***" in lines[0]


def test_ids_come_from_the_context_and_follow_copied_contexts(captured):
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    kind, logger, stream = captured
    token = logs.request_id.set("req-0123456789ab")
    try:
        with logs.check_scope() as check:
            logger.info("inside")
            with ThreadPoolExecutor(1) as pool:
                pool.submit(contextvars.copy_context().run, logger.info, "in another thread").result()
    finally:
        logs.request_id.reset(token)
    logger.info("outside")
    lines = stream.getvalue().splitlines()
    if kind == "json":
        inside, other, outside = (json.loads(line) for line in lines)
        assert inside["request_id"] == other["request_id"] == "req-0123456789ab"
        assert inside["check_id"] == other["check_id"] == check
        assert "request_id" not in outside and "check_id" not in outside
    else:
        assert lines[0].endswith(f"inside [request_id=req-0123456789ab check_id={check}]")
        assert lines[2].endswith("outside")
