"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and a loopback HTTP
server that keeps the webhooks POSTed to it: the far ends of e-mail and ERP deliveries."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, inbox: list[Received], changed: threading.Condition) -> None:
        self.inbox, self.changed = inbox, changed

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.changed:
            self.inbox.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self.changed.notify_all()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self.inbox: list[Received] = []
        self._changed = threading.Condition()
        self.port = _free_port()
        self._controller = Controller(_Handler(self.inbox, self._changed), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._changed:
            return [received.message for received in self.inbox]

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        with self._changed:
            return [(received.mail_from, received.rcpt_tos) for received in self.inbox]

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.inbox) >= count, timeout):
                raise AssertionError(f"waited {timeout}s for {count} e-mails; received {len(self.inbox)}")
            return list(self.inbox)


@dataclass
class Hook:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class WebhookServer:
    def __init__(self, status: int = 200) -> None:
        self.received: list[Hook] = []
        self.status = status
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.received.append(Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(server.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/erp/po"

    def start(self) -> "WebhookServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
