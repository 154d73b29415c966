"""`/stockbot config …`: a workspace's own settings in OAuth mode. Parsing and masking only (pure).

Stored keys (bot/workspaces.py, table workspace_setting):
  alert_channel, ops_channel, admins (comma-separated user ids), language, lead_days,
  overseas_lead_days, push_token (secret), tiktok.TIKTOK_* (the TikTok source's variables;
  the app secret and tokens are secret).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from bot.core.commands import CommandError, _tokens, parse_channel, parse_days

MAX_LEAD_DAYS = 365
MAX_ADMINS = 50
TIKTOK_PREFIX = "tiktok."
LANGUAGES = ("en", "zh")
_USER_MENTION_RE = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{6,}$")
_TIKTOK_VALUE_RE = re.compile(r"^[\x21-\x7e]{1,512}$")  # printable ASCII, no spaces: keys, ciphers, tokens

# `/stockbot config tiktok <option> <value> …`: the option and the TIKTOK_* variable it sets.
TIKTOK_OPTIONS = {
    "app-key": "TIKTOK_APP_KEY",
    "app-secret": "TIKTOK_APP_SECRET",
    "shop-cipher": "TIKTOK_SHOP_CIPHER",
    "access-token": "TIKTOK_ACCESS_TOKEN",
    "refresh-token": "TIKTOK_REFRESH_TOKEN",
    "shop-name": "TIKTOK_SHOP_NAME",
}
TIKTOK_SECRETS = frozenset({"TIKTOK_APP_SECRET", "TIKTOK_ACCESS_TOKEN", "TIKTOK_REFRESH_TOKEN"})
PUSH_TOKEN = "push_token"


@dataclass(frozen=True)
class ConfigShow:
    pass


@dataclass(frozen=True)
class ConfigSet:
    """Store these keys (None: remove the key)."""

    values: dict[str, Optional[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigNewPushToken:
    pass


@dataclass(frozen=True)
class ConfigTikTokOff:
    pass


ConfigRequest = ConfigShow | ConfigSet | ConfigNewPushToken | ConfigTikTokOff


def is_secret(key: str) -> bool:
    return key == PUSH_TOKEN or (key.startswith(TIKTOK_PREFIX) and key[len(TIKTOK_PREFIX):] in TIKTOK_SECRETS)


def mask(value: str) -> str:
    """A secret as `/stockbot config` shows it: enough to tell two apart, never enough to use."""
    return "••••" + value[-4:] if len(value) >= 12 else "••••"


def parse_user(raw: str) -> str:
    mention = _USER_MENTION_RE.match(raw)
    if mention:
        return mention.group(1)
    if _USER_ID_RE.match(raw):
        return raw
    raise CommandError("config_bad_user", value=raw[:80])


def parse_config(text: Optional[str]) -> ConfigRequest:
    """The text after `/stockbot` (must start with `config`). CommandError: bad input, usage shown."""
    tokens = _tokens(text)
    if not tokens or tokens[0].lower() != "config":
        raise CommandError("config_usage")
    args = tokens[1:]
    if not args or (len(args) == 1 and args[0].lower() == "show"):
        return ConfigShow()
    what, rest = args[0].lower(), args[1:]
    if what in ("alert-channel", "ops-channel"):
        if len(rest) != 1:
            raise CommandError("config_usage")
        return ConfigSet({what.replace("-", "_"): parse_channel(rest[0])})
    if what == "admins":
        if not rest:
            raise CommandError("config_usage")
        users = list(dict.fromkeys(parse_user(raw) for raw in rest))
        if len(users) > MAX_ADMINS:
            raise CommandError("config_too_many_admins", max=MAX_ADMINS)
        return ConfigSet({"admins": ",".join(users)})
    if what == "language":
        if len(rest) != 1 or rest[0].lower() not in LANGUAGES:
            raise CommandError("config_bad_language", value=(rest[0] if rest else "")[:20])
        return ConfigSet({"language": rest[0].lower()})
    if what in ("lead-days", "overseas-lead-days"):
        if len(rest) != 1:
            raise CommandError("config_usage")
        return ConfigSet({what.replace("-", "_"): str(parse_days(rest[0], "lead", MAX_LEAD_DAYS))})
    if what == "push-token":
        if len(rest) != 1 or rest[0].lower() != "new":
            raise CommandError("config_usage")
        return ConfigNewPushToken()
    if what == "tiktok":
        return _parse_tiktok(rest)
    raise CommandError("config_usage")


def _parse_tiktok(rest: list[str]) -> ConfigRequest:
    if len(rest) == 1 and rest[0].lower() == "off":
        return ConfigTikTokOff()
    if not rest or len(rest) % 2:
        raise CommandError("config_tiktok_usage")
    values: dict[str, Optional[str]] = {}
    for option, value in zip(rest[::2], rest[1::2]):
        variable = TIKTOK_OPTIONS.get(option.lower())
        if variable is None:
            raise CommandError("config_tiktok_usage")
        if not _TIKTOK_VALUE_RE.match(value):
            raise CommandError("config_tiktok_bad_value", option=option.lower())
        values[TIKTOK_PREFIX + variable] = value
    return ConfigSet(values)


def tiktok_missing(stored: dict[str, str]) -> list[str]:
    """The options a TikTok shop still needs once these are stored (app key and secret, and a token)."""
    have = {key[len(TIKTOK_PREFIX):] for key in stored if key.startswith(TIKTOK_PREFIX)}
    options = {variable: option for option, variable in TIKTOK_OPTIONS.items()}
    missing = [options[v] for v in ("TIKTOK_APP_KEY", "TIKTOK_APP_SECRET") if v not in have]
    if not have & {"TIKTOK_ACCESS_TOKEN", "TIKTOK_REFRESH_TOKEN"}:
        missing.append("access-token")
    return missing

