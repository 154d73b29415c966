"""Settings read from the environment (and `.env`, through python-dotenv).

Every name here is part of the operating contract documented in README.md and
`.env.example`; other deployments and checks rely on them, so keep them exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timezone as dt_timezone
from datetime import tzinfo
from typing import Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.forecast import LEAD_DAYS_DOMESTIC, LEAD_DAYS_OVERSEAS
from bot.core.quiet import QuietHours, parse_quiet_hours

DEFAULT_DATABASE_URL = "sqlite:///stockbot.db"
DEFAULT_CHECK_INTERVAL_SECONDS = 900
DEFAULT_REMIND_AFTER_HOURS = 24.0
DEFAULT_DIGEST_AFTER = 5
DEFAULT_CHANNEL_PACE_SECONDS = 1.0
DEFAULT_SMS_API_URL = "https://api.twilio.com"
SUPPORTED_LANGUAGES = ("en", "zh")


class ConfigError(ValueError):
    """A setting is present but unusable; the message names the variable, never its value."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    alert_channel: str = ""
    stock_source: str = ""
    check_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS
    remind_after_hours: float = DEFAULT_REMIND_AFTER_HOURS
    threshold_admins: frozenset[str] = field(default_factory=frozenset)
    # Who may `/stock set` and import files through Slack; empty = everyone. Admins always may.
    stock_editors: frozenset[str] = field(default_factory=frozenset)
    port: int = 3000
    run_scheduler: bool = True
    # Start by upgrading the database to this release's schema (storage/schema.py); false: refuse to start
    # on a database that is not at it (`stockbot db upgrade` does it, after a backup).
    auto_migrate: bool = True
    language: str = "en"
    ops_channel: str = ""  # source failures and recoveries; default ALERT_CHANNEL
    stock_push_token: str = ""  # Bearer token for POST /api/stock and /api/sales; unset = push is off
    stock_sql_url: str = ""
    stock_sql_query: str = ""
    stock_columns: str = ""  # header mapping for exports, e.g. "sku=货品编号,available=可用"
    # TIKTOK_* variables as given; bot.sources.tiktok turns them into shops (kept raw here so
    # configuration errors are reported by the source, in Slack, rather than stopping the bot).
    tiktok_env: tuple[tuple[str, str], ...] = ()
    # Warehouses that restock from overseas (weeks, not days): their SKUs default to the long lead time.
    overseas_warehouses: frozenset[str] = field(default_factory=frozenset)
    auto_recompute_hour: int = 2  # UTC hour of the nightly auto-threshold recompute
    # QUIET_HOURS (e.g. 22-08), read on the wall clock of `timezone` (TZ): WARNING alerts and
    # reminders wait until they end. None: off.
    # More SKUs than this entering one tier for one channel in one check: one digest message instead.
    digest_after: int = DEFAULT_DIGEST_AFTER
    # Seconds between messages posted to one channel (Slack asks for about one a second).
    channel_pace_seconds: float = DEFAULT_CHANNEL_PACE_SECONDS
    # E-mail (bot/mailer.py): smtp://user:pass@host:587 (STARTTLS) or smtps://…:465; the sender address.
    smtp_url: str = ""
    smtp_from: str = ""
    # SMS (bot/notify): a Twilio-compatible Messages API, its account SID and token, the sender number.
    sms_api_url: str = DEFAULT_SMS_API_URL
    sms_account_sid: str = ""
    sms_auth_token: str = ""
    sms_from: str = ""
    # Where the chat robots' webhooks live (scheme://host): `/notify add` accepts robot URLs there only.
    dingtalk_api_url: str = ""
    wecom_api_url: str = ""
    feishu_api_url: str = ""
    quiet_hours: Optional[QuietHours] = None
    timezone: str = ""  # an IANA name; empty: UTC
    # Purchase requests (bot/purchases.py): where they are posted (default ALERT_CHANNEL), who may
    # approve them (empty: everyone), where approved POs are POSTed as JSON, and the buyer's name on a PO.
    purchase_channel: str = ""
    purchase_approvers: frozenset[str] = field(default_factory=frozenset)
    purchase_webhook_url: str = ""
    seller_name: str = "Stockbot"
    # Lead-time defaults for a SKU with none of its own or its supplier's (bot.planning.lead_days_for).
    lead_days_domestic: int = LEAD_DAYS_DOMESTIC
    lead_days_overseas: int = LEAD_DAYS_OVERSEAS
    # Install to many workspaces (OAuth, bot/workspaces.py): the app's credentials, the secret that signs
    # the OAuth state, and the Fernet key that encrypts each workspace's push token and TikTok secrets.
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_state_secret: str = ""
    secret_key: str = ""

    @property
    def oauth_mode(self) -> bool:
        """Many workspaces install the app through /slack/install; no bot token in the environment."""
        return bool(self.slack_client_id) and not self.slack_bot_token
    # LOG_FORMAT: "plain" lines (default) or "json", one object per line (bot/logs.py).
    log_format: str = "plain"

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone) if self.timezone else dt_timezone.utc

    @property
    def notify_hosts(self) -> dict[str, tuple[str, ...]]:
        """Where `/notify add` accepts each robot's webhook URL (bot.core.notify.DEFAULT_HOSTS unless set)."""
        from bot.core.notify import DEFAULT_HOSTS

        hosts = dict(DEFAULT_HOSTS)
        for kind, url in (("dingtalk", self.dingtalk_api_url), ("wecom", self.wecom_api_url),
                          ("feishu", self.feishu_api_url)):
            if url:
                hosts[kind] = (url.rstrip("/"),)
        return hosts

    @property
    def ops_channel_or_alerts(self) -> str:
        return self.ops_channel or self.alert_channel

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def is_admin(self, user_id: str) -> bool:
        """Unset THRESHOLD_ADMINS means everyone may change thresholds and record reorders."""
        return not self.threshold_admins or user_id in self.threshold_admins

    @property
    def purchase_channel_or_alerts(self) -> str:
        return self.purchase_channel or self.alert_channel

    def may_approve_purchase(self, user_id: str) -> bool:
        """Unset PURCHASE_APPROVERS means everyone may approve or reject purchase requests."""
        return not self.purchase_approvers or user_id in self.purchase_approvers

    def may_edit_stock(self, user_id: str) -> bool:
        """Unset STOCK_EDITORS means everyone may; the users in THRESHOLD_ADMINS always may."""
        return not self.stock_editors or user_id in self.stock_editors or user_id in self.threshold_admins

    def __repr__(self) -> str:  # never print secrets, even by accident in a traceback
        return (
            f"Settings(database_url={_redact_url(self.database_url)!r}, alert_channel={self.alert_channel!r}, "
            f"stock_source={self.stock_source!r}, socket_mode={self.socket_mode}, oauth_mode={self.oauth_mode}, "
            f"port={self.port})"
        )


def _redact_url(url: str) -> str:
    """Hide a password in a database URL (postgresql://user:secret@host/db)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def normalize_database_url(url: str) -> str:
    """Accept the URLs PaaS providers hand out (postgres://...) and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, unit: str = "hours") -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of {unit}, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0, got {raw!r}")
    return value


def _http_url(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if raw and not raw.lower().startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    return raw


def _quiet_hours(env: Mapping[str, str]) -> tuple[Optional[QuietHours], str]:
    """QUIET_HOURS and the TZ it is read in. TZ is only checked when quiet hours are on: nothing
    else reads it, so an install that sets it for other reasons is never stopped by it."""
    try:
        quiet = parse_quiet_hours(env.get("QUIET_HOURS", ""))
    except ValueError as exc:
        raise ConfigError(f"QUIET_HOURS is not a time window ({exc})") from None
    name = env.get("TZ", "").strip().lstrip(":")
    if quiet is None or not name:
        return quiet, ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "America"
        raise ConfigError("TZ must be an IANA time zone name such as Asia/Shanghai or America/New_York "
                          "(QUIET_HOURS is read on its clock)") from None
    return quiet, name


OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET")


def _oauth(env: Mapping[str, str]) -> tuple[str, str, str, str]:
    """SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and STOCKBOT_SECRET_KEY: all three
    Slack ones or none, never next to SLACK_BOT_TOKEN, and a valid Fernet key with them."""
    values = {name: env.get(name, "").strip() for name in OAUTH_VARIABLES}
    secret_key = env.get("STOCKBOT_SECRET_KEY", "").strip()
    given = [name for name, value in values.items() if value]
    if not given:
        return "", "", "", secret_key
    if env.get("SLACK_BOT_TOKEN", "").strip():
        raise ConfigError(f"SLACK_BOT_TOKEN and {', '.join(given)} are both set: keep SLACK_BOT_TOKEN for one "
                          f"workspace, or remove it and install to many workspaces through /slack/install")
    missing = [name for name in OAUTH_VARIABLES if not values[name]]
    if missing:
        raise ConfigError(f"installing to many workspaces (OAuth) needs {', '.join(OAUTH_VARIABLES)}; "
                          f"{', '.join(missing)} is not set")
    if not secret_key:
        raise ConfigError("STOCKBOT_SECRET_KEY must be set when installing to many workspaces (OAuth): it encrypts "
                          "each workspace's push token and TikTok secrets. Generate one with: python -c \"from "
                          "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"")
    from bot.vault import valid_key

    if not valid_key(secret_key):
        raise ConfigError("STOCKBOT_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes); generate one "
                          "with Fernet.generate_key()")
    return values["SLACK_CLIENT_ID"], values["SLACK_CLIENT_SECRET"], values["SLACK_STATE_SECRET"], secret_key
def _log_format(env: Mapping[str, str]) -> str:
    value = env.get("LOG_FORMAT", "").strip().lower() or "plain"
    if value not in ("plain", "json"):
        raise ConfigError("LOG_FORMAT must be plain or json")
    return value


def load_settings(env: Mapping[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build Settings from `env` (default: os.environ after loading `.env`)."""
    if env is None:
        if dotenv:
            from dotenv import load_dotenv

            # Real environment variables win over .env, as on every PaaS.
            load_dotenv(override=False)
        env = os.environ
    language = env.get("STOCKBOT_LANG", "en").strip().lower() or "en"
    if language.startswith("zh"):
        language = "zh"
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(f"STOCKBOT_LANG must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    admins = frozenset(a.strip() for a in env.get("THRESHOLD_ADMINS", "").split(",") if a.strip())
    editors = frozenset(e.strip() for e in env.get("STOCK_EDITORS", "").split(",") if e.strip())
    quiet_hours, timezone = _quiet_hours(env)
    client_id, client_secret, state_secret, secret_key = _oauth(env)
    return Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        slack_api_url=env.get("SLACK_API_URL", "").strip(),
        database_url=normalize_database_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL),
        alert_channel=env.get("ALERT_CHANNEL", "").strip(),
        stock_source=env.get("STOCK_SOURCE", "").strip(),
        check_interval_seconds=_int(env, "CHECK_INTERVAL_SECONDS", DEFAULT_CHECK_INTERVAL_SECONDS, 10),
        remind_after_hours=_float(env, "REMIND_AFTER_HOURS", DEFAULT_REMIND_AFTER_HOURS),
        threshold_admins=admins,
        stock_editors=editors,
        port=_int(env, "PORT", 3000, 0),
        run_scheduler=env.get("RUN_SCHEDULER", "true").strip().lower() not in ("false", "0", "no", "off"),
        auto_migrate=env.get("AUTO_MIGRATE", "true").strip().lower() not in ("false", "0", "no", "off"),
        language=language,
        ops_channel=env.get("OPS_CHANNEL", "").strip(),
        stock_push_token=env.get("STOCK_PUSH_TOKEN", "").strip(),
        stock_sql_url=env.get("STOCK_SQL_URL", "").strip(),
        stock_sql_query=env.get("STOCK_SQL_QUERY", "").strip(),
        stock_columns=env.get("STOCK_COLUMNS", "").strip(),
        tiktok_env=tuple(sorted((k, v) for k, v in env.items() if k.startswith("TIKTOK_"))),
        overseas_warehouses=frozenset(w.strip() for w in env.get("OVERSEAS_WAREHOUSES", "").split(",") if w.strip()),
        auto_recompute_hour=min(23, _int(env, "AUTO_RECOMPUTE_HOUR", 2, 0)),
        quiet_hours=quiet_hours,
        timezone=timezone,
        digest_after=_int(env, "DIGEST_AFTER", DEFAULT_DIGEST_AFTER, 1),
        smtp_url=env.get("SMTP_URL", "").strip(),
        smtp_from=env.get("SMTP_FROM", "").strip(),
        sms_api_url=env.get("SMS_API_URL", "").strip() or DEFAULT_SMS_API_URL,
        sms_account_sid=env.get("SMS_ACCOUNT_SID", "").strip(),
        sms_auth_token=env.get("SMS_AUTH_TOKEN", "").strip(),
        sms_from=env.get("SMS_FROM", "").strip(),
        dingtalk_api_url=env.get("DINGTALK_API_URL", "").strip(),
        wecom_api_url=env.get("WECOM_API_URL", "").strip(),
        feishu_api_url=env.get("FEISHU_API_URL", "").strip(),
        purchase_channel=env.get("PURCHASE_CHANNEL", "").strip(),
        purchase_approvers=frozenset(a.strip() for a in env.get("PURCHASE_APPROVERS", "").split(",") if a.strip()),
        purchase_webhook_url=_http_url(env, "PURCHASE_WEBHOOK_URL"),
        seller_name=env.get("SELLER_NAME", "").strip() or "Stockbot",
        log_format=_log_format(env),
        channel_pace_seconds=min(60.0, _float(env, "SLACK_CHANNEL_PACE_SECONDS", DEFAULT_CHANNEL_PACE_SECONDS,
                                              "seconds")),
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        slack_state_secret=state_secret,
        secret_key=secret_key,
    )
