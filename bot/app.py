"""Wiring: settings + database + Slack client -> a Bolt app with its listeners."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Optional

from slack_bolt import App, BoltResponse
from sqlalchemy.engine import Engine

from bot import purchases, slack_guard  # noqa: F401  (purchases: registers its outbox kinds)
from bot.checker import Checker
from bot.config import Settings
from bot.context import AppContext
from bot.i18n import t
from bot.listeners import register_listeners
from bot.notifier import Notifier, SlackNotifier, make_web_client
from storage import repo
from storage.db import init_db, make_engine

log = logging.getLogger(__name__)

# A listener only parses, calls ack() and hands what follows to BACKGROUND_WORKERS threads
# (AppContext.after_ack), so a request's ack never waits behind another's slow Slack call, database
# query or check. Listeners run in the request's waitress thread (bot.web.WEB_THREADS); Bolt's own
# pool (LISTENER_WORKERS) is left for lazy listeners. Each covers 50 concurrent requests with room.
LISTENER_WORKERS = 64
BACKGROUND_WORKERS = 64


def build_context(settings: Settings, engine: Optional[Engine] = None,
                  notifier: Optional[Notifier] = None) -> AppContext:
    """The parts that work without a Slack app (the checker for `stockbot check` and `worker`)."""
    if engine is None:
        engine = make_engine(settings.database_url)
        init_db(engine)
    if notifier is None:
        notifier = SlackNotifier(make_web_client(settings.slack_bot_token, settings.slack_api_url))
    return AppContext(settings=settings, engine=engine, checker=Checker(engine, settings, notifier))


def build_app(settings: Settings, engine: Optional[Engine] = None,
              listener_executor: Optional[Executor] = None,
              background_executor: Optional[Executor] = None) -> tuple[App, AppContext]:
    """The Bolt app and its context. `listener_executor` is where Bolt runs listeners (up to their
    ack()), `background_executor` where their work after ack() runs (default: pools of
    LISTENER_WORKERS and BACKGROUND_WORKERS threads); tests pass ones they can wait on."""
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    ctx = build_context(settings, engine, SlackNotifier(client))
    ctx.background = background_executor or ThreadPoolExecutor(BACKGROUND_WORKERS, thread_name_prefix="after-ack")
    ctx.guard_engine = slack_guard.guard_engine(ctx.engine.url.render_as_string(hide_password=False))
    listener_executor = listener_executor or ThreadPoolExecutor(LISTENER_WORKERS, thread_name_prefix="listener")
    app = App(
        # Named here: without a name Bolt walks the whole call stack (inspect.stack) to name the app after
        # the calling file, ~30 ms of every start (each test starts the app, and so does a web process).
        name="stockbot",
        client=client,
        signing_secret=settings.slack_signing_secret,
        # Verified at startup (auth.test) so a wrong token fails fast and loudly.
        token_verification_enabled=True,
        # Listeners run in the request's own (waitress) thread and only parse, ack() and hand their
        # work to ctx.background (AppContext.after_ack): the answer goes back the moment they return,
        # with no hop to another pool and no polling for the ack (Bolt polls every 10 ms otherwise).
        process_before_response=True,
        listener_executor=listener_executor,
    )

    @app.middleware
    def paced_client(context, next):
        # Bolt builds a plain WebClient per request; listeners get ours, whose every call waits out a
        # 429's Retry-After together with the checker's posts.
        context["client"] = client
        next()

    if settings.socket_mode:
        # Over HTTP, bot.web drops Slack's event retries before Bolt; over the websocket they
        # arrive here (same event_id, retry_attempt > 0) and are acknowledged without a second run.
        @app.middleware
        def once_per_event(body, next):
            event_id = body.get("event_id") if isinstance(body, dict) else None
            if isinstance(event_id, str) and event_id and not _first_time(slack_guard.event_key(event_id[:100])):
                log.info("ignored Slack's retry of event %s: handled already", event_id[:100])
                return BoltResponse(status=200, body="")
            next()

    def _first_time(key: str) -> bool:
        try:
            return slack_guard.first_time(ctx.guard_db, key, repo.utcnow())
        except Exception as exc:  # the database is down or busy: better to process than to drop what Slack sent
            log.warning("could not record a Slack event for de-duplication (%s: %s); processing it anyway",
                        exc.__class__.__name__, str(exc).splitlines()[0][:120] if str(exc) else "")
            return True

    @app.error
    def on_error(error, body, logger):
        # Never a 500 for Slack: log the cause (not the payload) and answer 200 with an apology
        # the user can see; anything not yet committed was rolled back with its session.
        logger.error("listener error: %s (%s)", error, type(error).__name__, exc_info=error)
        if isinstance(body, dict) and body.get("command"):
            return BoltResponse(status=200, body={"response_type": "ephemeral",
                                                  "text": t(settings.language, "reply.internal_error")})
        return BoltResponse(status=200, body="")

    register_listeners(app, ctx)
    return app, ctx
