"""The workspaces this process serves, and each one's settings and Slack client.

Single-workspace mode (SLACK_BOT_TOKEN set): one workspace, SINGLE_TEAM, with the settings from
the environment and the one bot-token client.

OAuth mode (SLACK_CLIENT_ID …, no bot token): every workspace that installed the app through
/slack/install. Its bot token is in Bolt's installation store (slack_sdk's SQLAlchemy store, in the
app's own database); its settings are the environment's overlaid with what its admins set with
`/stockbot config` (table workspace_setting, secrets Fernet-encrypted under STOCKBOT_SECRET_KEY).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets as random_source
import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Iterable, Optional

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import and_, delete, desc, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot import vault
from bot.config import Settings
from bot.core import workspace_config as wc
from bot.tenancy import SINGLE_TEAM, current_team, team_key
from storage import models, repo
from storage.db import session as open_session

log = logging.getLogger(__name__)

PUSH_TOKEN_KEY = wc.PUSH_TOKEN  # the stored key of a workspace's push token
STATE_KEY_PREFIX = "oauth-state:"
STATE_EXPIRES_SECONDS = 600  # the installer has ten minutes between /slack/install and Slack's redirect back


class WorkspaceNotInstalled(LookupError):
    """The workspace has no bot token here: never installed, uninstalled or its token revoked."""

    def __init__(self, team: str) -> None:
        super().__init__(f"workspace {team!r} is not installed (or was uninstalled): install it through /slack/install")
        self.team = team


class InstallationStore(SQLAlchemyInstallationStore):
    """Bolt's SQLAlchemy installation store on the app's engine, with its tables registered on the
    app's metadata (storage.models) so init_db and the migrations create them."""

    def __init__(self, client_id: str, engine: Engine) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.metadata = SQLModel.metadata
        self.installations = models.slack_installations
        self.bots = models.slack_bots


class SignedStateStore(OAuthStateStore):
    """The OAuth `state`, signed with SLACK_STATE_SECRET (HMAC-SHA256): `nonce.expires.signature`.

    Nothing is stored when an install starts, so a replica other than the one that issued the state
    can finish the install. The signature stops a forged state, `expires` an old one (ten minutes),
    and the nonce is recorded once consumed (the request de-duplication table, shared by replicas),
    so one state installs once. Bolt also checks the state against the cookie it set in the
    installer's browser."""

    def __init__(self, secret: str, engine: Engine, expiration_seconds: int = STATE_EXPIRES_SECONDS) -> None:
        self._secret = secret.encode()
        self._engine = engine
        self.expiration_seconds = expiration_seconds
        self._logger = logging.getLogger(__name__)

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def issue(self, *args, **kwargs) -> str:
        payload = f"{random_source.token_urlsafe(18)}.{int(time.time()) + self.expiration_seconds}"
        return f"{payload}.{self._sign(payload)}"

    def consume(self, state: str) -> bool:
        parts = (state or "").split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return False
        nonce, expires, signature = parts
        if not hmac.compare_digest(self._sign(f"{nonce}.{expires}").encode(), signature.encode()):
            log.warning("refused an OAuth redirect with a forged state")
            return False
        if int(expires) < time.time():
            log.info("refused an OAuth redirect with an expired state")
            return False
        now = repo.utcnow()
        with open_session(self._engine) as session:
            repo.forget_deliveries(session, now - timedelta(seconds=2 * self.expiration_seconds), STATE_KEY_PREFIX)
            if not repo.record_delivery(session, STATE_KEY_PREFIX + nonce, now):
                log.warning("refused an OAuth redirect whose state was used already")
                return False
        return True


# How long one process trusts a workspace's settings it has read: the check asks for them per SKU, and
# each read costs queries and decryption. `/stockbot config` in this process clears them at once;
# another replica sees a change within this time.
SETTINGS_FRESH_SECONDS = 5.0


class Workspaces:
    def __init__(self, settings: Settings, client, engine: Optional[Engine] = None) -> None:
        """`client`: the bot-token Slack client (bot.notifier.make_web_client) of single-workspace mode;
        in OAuth mode the token-less client whose base URL and timeouts each workspace's client copies.
        `engine`: the app's database (OAuth mode: installations and workspace settings live there)."""
        self.settings = settings
        self._client = client
        self._engine = engine
        self.oauth = settings.oauth_mode
        if self.oauth and engine is None:
            raise ValueError("OAuth mode needs the database engine")
        self.installation_store = InstallationStore(settings.slack_client_id, engine) if self.oauth else None
        self._clients: dict[str, object] = {}  # bot token -> its paced client (one 429 gate per workspace)
        self._clients_lock = threading.Lock()
        self._settings_read: dict[str, tuple[float, Settings]] = {}  # team -> (monotonic time read, its settings)

    # ---- the three calls everything else uses -------------------------------------------------

    def teams(self) -> list[str]:
        """Every workspace whose stock this process checks."""
        if not self.oauth:
            return [SINGLE_TEAM]
        return sorted({key for key, _ in self._installed_bots()})

    def settings_for(self, team: str | None = None) -> Settings:
        """The settings `team` (default: the current team, bot.tenancy.current_team) works with."""
        if not self.oauth:
            return self.settings
        team = current_team() if team is None else team
        if team == SINGLE_TEAM:
            return self.settings
        with self._clients_lock:
            known = self._settings_read.get(team)
        if known is not None and time.monotonic() - known[0] < SETTINGS_FRESH_SECONDS:
            return known[1]
        read_at = time.monotonic()
        found = self._overlay(team, self._stored(team))
        with self._clients_lock:
            self._settings_read[team] = (read_at, found)
        return found

    def _settings_changed(self, team: str) -> None:
        with self._clients_lock:
            self._settings_read.pop(team, None)

    def client_for(self, team: str | None = None):
        """The Slack client that speaks for `team` (default: the current team). OAuth mode: that
        workspace's bot token; WorkspaceNotInstalled when it has none."""
        if not self.oauth:
            return self._client
        team = current_team() if team is None else team
        token = self.bot_token(team)
        if not token:
            raise WorkspaceNotInstalled(team)
        return self.client_for_token(token)

    # ---- OAuth mode -----------------------------------------------------------------------------

    def client_for_token(self, token: str):
        """One paced client per bot token, kept: its Retry-After gate covers every call made with it."""
        from bot.notifier import make_web_client

        with self._clients_lock:
            client = self._clients.get(token)
            if client is None:
                client = self._clients[token] = make_web_client(token, self.settings.slack_api_url)
            return client

    def bot_token(self, team: str) -> Optional[str]:
        for key, token in self._installed_bots():
            if key == team:
                return token
        return None

    def _installed_bots(self) -> list[tuple[str, str]]:
        """(team key, bot token) per installed workspace, the newest install first."""
        bots = models.slack_bots
        query = (select(bots.c.team_id, bots.c.enterprise_id, bots.c.is_enterprise_install, bots.c.bot_token)
                 .where(and_(bots.c.client_id == self.settings.slack_client_id, bots.c.bot_token.is_not(None)))
                 .order_by(desc(bots.c.installed_at), desc(bots.c.id)))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        found: dict[str, str] = {}
        for team_id, enterprise_id, org_wide, token in rows:
            found.setdefault(team_key(team_id, enterprise_id, bool(org_wide)), token)
        return list(found.items())

    def installer(self, team: str) -> Optional[str]:
        """The user who installed the app in `team` most recently (the first admin until admins are set)."""
        installs = models.slack_installations
        query = (select(installs.c.team_id, installs.c.enterprise_id, installs.c.is_enterprise_install,
                        installs.c.user_id)
                 .where(installs.c.client_id == self.settings.slack_client_id)
                 .order_by(desc(installs.c.installed_at), desc(installs.c.id)))
        with self._engine.connect() as conn:
            for team_id, enterprise_id, org_wide, user_id in conn.execute(query):
                if team_key(team_id, enterprise_id, bool(org_wide)) == team:
                    return user_id
        return None

    def team_for_push_token(self, token: str) -> Optional[str]:
        """The workspace a push with this bearer token belongs to (OAuth mode), or None."""
        if not self.oauth or not token:
            return None
        setting = models.WorkspaceSetting
        with open_session(self._engine) as session:
            rows = session.execute(select(setting.team_id, setting.value)
                                .where(setting.key == PUSH_TOKEN_KEY, setting.value_hash == vault.digest(token))).all()
        for team, stored in rows:
            try:
                if hmac.compare_digest(vault.decrypt(self.settings.secret_key, stored).encode(), token.encode()):
                    return team
            except vault.SecretUnreadable:
                log.warning("workspace %s: its push token does not decrypt with STOCKBOT_SECRET_KEY", team)
        return None

    # ---- stored settings ------------------------------------------------------------------------

    def _stored(self, team: str) -> dict[str, str]:
        """The workspace's stored settings, secrets decrypted (one that does not decrypt is left out)."""
        setting = models.WorkspaceSetting
        with open_session(self._engine) as session:
            rows = session.execute(select(setting.key, setting.value, setting.secret).where(setting.team_id == team)).all()
        values = {}
        for key, value, secret in rows:
            if secret:
                try:
                    value = vault.decrypt(self.settings.secret_key, value)
                except vault.SecretUnreadable:
                    log.warning("workspace %s: setting %s does not decrypt with STOCKBOT_SECRET_KEY", team, key)
                    continue
            values[key] = value
        return values

    def _overlay(self, team: str, stored: dict[str, str]) -> Settings:
        base = self.settings
        # Channel ids belong to one workspace: the environment's ALERT_CHANNEL, OPS_CHANNEL and
        # PURCHASE_CHANNEL are the operator's and mean nothing in another workspace. Until its admin sets
        # them (`/stockbot config alert-channel …`) a workspace's alerts wait, unposted, for a channel.
        changes: dict = {"alert_channel": stored.get("alert_channel", ""),
                         "ops_channel": stored.get("ops_channel", ""), "purchase_channel": ""}
        if "language" in stored:
            changes["language"] = stored["language"]
        if "lead_days" in stored:
            changes["lead_days_domestic"] = int(stored["lead_days"])
        if "overseas_lead_days" in stored:
            changes["lead_days_overseas"] = int(stored["overseas_lead_days"])
        admins = frozenset(u for u in stored.get("admins", "").split(",") if u)
        if not admins:
            # Until admins are set, the user who installed the app is the one admin: a workspace's
            # settings are never open to everyone in it.
            installer = self.installer(team)
            admins = frozenset({installer}) if installer else base.threshold_admins
        changes["threshold_admins"] = admins
        # The environment's push token, TikTok shop and stock file or ERP query are the operator's, not any
        # workspace's: a workspace's stock comes from its own pushes, TikTok shop and files shared in Slack.
        changes["stock_source"] = ""
        changes["stock_sql_url"] = ""
        changes["stock_sql_query"] = ""
        changes["stock_push_token"] = stored.get(PUSH_TOKEN_KEY, "")
        changes["tiktok_env"] = tuple(sorted((key[len(wc.TIKTOK_PREFIX):], value) for key, value in stored.items()
                                             if key.startswith(wc.TIKTOK_PREFIX)))
        return replace(base, **changes)

    def stored_settings(self, team: str) -> dict[str, str]:
        """What `/stockbot config` shows: the workspace's stored settings (secrets decrypted: mask them)."""
        return self._stored(team)

    def configure(self, team: str, values: dict[str, Optional[str]], user: str) -> None:
        """Store (or, for None, remove) these settings of `team`, in one transaction."""
        setting = models.WorkspaceSetting
        now = repo.utcnow()
        with open_session(self._engine) as session:
            for key, value in values.items():
                session.execute(delete(setting).where(setting.team_id == team, setting.key == key))
                if value is None:
                    continue
                secret = wc.is_secret(key)
                stored = vault.encrypt(self.settings.secret_key, value) if secret else value
                session.add(setting(team_id=team, key=key, value=stored, secret=secret,
                                    value_hash=vault.digest(value) if key == PUSH_TOKEN_KEY else None,
                                    updated_by=user, updated_at=now))
            session.commit()
        self._settings_changed(team)

    def remove_prefixed(self, team: str, prefix: str) -> list[str]:
        keys = [key for key in self._stored_keys(team) if key.startswith(prefix)]
        self.configure(team, {key: None for key in keys}, "")
        return keys

    def _stored_keys(self, team: str) -> Iterable[str]:
        setting = models.WorkspaceSetting
        with open_session(self._engine) as session:
            return list(session.execute(select(setting.key).where(setting.team_id == team)).scalars())

    def forget_credentials(self, team: str) -> None:
        """An uninstall or a token revocation: the workspace's stored secrets (push token, TikTok) go
        with its Slack tokens, so a push with its old token is refused. Its stock data stays."""
        setting = models.WorkspaceSetting
        with open_session(self._engine) as session:
            session.execute(delete(setting).where(setting.team_id == team, setting.secret.is_(True)))
            session.commit()
        self._settings_changed(team)
        self.drop_clients()

    def drop_clients(self) -> None:
        """Forget the cached clients (a revoked token's client must not be handed out again)."""
        with self._clients_lock:
            self._clients.clear()
