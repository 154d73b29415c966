"""HTTP surface: POST /slack/events (Bolt), GET /healthz. Served by waitress."""

from __future__ import annotations

import json
import logging
from typing import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.checker import LAST_CHECK_KEY
from bot.context import AppContext
from storage import repo
from storage.db import database_ok
from storage.db import session as open_session

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"


def _json(start_response: Callable, status: str, payload: dict) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def health(ctx: AppContext) -> tuple[bool, dict]:
    ok = database_ok(ctx.engine)
    last_check = None
    if ok:
        with open_session(ctx.engine) as session:
            last_check = repo.get_meta(session, LAST_CHECK_KEY)
    return ok, {"ok": ok, "database": "ok" if ok else "unreachable", "last_check_at": last_check}


def make_wsgi_app(ctx: AppContext, bolt_app: App | None) -> Callable:
    slack_handler = SlackRequestHandler(bolt_app, path=SLACK_PATH) if bolt_app is not None else None

    def application(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok, payload = health(ctx)
            return _json(start_response, "200 OK" if ok else "503 Service Unavailable", payload)
        if path == SLACK_PATH and slack_handler is not None:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            try:
                return slack_handler(environ, start_response)
            except Exception:  # Bolt parses the body before checking the signature: broken JSON or a
                # JSON list raise there. Slack never sends those; answer 400 instead of a 500.
                log.warning("refused an unreadable request to %s", SLACK_PATH)
                return _json(start_response, "400 Bad Request", {"error": "invalid request"})
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def create_server(wsgi_app: Callable, port: int, host: str = "0.0.0.0"):
    """A waitress server; call .run() to serve and .close() to stop. Port 0 picks a free port."""
    from waitress.server import create_server as waitress_server

    # poll() rather than select(): no 1024-descriptor ceiling, and a close() from another
    # thread (tests, shutdown) does not crash the loop.
    return waitress_server(wsgi_app, host=host, port=port, threads=8, ident="stockbot", asyncore_use_poll=True)
