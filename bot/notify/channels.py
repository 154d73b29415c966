"""Sending one notification to one target: e-mail, DingTalk, WeCom, Feishu, SMS, webhook.

Each sender raises bot.notifier.NotifyError(code) when the far end answered no ("final_…" codes
end the outbox entry; others are retried with backoff) and lets network errors propagate (the
outcome is unknown: retried). Targets and secrets are never logged nor put in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Callable, Optional
from urllib.parse import quote, urlencode

from bot import mailer
from bot.config import Settings
from bot.core import notify as core
from bot.notifier import NotifyError
from bot.notify import render

HTTP_TIMEOUT = 10  # seconds
USER_AGENT = "Stockbot-Notify/1"

# Robots answer HTTP 200 with a code; these mean the request can never work as it is.
DINGTALK_FINAL = frozenset({310000,  # signature, keyword or IP allow-list mismatch
                            300001, 300005, 400101,  # no such access_token
                            400102, 400013})  # robot stopped, group dissolved
WECOM_FINAL = frozenset({93000,  # invalid webhook URL (key)
                         40058, 40008, 40035,  # content too long / bad message type / bad parameter
                         93004, 93008})  # robot removed or not in the group
FEISHU_FINAL = frozenset({19021,  # signature mismatch or timestamp more than an hour off
                          19022, 19024,  # IP not allowed, keyword not found
                          9499, 19001, 19002})  # bad request, webhook not found / bad parameters


def http_post(url: str, body: bytes, headers: dict, auth: Optional[tuple[str, str]] = None) -> tuple[int, bytes]:
    """POST and return (status, body) for 2xx; NotifyError for a refusal (4xx final except 429)."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"User-Agent": USER_AGENT, **headers})
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read(1_000_000)
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
    if status == 429 or status >= 500:
        raise NotifyError(f"http_{status}")
    raise NotifyError(f"final_http_{status}")


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotifyError("bad_response") from None
    return data if isinstance(data, dict) else {}


def _robot_answer(service: str, code: object, final: frozenset) -> None:
    try:
        number = int(code or 0)
    except (TypeError, ValueError):
        raise NotifyError(f"{service}_bad_response") from None
    if number != 0:
        raise NotifyError(f"final_{service}_{number}" if number in final else f"{service}_{number}")


# ---- signatures (as each service documents them) ----------------------------------------------

def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark: base64(HMAC-SHA256(key="timestamp\\nsecret", msg=""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- senders ---------------------------------------------------------------------------------

def send_email(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    message = mailer.build_message(settings.smtp_from, rule.target, render.email_subject(rule.lang, event),
                                   render.email_text(rule.lang, event, rule.id),
                                   render.email_html(rule.lang, event, rule.id),
                                   idempotency_key=f"stockbot-{delivery_id}")
    mailer.send(settings, message)


def send_dingtalk(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    url = rule.target
    if rule.secret:
        stamp = int(time.time() * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={dingtalk_sign(rule.secret, stamp)}"
    body = json.dumps({"msgtype": "markdown", "markdown": render.dingtalk_markdown(rule.lang, event, rule.id)},
                      ensure_ascii=False).encode("utf-8")
    _, answer = http_post(url, body, {"Content-Type": "application/json; charset=utf-8"})
    _robot_answer("dingtalk", _json(answer).get("errcode"), DINGTALK_FINAL)


def send_wecom(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    body = json.dumps({"msgtype": "markdown", "markdown": {"content": render.wecom_markdown(rule.lang, event, rule.id)}},
                      ensure_ascii=False).encode("utf-8")
    _, answer = http_post(rule.target, body, {"Content-Type": "application/json; charset=utf-8"})
    _robot_answer("wecom", _json(answer).get("errcode"), WECOM_FINAL)


def send_feishu(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    message = render.feishu_post(rule.lang, event, rule.id)
    if rule.secret:
        stamp = int(time.time())
        message = {"timestamp": str(stamp), "sign": feishu_sign(rule.secret, stamp), **message}
    _, answer = http_post(rule.target, json.dumps(message, ensure_ascii=False).encode("utf-8"),
                          {"Content-Type": "application/json; charset=utf-8"})
    data = _json(answer)
    _robot_answer("feishu", data.get("code", data.get("StatusCode")), FEISHU_FINAL)


def send_sms(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    """Twilio's Messages API (or a compatible one at SMS_API_URL)."""
    if not (settings.sms_account_sid and settings.sms_auth_token and settings.sms_from):
        raise NotifyError("final_sms_not_configured")
    url = f"{settings.sms_api_url.rstrip('/')}/2010-04-01/Accounts/{quote(settings.sms_account_sid, safe='')}" \
          f"/Messages.json"
    form = urlencode({"To": rule.target, "From": settings.sms_from, "Body": render.sms_text(rule.lang, event)})
    try:
        http_post(url, form.encode(), {"Content-Type": "application/x-www-form-urlencoded"},
                  auth=(settings.sms_account_sid, settings.sms_auth_token))
    except NotifyError as exc:
        if str(exc) in ("final_http_401", "final_http_403"):  # our credentials: fixable in config, keep it owed
            raise NotifyError("sms_auth_failed") from None
        raise


def send_webhook(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    body = render.webhook_body(event, delivery_id)
    headers = {"Content-Type": "application/json", "X-Stockbot-Delivery": delivery_id,
               "X-Stockbot-Event": event.kind}
    if rule.secret:
        headers["X-Stockbot-Signature"] = webhook_signature(rule.secret, body)
    http_post(rule.target, body, headers)


SENDERS: dict[str, Callable] = {"email": send_email, "dingtalk": send_dingtalk, "wecom": send_wecom,
                                "feishu": send_feishu, "sms": send_sms, "webhook": send_webhook}


def send(settings: Settings, rule, event: core.Event, delivery_id: str) -> None:
    SENDERS[rule.kind](settings, rule, event, delivery_id)
