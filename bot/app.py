"""Wiring: settings + database + Slack client -> a Bolt app with its listeners."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Optional

from slack_bolt import App, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from sqlalchemy.engine import Engine

from bot import logs, metrics, purchases, slack_guard  # noqa: F401  (purchases: registers its outbox kinds)
from bot.checker import Checker
from bot.config import Settings
from bot.context import AppContext
from bot.i18n import t
from bot.listeners import register_listeners
from bot.notifier import Notifier, SlackNotifier, make_web_client
from bot.tenancy import enter_team, team_key
from bot.workspaces import SignedStateStore, Workspaces
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
        init_db(engine, auto_migrate=settings.auto_migrate)
    client = notifier.client if isinstance(notifier, SlackNotifier) else None
    if client is None:
        client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    if notifier is None:
        notifier = SlackNotifier(client)
    workspaces = Workspaces(settings, client, engine)
    # The checker serves every workspace: each one's settings and client come from `workspaces`.
    return AppContext(env_settings=settings, engine=engine,
                      checker=Checker(engine, settings, notifier, workspaces=workspaces), workspaces=workspaces)


# The bot scopes of manifest.yml (kept equal by tests/test_oauth.py): what /slack/install asks Slack for.
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "channels:read", "groups:read", "files:read",
              "files:write", "im:history", "channels:history", "groups:history")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def oauth_settings(settings: Settings, ctx: AppContext) -> OAuthSettings:
    """Install to many workspaces: Slack's OAuth v2 flow, installations in the app's own database."""
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        # Straight on to Slack's consent page (a 302), no "Add to Slack" page of ours in between.
        install_page_rendering_enabled=False,
        installation_store=ctx.workspaces.installation_store,
        installation_store_bot_only=True,  # bot tokens only: Stockbot asks for no user scopes
        state_store=SignedStateStore(settings.slack_state_secret, ctx.engine),
    )


def build_app(settings: Settings, engine: Optional[Engine] = None,
              listener_executor: Optional[Executor] = None,
              background_executor: Optional[Executor] = None) -> tuple[App, AppContext]:
    """The Bolt app and its context. `listener_executor` is where Bolt runs listeners (up to their
    ack()), `background_executor` where their work after ack() runs (default: pools of
    LISTENER_WORKERS and BACKGROUND_WORKERS threads); tests pass ones they can wait on."""
    # OAuth mode: no token here; each request gets its workspace's client (Workspaces.client_for_token).
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    ctx = build_context(settings, engine, SlackNotifier(client))
    ctx.background = background_executor or ThreadPoolExecutor(BACKGROUND_WORKERS, thread_name_prefix="after-ack")
    ctx.guard_engine = slack_guard.guard_engine(ctx.engine.url.render_as_string(hide_password=False))
    listener_executor = listener_executor or ThreadPoolExecutor(LISTENER_WORKERS, thread_name_prefix="listener")
    if settings.oauth_mode:
        oauth = oauth_settings(settings, ctx)
        mode: dict = dict(
            oauth_settings=oauth,
            # Bolt's own authorize, with its auth.test answer kept per token: a request costs one
            # indexed lookup of its workspace's bot, not a round trip to Slack before its ack.
            # An uninstalled workspace's bot row is gone, so the kept answer is never reached.
            authorize=InstallationStoreAuthorize(
                client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                installation_store=oauth.installation_store, bot_only=True, cache_enabled=True, client=client,
                logger=logging.getLogger("slack_bolt.authorize")))
    else:
        # Verified at startup (auth.test) so a wrong token fails fast and loudly.
        mode = dict(token_verification_enabled=True)
    app = App(
        # Named here: without a name Bolt walks the whole call stack (inspect.stack) to name the app after
        # the calling file, ~30 ms of every start (each test starts the app, and so does a web process).
        name="stockbot",
        client=client,
        signing_secret=settings.slack_signing_secret,
        **mode,
        # Listeners run in the request's own (waitress) thread and only parse, ack() and hand their
        # work to ctx.background (AppContext.after_ack): the answer goes back the moment they return,
        # with no hop to another pool and no polling for the ack (Bolt polls every 10 ms otherwise).
        process_before_response=True,
        listener_executor=listener_executor,
    )

    @app.middleware
    def paced_client(context, next):
        # Bolt builds a plain WebClient per request; listeners get ours, whose every call waits out a
        # 429's Retry-After together with the checker's posts. OAuth mode: the workspace's own client
        # (one per bot token), and the request runs as that workspace's work (bot.tenancy).
        if not settings.oauth_mode:
            context["client"] = client
            return next()
        if context.bot_token:
            context["client"] = ctx.workspaces.client_for_token(context.bot_token)
        # Bolt calls the listener after this returns: the team is set for the rest of this request's
        # context (bot.web.slack_events gives each request a context of its own).
        enter_team(team_key(context.team_id, context.enterprise_id, bool(context.is_enterprise_install)))
        return next()

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
            log.warning("could not record a Slack event for de-duplication (%s); processing it anyway",
                        logs.brief(exc))
            return True

    @app.error
    def on_error(error, body, logger):
        # Never a 500 for Slack: log the cause (not the payload) and answer 200 with an apology
        # the user can see; anything not yet committed was rolled back with its session.
        logger.error("listener error: %s (%s)", error, type(error).__name__, exc_info=error)
        metrics.request_failed()
        if isinstance(body, dict) and body.get("command"):
            return BoltResponse(status=200, body={"response_type": "ephemeral",
                                                  "text": t(settings.language, "reply.internal_error")})
        return BoltResponse(status=200, body="")

    register_listeners(app, ctx)
    return app, ctx
