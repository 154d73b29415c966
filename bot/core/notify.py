"""Notification rules (`/notify`), as pure functions: parsing the command, checking targets,
masking what is shown back, matching rules to events, and the event facts themselves.

No Slack, no database, no network: bot/notify/ stores the rules, renders and sends.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Mapping, Optional, Union
from urllib.parse import parse_qsl, urlsplit

from bot.core.commands import CommandError, Help, _tokens, parse_sku, parse_target
from bot.core.tiers import Tier

KINDS = ("email", "dingtalk", "wecom", "feishu", "sms", "webhook")
KIND_ALIASES = {"e-mail": "email", "mail": "email", "邮件": "email", "钉钉": "dingtalk", "企业微信": "wecom",
                "企微": "wecom", "wechatwork": "wecom", "飞书": "feishu", "lark": "feishu", "短信": "sms"}
ALL = "all"
TIER_WORDS = {"all": ALL, "全部": ALL, "warning": "WARNING", "critical": "CRITICAL", "oos": "OUT_OF_STOCK",
              "out_of_stock": "OUT_OF_STOCK", "out-of-stock": "OUT_OF_STOCK", "outofstock": "OUT_OF_STOCK",
              "预警": "WARNING", "告急": "CRITICAL", "断货": "OUT_OF_STOCK"}
LANGS = ("en", "zh")
SECRET_KINDS = ("dingtalk", "feishu", "webhook")  # the others have no signing secret
TARGET_MAX = 1000
SECRET_MAX = 255

# Where each robot's webhook lives (its URL's scheme://host); settings may point these elsewhere (tests, proxies).
DEFAULT_HOSTS = {"dingtalk": ("https://oapi.dingtalk.com",),
                 "wecom": ("https://qyapi.weixin.qq.com",),
                 "feishu": ("https://open.feishu.cn", "https://open.larksuite.com")}
ROBOT_PATHS = {"dingtalk": ("/robot/send", "access_token"), "wecom": ("/cgi-bin/webhook/send", "key"),
               "feishu": ("/open-apis/bot/v2/hook/", None)}

_EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_PHONE_RE = re.compile(r"\+[1-9]\d{7,14}")  # E.164: + country code and number, at most 15 digits
_SLACK_LINK_RE = re.compile(r"^<([^|>]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class NotifyAdd:
    tier: str  # ALL or a Tier name: the rule gets events of this tier and worse
    kind: str
    target: str
    secret: Optional[str] = None
    sku: Optional[str] = None  # a SKU or PREFIX*
    warehouse: Optional[str] = None
    lang: Optional[str] = None  # None: STOCKBOT_LANG
    tier_defaulted: bool = False  # an SMS rule without a tier word: OUT OF STOCK only


@dataclass(frozen=True)
class NotifyList:
    pass


@dataclass(frozen=True)
class NotifyRemove:
    rule_id: int


@dataclass(frozen=True)
class NotifyTest:
    rule_id: int


NotifyRequest = Union[Help, NotifyAdd, NotifyList, NotifyRemove, NotifyTest]


def _unwrap(raw: str) -> str:
    """Slack escapes command text (should_escape): `<https://…>`, `<mailto:a@b|a@b>`, `&amp;`."""
    match = _SLACK_LINK_RE.match(raw)
    if match:
        raw = match.group(1)
        if raw.lower().startswith("mailto:"):
            raw = raw[len("mailto:"):]
        elif raw.lower().startswith("tel:"):
            raw = raw[len("tel:"):]
    return raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _rule_id(raw: Optional[str]) -> int:
    text = (raw or "").lstrip("#")
    if not text.isdigit() or not 0 < int(text) < 2 ** 31:
        raise CommandError("notify_missing_id")
    return int(text)


def parse_notify(text: Optional[str], hosts: Optional[Mapping[str, tuple[str, ...]]] = None) -> NotifyRequest:
    """`/notify add <tier|all> <kind> <target> [secret S] [sku PREFIX*] [warehouse W] [lang zh|en]`,
    `list`, `remove N`, `test N`. `hosts`: the robots' scheme://host per kind (DEFAULT_HOSTS)."""
    tokens = _tokens(text)
    if not tokens or tokens[0].lower() == "help":
        return Help("notify")
    sub, args = tokens[0].lower(), tokens[1:]
    if sub == "list":
        if args:
            raise CommandError("unexpected_words", words=" ".join(args)[:80])
        return NotifyList()
    if sub in ("remove", "test"):
        rule_id = _rule_id(args[0] if args else None)
        if args[1:]:
            raise CommandError("unexpected_words", words=" ".join(args[1:])[:80])
        return NotifyRemove(rule_id) if sub == "remove" else NotifyTest(rule_id)
    if sub != "add":
        raise CommandError("unknown_subcommand", sub=sub[:40], allowed="add, list, remove, test, help")
    rest = list(args)
    if not rest:
        raise CommandError("notify_missing_kind", allowed=", ".join(KINDS))
    tier, explicit = ALL, False
    if _kind(rest[0]) is None:  # a tier word first (it may be left out: all tiers)
        word = rest.pop(0)
        if word.lower() not in TIER_WORDS:
            raise CommandError("notify_unknown_tier", value=word[:40]) if rest and _kind(rest[0]) \
                else CommandError("notify_unknown_kind", value=word[:40], allowed=", ".join(KINDS))
        tier, explicit = TIER_WORDS[word.lower()], TIER_WORDS[word.lower()] != ALL
    if not rest:
        raise CommandError("notify_missing_kind", allowed=", ".join(KINDS))
    raw_kind = rest.pop(0)
    kind = _kind(raw_kind)
    if kind is None:
        raise CommandError("notify_unknown_kind", value=raw_kind[:40], allowed=", ".join(KINDS))
    if not rest:
        raise CommandError("notify_missing_target", kind=kind)
    target = check_target(kind, _unwrap(rest.pop(0)), hosts or DEFAULT_HOSTS)
    options: dict = {}
    while rest:
        option = rest.pop(0).lower()
        value = rest.pop(0) if rest else None
        if option == "secret":
            if kind not in SECRET_KINDS:
                raise CommandError("notify_secret_unused", kind=kind)
            if not value or len(value) > SECRET_MAX:
                raise CommandError("notify_missing_secret")
            options["secret"] = _unwrap(value)
        elif option == "sku":
            options["sku"] = parse_target(value)
            if options["sku"] == "*":
                options["sku"] = None
        elif option == "warehouse":
            if not value:
                raise CommandError("missing_warehouse")
            options["warehouse"] = None if value.lower() in ("all", "*") else parse_sku(value)
        elif option == "lang":
            if not value or value.lower() not in LANGS:
                raise CommandError("notify_bad_lang", value=(value or "")[:20])
            options["lang"] = value.lower()
        else:
            raise CommandError("unknown_option", option=option[:40], allowed="secret, sku, warehouse, lang")
    defaulted = kind == "sms" and not explicit
    if defaulted:
        tier = Tier.OUT_OF_STOCK.name  # a text message at 2 a.m. is for a sell-out; ask for more explicitly
    return NotifyAdd(tier, kind, target, tier_defaulted=defaulted, **options)


def _kind(word: str) -> Optional[str]:
    lowered = word.lower()
    return lowered if lowered in KINDS else KIND_ALIASES.get(lowered)


def check_target(kind: str, target: str, hosts: Mapping[str, tuple[str, ...]]) -> str:
    """The target, checked for its kind (an address, an E.164 number, an http(s) URL of the right
    service); CommandError with a friendly code when it is not one."""
    if kind == "email":
        if len(target) > 254 or not _EMAIL_RE.fullmatch(target):
            raise CommandError("notify_bad_email", value=target[:80])
        return target
    if kind == "sms":
        number = re.sub(r"[\s().-]", "", target)
        if not _PHONE_RE.fullmatch(number):
            raise CommandError("notify_bad_phone", value=target[:40])
        return number
    if len(target) > TARGET_MAX or not _is_http_url(target):
        raise CommandError("notify_bad_url", value=mask_url(target)[:80])
    if kind in ROBOT_PATHS:
        parts = urlsplit(target)
        base = f"{parts.scheme}://{parts.netloc}".lower()
        allowed = [h.rstrip("/").lower() for h in hosts.get(kind, DEFAULT_HOSTS[kind])]
        path, query_key = ROBOT_PATHS[kind]
        prefix = urlsplit(allowed[0]).path.rstrip("/") if allowed else ""
        good_path = parts.path.startswith(prefix + path) and (
            query_key is None and len(parts.path) > len(prefix + path)
            or query_key is not None and dict(parse_qsl(parts.query)).get(query_key))
        if not any(base == urlsplit(h)._replace(path="").geturl() for h in allowed) or not good_path:
            raise CommandError(f"notify_not_{kind}", value=mask_url(target)[:80])
    return target


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


# ---- masking ---------------------------------------------------------------------------------

def mask_value(value: str) -> str:
    """ab…9f: enough to tell two apart, never enough to use."""
    return f"{value[:2]}…{value[-2:]}" if len(value) >= 10 else "…"


def mask_url(url: str) -> str:
    """scheme://host with every query value and every path part that looks like a key masked
    (no user:password): https://oapi.dingtalk.com/robot/send?access_token=ab…9f"""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return mask_value(url)
    segments = [seg if re.fullmatch(r"[A-Za-z_.-]{1,24}|v\d{1,2}", seg) or not seg else mask_value(seg)
                for seg in parts.path.split("/")]
    query = "&".join(f"{key}={mask_value(value)}" for key, value in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{host}{port}{'/'.join(segments)}" + (f"?{query}" if query else "")


def mask_target(kind: str, target: str) -> str:
    if kind == "email":
        return target
    if kind == "sms":
        return f"{target[:4]}…{target[-4:]}" if len(target) > 9 else "…"
    return mask_url(target)


# ---- events and matching ---------------------------------------------------------------------

# Event kinds: the same moments that reach Slack.
ALERT, ESCALATION, REMINDER, RECOVERY = "alert", "escalation", "reminder", "recovery"
DIGEST, DIGEST_REMINDER, RECOVERY_SUMMARY, TEST = "digest", "digest_reminder", "recovery_summary", "test"
GROUPS = {RECOVERY: RECOVERY_SUMMARY}  # many of one kind for one rule in one check: one message


@dataclass(frozen=True)
class Item:
    """One SKU's facts as of the event."""

    sku: str
    tier: int
    available: int
    warning_level: int
    critical_level: int
    name: Optional[str] = None
    warehouse: Optional[str] = None
    on_order: int = 0
    cover_days: Optional[float] = None
    alert_id: Optional[int] = None


@dataclass(frozen=True)
class Event:
    kind: str
    tier: int  # the worst tier concerned (a recovery: the worst tier the SKU had been in)
    items: tuple[Item, ...]
    at: str  # ISO time of the check
    channel: Optional[str] = None  # the Slack channel of the alert or digest
    alert_id: Optional[int] = None
    digest_id: Optional[int] = None
    count: int = 0  # SKUs in the digest (items may be fewer: the rule's filter, the unacknowledged ones)
    previous_tier: Optional[int] = None  # an escalation: the tier before
    extra: dict = field(default_factory=dict)  # filled at send time: slack_link

    def to_payload(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_payload(data: dict) -> "Event":
        items = tuple(Item(**item) for item in data.get("items", ()))
        return Event(**{**data, "items": items})


def tier_matches(rule_tier: str, tier: int) -> bool:
    return rule_tier == ALL or tier >= Tier[rule_tier]


def item_matches(sku_filter: Optional[str], warehouse: Optional[str], item: Item) -> bool:
    if sku_filter:
        if sku_filter.endswith("*"):
            if not item.sku.startswith(sku_filter[:-1]):
                return False
        elif item.sku != sku_filter:
            return False
    return not warehouse or (item.warehouse or "") == warehouse


def for_rule(rule_tier: str, sku_filter: Optional[str], warehouse: Optional[str], event: Event) -> Optional[Event]:
    """The event as this rule sees it (a digest keeps only the rule's SKUs), or None: not for it."""
    if not tier_matches(rule_tier, event.tier):
        return None
    items = tuple(item for item in event.items if item_matches(sku_filter, warehouse, item))
    if not items:
        return None
    if len(items) == len(event.items):
        return event
    return Event(**{**asdict(event), "items": items, "count": len(items)})
