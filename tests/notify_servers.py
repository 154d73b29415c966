"""Loopback peers for the notification channels: a real SMTP server (aiosmtpd), and one HTTP
server that answers like DingTalk's custom robots, WeCom's group robots, Feishu's custom bots,
Twilio's Messages API and a receiver of signed webhooks.

Each checks what the real service checks, as documented: DingTalk's and Feishu's signatures
(recomputed here from the secret; a mismatch gets the real error code), the timestamp window,
WeCom's 4096-byte markdown limit, Twilio's basic auth and form fields, the webhook's
X-Stockbot-Signature. Tests read what was accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.smtp_server import SmtpServer  # noqa: F401  (the notification tests use it from here)

OPS = "C0OPS"
SMS_SID, SMS_TOKEN, SMS_FROM = "AC0123456789abcdef", "sms-auth-token-not-real", "+15005550006"
GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
          "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = set("^{}\\[~]|€\f")


def sms_segments(body: str) -> int:
    """How many segments a carrier bills for this body (GSM-7: 160/153, UCS-2: 70/67)."""
    if all(c in GSM or c in GSM_EXT for c in body):
        units, single, multi = sum(2 if c in GSM_EXT else 1 for c in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)


@dataclass
class Received:
    service: str
    path: str
    query: dict
    headers: dict
    body: bytes
    answer: Optional[dict] = None  # what this server answered

    def json(self):
        return json.loads(self.body)


@dataclass
class ChatServices:
    """Robots and receivers this server knows: token/key -> secret (None: not signed)."""

    dingtalk: dict = field(default_factory=dict)
    wecom: set = field(default_factory=set)
    feishu: dict = field(default_factory=dict)
    webhooks: dict = field(default_factory=dict)  # path -> secret


class NotifyServer:
    def __init__(self) -> None:
        self.known = ChatServices()
        self.accepted: list[Received] = []
        self.refused: list[Received] = []
        self.attempts: list[Received] = []
        self.fail_next: list[int] = []  # HTTP statuses to answer before behaving (any service)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "NotifyServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, service: str) -> list[Received]:
        with self._lock:
            return [r for r in self.accepted if r.service == service]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, answer, service = server.answer(parts.path, query, dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def answer(self, path: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict, str]:
        service = ("dingtalk" if path == "/robot/send" else "wecom" if path == "/cgi-bin/webhook/send"
                   else "feishu" if path.startswith("/open-apis/bot/v2/hook/") else
                   "sms" if path.startswith("/2010-04-01/") else "webhook")
        received = Received(service, path, query, headers, body)
        with self._lock:
            self.attempts.append(received)
            if self.fail_next:
                return self.fail_next.pop(0), {"error": "try again"}, service
        status, answer = getattr(self, f"_{service}")(received)
        received.answer = answer
        with self._lock:
            ok = status < 300 and answer.get("errcode", answer.get("code", 0)) in (0, None) or service == "sms" \
                and status == 201
            (self.accepted if ok else self.refused).append(received)
        return status, answer, service

    # -- DingTalk: custom robot (oapi.dingtalk.com/robot/send?access_token=…) --
    def _dingtalk(self, r: Received) -> tuple[int, dict]:
        token = r.query.get("access_token")
        if token not in self.known.dingtalk:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        secret = self.known.dingtalk[token]
        if secret is not None:
            stamp, sign = r.query.get("timestamp", ""), r.query.get("sign", "")
            expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > 3600_000 \
                    or not hmac.compare_digest(sign, expected):
                return 200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/]"}
        message = json.loads(r.body)
        markdown = message.get("markdown") or {}
        if message.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    # -- WeCom: group robot (qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…) --
    def _wecom(self, r: Received) -> tuple[int, dict]:
        if r.query.get("key") not in self.known.wecom:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        message = json.loads(r.body)
        content = (message.get("markdown") or {}).get("content", "")
        if message.get("msgtype") != "markdown" or not content:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode("utf-8")) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    # -- Feishu/Lark: custom bot (open.feishu.cn/open-apis/bot/v2/hook/…) --
    def _feishu(self, r: Received) -> tuple[int, dict]:
        token = r.path.rsplit("/", 1)[-1]
        if token not in self.known.feishu:
            return 200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        message = json.loads(r.body)
        secret = self.known.feishu[token]
        if secret is not None:
            stamp = str(message.get("timestamp", ""))
            expected = base64.b64encode(hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
            if not stamp.isdigit() or abs(int(stamp) - time.time()) > 3600 \
                    or not hmac.compare_digest(str(message.get("sign", "")), expected):
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        post = (message.get("content") or {}).get("post") or {}
        if message.get("msg_type") != "post" or not post or any(
                not isinstance(body.get("content"), list) or not body.get("title") for body in post.values()):
            return 200, {"code": 9499, "msg": "Bad Request"}
        return 200, {"code": 0, "msg": "success", "data": {}}

    # -- Twilio: POST /2010-04-01/Accounts/{Sid}/Messages.json --
    def _sms(self, r: Received) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{SMS_SID}:{SMS_TOKEN}".encode()).decode()
        if r.path != f"/2010-04-01/Accounts/{SMS_SID}/Messages.json" or r.headers.get("Authorization") != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        form = {k: v[0] for k, v in parse_qs(r.body.decode()).items()}
        if not form.get("To", "").startswith("+") or form.get("From") != SMS_FROM or not form.get("Body"):
            return 400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
        return 201, {"sid": f"SM{len(self.attempts):032d}", "status": "queued", "to": form["To"],
                     "num_segments": str(sms_segments(form["Body"]))}

    # -- any receiver of Stockbot's signed webhooks --
    def _webhook(self, r: Received) -> tuple[int, dict]:
        if r.path not in self.known.webhooks:
            return 404, {"error": "not found"}
        secret = self.known.webhooks[r.path]
        if secret is not None:
            expected = "sha256=" + hmac.new(secret.encode(), r.body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(r.headers.get("X-Stockbot-Signature", ""), expected):
                return 401, {"error": "bad signature"}
        return 200, {"ok": True}


def text_and_html(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def first(items: list, predicate=lambda item: True) -> Optional[object]:
    return next((item for item in items if predicate(item)), None)


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(name="servers")
def servers_fixture():
    server = NotifyServer().start()
    yield server
    server.stop()


@pytest.fixture(name="smtp")
def smtp_fixture():
    server = SmtpServer().start()
    yield server
    server.stop()


def start(start_bot, servers, smtp=None, **overrides):
    settings = dict(ops_channel=OPS, smtp_url=smtp.url if smtp else "", smtp_from="stockbot@shop.example",
                    sms_api_url=servers.url, sms_account_sid=SMS_SID, sms_auth_token=SMS_TOKEN, sms_from=SMS_FROM,
                    dingtalk_api_url=servers.url, wecom_api_url=servers.url, feishu_api_url=servers.url)
    return start_bot(**{**settings, **overrides})
