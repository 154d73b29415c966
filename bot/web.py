"""HTTP surface: POST /slack/events (Bolt), GET /healthz, GET /metrics (Prometheus), POST /api/stock,
/api/sales and /webhooks/tiktok; in OAuth mode GET /slack/install and /slack/oauth_redirect (Bolt).
Served by waitress."""

from __future__ import annotations

import contextvars
import hmac
import io
import json
import logging
import time
from datetime import timedelta
from typing import Callable, Iterable, Optional
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import logs, metrics, outbox, slack_guard
from bot.checker import LAST_CHECK_KEY
from bot.context import AppContext
from bot.leader import current_lease
from bot.sources.push import PushError, parse_sales_push, parse_stock_push
from bot.sources.registry import PUSH_SOURCE
from bot.tenancy import SINGLE_TEAM, using_team
from storage import repo
from storage.db import database_ok
from storage.db import session as open_session

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
WEB_THREADS = 64  # waitress: 50 concurrent requests each get a thread at once
SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005)


def _json(start_response: Callable, status: str, payload: dict) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


OUTBOX_MAX_AGE = timedelta(minutes=10)  # older undelivered messages make /healthz answer 503


def health(ctx: AppContext) -> tuple[bool, dict]:
    ok = database_ok(ctx.engine)
    payload: dict = {"ok": ok, "database": "ok" if ok else "unreachable", "last_check_at": None}
    if ok:
        with open_session(ctx.engine) as session:
            payload["last_check_at"] = repo.get_meta(session, LAST_CHECK_KEY)
            backlog, oldest = outbox.backlog(session)
        lease = current_lease(ctx.engine)
        if lease is not None and not lease.live(repo.utcnow()):
            lease = None  # run out: nobody leads until a process takes it
        payload.update({"leader": bool(ctx.leadership and ctx.leadership.is_leader()),
                        "lease_holder": lease.holder if lease else None,
                        "lease_expires_at": lease.expires_at.isoformat() if lease else None})
        age = (repo.utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        payload["outbox"] = {"backlog": backlog, "oldest_age_seconds": round(age, 1)}
        if age > OUTBOX_MAX_AGE.total_seconds():
            ok = payload["ok"] = False
            payload["problem"] = (f"{backlog} Slack message(s) waiting, the oldest for {age / 60:.0f} minutes: "
                                  f"is Slack reachable and the token valid?")
    return ok, payload


MAX_PUSH_BYTES = 64 * 1024 * 1024  # 200 000 items of JSON fit with room to spare


class BodyTooLarge(Exception):
    """A body over its route's cap: answered 413 before a byte of it is read."""


def _content_length(environ) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_json(environ) -> object:
    length = _content_length(environ)
    if length <= 0:
        raise PushError("the body is empty: send JSON with a list \"items\"")
    if length > MAX_PUSH_BYTES:
        raise BodyTooLarge()
    raw = environ["wsgi.input"].read(length)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PushError(f"the body is not valid JSON ({exc.__class__.__name__}: {str(exc)[:80]})") from None


def _push_authorized(ctx: AppContext, environ) -> bool:
    token = ctx.settings.stock_push_token
    given = environ.get("HTTP_AUTHORIZATION", "")
    # compare_digest: the time taken does not reveal how much of the token was right.
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _push_team(ctx: AppContext, environ) -> Optional[str]:
    """The workspace a push belongs to: SINGLE_TEAM with the environment's STOCK_PUSH_TOKEN; in OAuth
    mode the workspace whose `/stockbot config push-token new` made the bearer token. None: refused."""
    if ctx.workspaces is not None and ctx.workspaces.oauth:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        return ctx.workspaces.team_for_push_token(token.strip()) if scheme == "Bearer" else None
    return SINGLE_TEAM if _push_authorized(ctx, environ) else None


def push_endpoint(ctx: AppContext, environ, start_response, kind: str):
    """POST /api/stock and /api/sales: all or nothing, then the pushed SKUs are checked at once."""
    if environ.get("REQUEST_METHOD") != "POST":
        return _json(start_response, "405 Method Not Allowed", {"ok": False, "error": "POST only"})
    team = _push_team(ctx, environ)
    if team is None:
        if ctx.workspaces is not None and ctx.workspaces.oauth:
            hint = "send Authorization: Bearer <the token `/stockbot config push-token new` made in your workspace>"
        elif ctx.settings.stock_push_token:
            hint = "send Authorization: Bearer <STOCK_PUSH_TOKEN>"
        else:
            hint = "pushes are off: set STOCK_PUSH_TOKEN on the server"
        return _json(start_response, "401 Unauthorized", {"ok": False, "error": f"not authorized: {hint}"})
    with using_team(team):
        return _push(ctx, environ, start_response, kind)


def _push(ctx: AppContext, environ, start_response, kind: str):
    now = repo.utcnow()
    try:
        payload = _read_json(environ)
        if kind == "stock":
            rows = parse_stock_push(payload)
            stored = ctx.checker.accept_push(rows, now)
            answer = {"ok": True, "received": stored, "skus": len({row.sku for row in rows})}
        else:
            sales = parse_sales_push(payload, today=now.date() + timedelta(days=1))  # any time zone's today
            answer = {"ok": True, "received": ctx.checker.write_sales(PUSH_SOURCE, sales),
                      "skus": len({row.sku for row in sales})}
    except BodyTooLarge:
        return _json(start_response, "413 Payload Too Large",
                     {"ok": False, "error": f"the body is larger than {MAX_PUSH_BYTES // (1024 * 1024)} MiB: "
                                           f"split the push"})
    except PushError as exc:
        return _json(start_response, "400 Bad Request", exc.as_json())
    except Exception:
        log.exception("storing a %s push failed", kind)  # nothing was stored: one transaction
        return _json(start_response, "500 Internal Server Error",
                     {"ok": False, "error": "could not store the push; nothing was changed, try again"})
    return _json(start_response, "200 OK", answer)


TIKTOK_WEBHOOK_PATH = "/webhooks/tiktok"
MAX_WEBHOOK_BYTES = 1024 * 1024


def tiktok_webhook(ctx: AppContext, environ, start_response):
    """POST /webhooks/tiktok: verify, de-duplicate, answer 200 at once; the work runs after."""
    if environ.get("REQUEST_METHOD") != "POST":
        return _json(start_response, "405 Method Not Allowed", {"ok": False, "error": "POST only"})
    team = SINGLE_TEAM
    if ctx.workspaces is not None and ctx.workspaces.oauth:
        # Many workspaces: each gives TikTok its own webhook address, ending ?token=<its push token>.
        token = parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
        team = ctx.workspaces.team_for_push_token(token) if token else None
    if team is None:
        return _json(start_response, "404 Not Found", {"ok": False, "error": "TikTok Shop is not configured"})
    with using_team(team):
        return _tiktok_webhook(ctx, environ, start_response)


def _tiktok_webhook(ctx: AppContext, environ, start_response):
    from bot.sources import SourceError
    from bot.sources.tiktok import parse_webhook, verify_webhook
    from bot.sources.tiktok_source import WEBHOOK_CLOCK_SKEW, WEBHOOK_MAX_AGE, accept_webhook, config_of

    try:
        config = config_of(ctx.checker.settings)
    except SourceError:
        config = None
    if config is None:
        return _json(start_response, "404 Not Found", {"ok": False, "error": "TikTok Shop is not configured"})
    length = _content_length(environ)
    if length > MAX_WEBHOOK_BYTES:
        return _json(start_response, "413 Payload Too Large", {"ok": False, "error": "body larger than 1 MiB"})
    if length <= 0:
        return _json(start_response, "400 Bad Request", {"ok": False, "error": "empty body"})
    body = environ["wsgi.input"].read(length)
    # The signature covers the raw bytes: check it before parsing anything.
    if not verify_webhook(config.app_key, config.app_secret, body, environ.get("HTTP_AUTHORIZATION", "")):
        log.warning("refused a TikTok webhook with a bad signature")
        return _json(start_response, "401 Unauthorized", {"ok": False, "error": "bad signature"})
    try:
        event = parse_webhook(body)
    except ValueError as exc:
        return _json(start_response, "400 Bad Request", {"ok": False, "error": str(exc)})
    now = repo.utcnow()
    # The timestamp is inside the signed body. Refusing old ones bounds how long deliveries
    # must be remembered to spot a replay (TikTok stops retrying well before this).
    age = now.timestamp() - event.timestamp
    if event.timestamp and not -WEBHOOK_CLOCK_SKEW.total_seconds() <= age <= WEBHOOK_MAX_AGE.total_seconds():
        log.warning("refused a TikTok webhook with a stale timestamp (%s)", event.timestamp)
        return _json(start_response, "401 Unauthorized", {"ok": False, "error": "stale timestamp"})
    fresh = accept_webhook(ctx.checker, event, now)
    return _json(start_response, "200 OK", {"ok": True, "duplicate": not fresh})


INVALID_REQUEST = {"error": "invalid request"}


def _handled_already(start_response) -> Iterable[bytes]:
    # An empty 200 is a plain acknowledgement to Slack: it shows nothing and retries nothing.
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


def slack_events(ctx: AppContext, slack_handler: SlackRequestHandler, environ, start_response):
    """POST /slack/events: size, signature, replay and retry checks (bot.slack_guard), then Bolt.
    Work after ack() gives way while requests are on their way here (AppContext.acks)."""
    with ctx.acks.acking():
        # A context of its own: the request's workspace (set once Bolt knows it, bot.app) ends with it.
        return contextvars.copy_context().run(_slack_events, ctx, slack_handler, environ, start_response)


def _slack_events(ctx: AppContext, slack_handler: SlackRequestHandler, environ, start_response):
    length = _content_length(environ)
    if length > slack_guard.SLACK_MAX_BODY_BYTES:
        # Neither read nor logged: only its size is worth knowing.
        log.warning("refused a %d-byte request to %s (limit %d)", length, SLACK_PATH, slack_guard.SLACK_MAX_BODY_BYTES)
        return _json(start_response, "413 Payload Too Large", {"error": "request body too large"})
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not slack_guard.signature_ok(ctx.settings.slack_signing_secret, body,
                                    environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"), signature):
        log.warning("refused a request to %s with a missing, malformed, stale or wrong signature", SLACK_PATH)
        return _json(start_response, "401 Unauthorized", INVALID_REQUEST)
    _record(environ).surface = metrics.slack_surface(body, environ.get("CONTENT_TYPE", ""))
    now = repo.utcnow()
    event_id = slack_guard.event_id_of(body, environ.get("CONTENT_TYPE", ""))
    try:
        if not slack_guard.first_time(ctx.guard_db, slack_guard.signature_key(signature), now):
            log.warning("ignored a signed request to %s sent again (a replay)", SLACK_PATH)
            _record(environ).outcome = "duplicate"
            return _handled_already(start_response)
        if event_id and not slack_guard.first_time(ctx.guard_db, slack_guard.event_key(event_id), now):
            log.info("ignored Slack's retry %s of event %s: handled already",
                     environ.get("HTTP_X_SLACK_RETRY_NUM", "?"), event_id)
            _record(environ).outcome = "duplicate"
            return _handled_already(start_response)
    except Exception as exc:  # the database is down or busy: better to process than to drop what Slack sent
        # One line, not a traceback: under a long SQLite write this happens for many requests in a row.
        log.warning("could not record a Slack request for de-duplication (%s); processing it anyway", logs.brief(exc))
    environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads the body again
    try:
        return slack_handler(environ, start_response)
    except Exception:  # Bolt raises on a signed body it cannot parse (broken JSON, a JSON list).
        # Slack never sends those; answer 400 instead of a 500.
        log.warning("refused an unreadable request to %s", SLACK_PATH)
        return _json(start_response, "400 Bad Request", INVALID_REQUEST)


OAUTH_FAILED_PAGE = (b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Stockbot</title></head><body>"
                     b"<h2>Stockbot could not finish the installation</h2><p>Nothing was installed. Please try "
                     b"again in a minute from the install link.</p></body></html>")


def oauth_endpoint(slack_handler: SlackRequestHandler, environ, start_response):
    """GET /slack/install and /slack/oauth_redirect: Bolt's OAuth flow (bot.app.oauth_settings).
    A bad, expired or forged state gets Bolt's failure page; a database error ours, never a 500 trace."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return _json(start_response, "405 Method Not Allowed", {"error": "GET only"})
    try:
        return slack_handler(environ, start_response)
    except Exception:
        log.exception("the OAuth install step %s failed", environ.get("PATH_INFO"))
        start_response("503 Service Unavailable", [("Content-Type", "text/html; charset=utf-8"),
                                                   ("Content-Length", str(len(OAUTH_FAILED_PAGE)))])
        return [OAUTH_FAILED_PAGE]


REQUEST_KEY = "stockbot.request"  # environ: the request's metrics.RequestRecord
SURFACE_OF_PATH = {SLACK_PATH: "slack", "/api/stock": "push", "/api/sales": "push", TIKTOK_WEBHOOK_PATH: "tiktok_webhook"}


def _record(environ) -> metrics.RequestRecord:
    return environ.get(REQUEST_KEY) or metrics.RequestRecord("slack")


def _tracked(route: Callable, surface: str, environ, start_response) -> Iterable[bytes]:
    """Count the request by surface and outcome, time a Slack request to its ack, and give every
    line logged for it (and for the work it starts after ack) one request_id."""
    started = time.perf_counter()
    record = environ[REQUEST_KEY] = metrics.RequestRecord(surface)

    def recording_start_response(status: str, headers, exc_info=None):
        record.status = int(status[:3])
        return start_response(status, headers, exc_info)

    request_token = logs.request_id.set(logs.new_id())
    record_token = metrics.current_request.set(record)
    try:
        return route(environ, recording_start_response)
    finally:
        metrics.current_request.reset(record_token)
        logs.request_id.reset(request_token)
        metrics.request_done(record, started)


def _metrics_endpoint(scraper: metrics.Scraper, start_response) -> Iterable[bytes]:
    body = scraper.scrape()
    start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(body)))])
    return [body]


def make_wsgi_app(ctx: AppContext, bolt_app: App | None) -> Callable:
    slack_handler = SlackRequestHandler(bolt_app, path=SLACK_PATH) if bolt_app is not None else None
    oauth_flow = bolt_app.oauth_flow if bolt_app is not None else None
    oauth_paths = (oauth_flow.install_path, oauth_flow.redirect_uri_path) if oauth_flow is not None else ()
    # The database gauges are read on the request guard's engine: its own pool and short waits, so a
    # scrape neither queues behind checks nor hangs on a busy database (bot.metrics.DatabaseCollector).
    scraper = metrics.Scraper(ctx.guard_db, ctx.env_settings, ctx.workspaces)

    def application(environ, start_response):
        surface = SURFACE_OF_PATH.get(environ.get("PATH_INFO", ""))
        if surface is not None:
            return _tracked(route, surface, environ, start_response)
        return route(environ, start_response)

    def route(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok, payload = health(ctx)
            return _json(start_response, "200 OK" if ok else "503 Service Unavailable", payload)
        if path == "/metrics" and method in ("GET", "HEAD"):
            return _metrics_endpoint(scraper, start_response)
        if path == TIKTOK_WEBHOOK_PATH:
            return tiktok_webhook(ctx, environ, start_response)
        if path in ("/api/stock", "/api/sales"):
            return push_endpoint(ctx, environ, start_response, path.rsplit("/", 1)[-1])
        if path in oauth_paths:
            return oauth_endpoint(slack_handler, environ, start_response)
        if path == SLACK_PATH and slack_handler is not None:
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            return slack_events(ctx, slack_handler, environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def create_server(wsgi_app: Callable, port: int, host: str = "0.0.0.0"):
    """A waitress server; call .run() to serve and .close() to stop. Port 0 picks a free port."""
    import sys

    from waitress.server import create_server as waitress_server

    # A thread that was waiting (a request back from the database, a socket read) gets the
    # interpreter back within 1 ms instead of 5 while a check or a reply is busy computing:
    # an ack passes through a dozen such waits.
    sys.setswitchinterval(SWITCH_INTERVAL)

    # poll() rather than select(): no 1024-descriptor ceiling, and a close() from another
    # thread (tests, shutdown) does not crash the loop.
    # max_request_body_size: waitress itself stops reading (413) past the largest cap of any route.
    # threads: one per request in flight until its ack (bot.app.LISTENER_WORKERS covers the same 50+).
    return waitress_server(wsgi_app, host=host, port=port, threads=WEB_THREADS, ident="stockbot",
                           asyncore_use_poll=True,
                           max_request_body_size=MAX_PUSH_BYTES)
