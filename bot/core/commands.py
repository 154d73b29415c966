"""Parsing of slash-command text into typed requests, as pure functions.

Parsing never touches the database or Slack, so it runs before `ack()` and a bad command
is answered in the acknowledgement itself, with nothing stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional, Union

from bot.core.forecast import LEVEL_BASES, MAX_SERVICE, MIN_SERVICE, Safety
from bot.core.text import clean_text

SKU_MAX_LENGTH = 64
MAX_COMMAND_LENGTH = 1000
MAX_QUANTITY = 1_000_000_000
MAX_NOTE_LENGTH = 500
MAX_ETA_DAYS = 366

# Letters and digits of any script (so 连衣裙-红-XL works) plus the punctuation ERPs use.
SKU_CHARACTERS = re.compile(r"[\w\-./:+#()]+")  # with fullmatch: `^...$` would accept a trailing \n
_CHANNEL_MENTION_RE = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_CHANNEL_ID_RE = re.compile(r"^[CG][A-Z0-9]{6,}$")
_RELATIVE_DAYS_RE = re.compile(r"^(\d{1,3})d$", re.IGNORECASE)


class CommandError(ValueError):
    """A user mistake. `code` picks the localized wording, `detail` fills it in."""

    def __init__(self, code: str, **detail: object) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Help:
    command: str


@dataclass(frozen=True)
class ThresholdSet:
    sku: str
    warning_level: int
    critical_level: Optional[int]  # None: default (half the warning level)
    channel: Optional[str]  # None: keep / ALERT_CHANNEL
    warehouse: Optional[str] = None  # None: keep; ALL_WAREHOUSES: the SKU's total; else one warehouse


ALL_WAREHOUSES = ""


@dataclass(frozen=True)
class ThresholdGet:
    sku: str


@dataclass(frozen=True)
class ThresholdList:
    prefix: str
    page: int


@dataclass(frozen=True)
class ThresholdRemove:
    sku: str


@dataclass(frozen=True)
class ThresholdHistory:
    sku: str


@dataclass(frozen=True)
class StockShow:
    sku: str


@dataclass(frozen=True)
class StockChart:
    """`/stock SKU chart`: the stock chart, posted in the channel."""

    sku: str


CHART_WORDS = ("chart", "图表", "图")


@dataclass(frozen=True)
class StockStatus:
    """`/stock status`: each stock source's health."""


@dataclass(frozen=True)
class StockImport:
    """`/stock import [sales]`: opens the upload modal."""

    kind: str = "stock"


@dataclass(frozen=True)
class StockSet:
    sku: str
    available: int
    warehouse: Optional[str]


@dataclass(frozen=True)
class ReorderRecord:
    sku: str
    quantity: int
    eta: Optional[date]
    note: Optional[str]


@dataclass(frozen=True)
class ReorderList:
    sku: Optional[str]


@dataclass(frozen=True)
class ReorderCancel:
    sku: str


@dataclass(frozen=True)
class ThresholdCalc:
    """`/threshold calc SKU [daily N] [lead N] [safety 3d|450|95%] [basis class|avg|max|p90|weighted] [days 90]
    [spikes keep|exclude]`."""

    sku: str
    daily: Optional[float] = None  # None: from the SKU's sales history
    lead_days: Optional[int] = None  # None: the SKU's lead time (or its warehouse type's default)
    safety: Optional[Safety] = None  # None: the default service level (history) or none (typed demand)
    basis: Optional[str] = None  # None: the SKU's basis, else the default
    history_days: Optional[int] = None  # None: the basis's own (a year by class, 90 days otherwise)
    spikes: Optional[str] = None  # None: the SKU's setting, else keep


ALL_SKUS = "*"


@dataclass(frozen=True)
class ThresholdAuto:
    """`/threshold auto SKU|all|PREFIX* [off] [lead N] [service 98%] [basis avg] [spikes exclude]`."""

    target: str  # a SKU, ALL_SKUS, or a prefix ending in `*`
    on: bool = True
    lead_days: Optional[int] = None
    service: Optional[float] = None
    basis: Optional[str] = None
    spikes: Optional[str] = None


@dataclass(frozen=True)
class ThresholdLead:
    """`/threshold lead SKU 21 [pack 24] [moq 100] [cover 30]`: the SKU's supply facts."""

    sku: str
    lead_days: Optional[int]
    case_pack: Optional[int] = None
    moq: Optional[int] = None
    cover_days: Optional[int] = None


@dataclass(frozen=True)
class CampaignAdd:
    target: str
    start: date
    end: date
    multiplier: float
    name: Optional[str]


@dataclass(frozen=True)
class CampaignList:
    sku: Optional[str]


@dataclass(frozen=True)
class CampaignRemove:
    campaign_id: int


ThresholdRequest = Union[Help, ThresholdSet, ThresholdGet, ThresholdList, ThresholdRemove, ThresholdHistory,
                         ThresholdCalc, ThresholdAuto, ThresholdLead]
CampaignRequest = Union[Help, CampaignAdd, CampaignList, CampaignRemove]
StockRequest = Union[Help, StockShow, StockSet, StockStatus, StockImport, StockChart]
ReorderRequest = Union[Help, ReorderRecord, ReorderList, ReorderCancel]


def parse_sku(raw: Optional[str]) -> str:
    if raw is None or raw == "":
        raise CommandError("missing_sku")
    if len(raw) > SKU_MAX_LENGTH:
        raise CommandError("sku_too_long", max=SKU_MAX_LENGTH, length=len(raw))
    if not SKU_CHARACTERS.fullmatch(raw):
        raise CommandError("sku_bad_chars", sku=raw[:SKU_MAX_LENGTH])
    return raw


def parse_quantity(raw: Optional[str], what: str, allow_zero: bool = True) -> int:
    """A whole number of units; `1,500` is accepted as people type it."""
    if raw is None or raw == "":
        raise CommandError("missing_number", what=what)
    cleaned = raw.replace(",", "")
    if re.fullmatch(r"-\d+", cleaned):
        raise CommandError("negative_number", what=what, value=raw)
    if not re.fullmatch(r"\d+", cleaned):
        raise CommandError("not_a_number", what=what, value=raw[:40])
    value = int(cleaned)
    if value > MAX_QUANTITY:
        raise CommandError("number_too_big", what=what, value=raw[:40], max=MAX_QUANTITY)
    if value == 0 and not allow_zero:
        raise CommandError("zero_number", what=what)
    return value


def parse_channel(raw: Optional[str]) -> str:
    """A channel picked from Slack's autocomplete arrives as <#C123|name>; IDs work too."""
    if not raw:
        raise CommandError("missing_channel")
    mention = _CHANNEL_MENTION_RE.match(raw)
    if mention:
        return mention.group(1)
    if _CHANNEL_ID_RE.match(raw):
        return raw
    raise CommandError("bad_channel", value=raw[:80])


def parse_eta(raw: Optional[str], today: date) -> date:
    """`2026-12-10` or `7d` (days from today). Past dates are refused."""
    if not raw:
        raise CommandError("missing_eta")
    relative = _RELATIVE_DAYS_RE.match(raw)
    if relative:
        eta = today + timedelta(days=int(relative.group(1)))
    else:
        try:
            eta = date.fromisoformat(raw)
        except ValueError:
            raise CommandError("bad_eta", value=raw[:40]) from None
    if eta < today:
        raise CommandError("eta_in_past", eta=eta.isoformat())
    if eta > today + timedelta(days=MAX_ETA_DAYS):
        raise CommandError("eta_too_far", eta=eta.isoformat())
    return eta


MAX_LEAD_DAYS = 365
MAX_HISTORY_DAYS = 730
MAX_COVER_DAYS = 365
MAX_CAMPAIGN_DAYS = 92
MAX_MULTIPLIER = 100.0
_DECIMAL_RE = re.compile(r"^\d+(?:\.\d+)?$")


def parse_decimal(raw: Optional[str], what: str) -> float:
    """A positive number of units that may have decimals (`12.5` a day)."""
    if raw is None or raw == "":
        raise CommandError("missing_number", what=what)
    cleaned = raw.replace(",", "")
    if cleaned.startswith("-"):
        raise CommandError("negative_number", what=what, value=raw[:40])
    if not _DECIMAL_RE.match(cleaned):
        raise CommandError("not_a_decimal", what=what, value=raw[:40])
    value = float(cleaned)
    if value > MAX_QUANTITY:
        raise CommandError("number_too_big", what=what, value=raw[:40], max=MAX_QUANTITY)
    return value


def parse_days(raw: Optional[str], what: str, maximum: int) -> int:
    """Whole days, `7` or `7d`; at least 1."""
    value = parse_quantity(raw[:-1] if raw and raw[-1:].lower() == "d" else raw, what)
    if value == 0:
        raise CommandError("zero_days", what=what)
    if value > maximum:
        raise CommandError("days_too_many", what=what, value=value, max=maximum)
    return value


def parse_service(raw: Optional[str]) -> float:
    """`95%`, `95` or `0.95` -> 0.95, between 50% and 99.99%."""
    if not raw:
        raise CommandError("missing_service")
    cleaned = raw.rstrip("%")
    if not _DECIMAL_RE.match(cleaned):
        raise CommandError("bad_service", value=raw[:40])
    value = float(cleaned)
    if value >= 1 or raw.endswith("%"):
        value /= 100
    if not MIN_SERVICE <= value <= MAX_SERVICE:
        raise CommandError("bad_service", value=raw[:40])
    return value


def parse_safety(raw: Optional[str]) -> Safety:
    """`3d` (days of demand), `450` (units) or `95%` (a service level)."""
    if not raw:
        raise CommandError("missing_safety")
    if raw.endswith("%"):
        return Safety(service=parse_service(raw))
    if raw[-1:].lower() == "d":
        days = parse_decimal(raw[:-1], "safety_days")
        if days > MAX_LEAD_DAYS:
            raise CommandError("days_too_many", what="safety_days", value=raw[:-1], max=MAX_LEAD_DAYS)
        return Safety(days=days)
    return Safety(units=parse_quantity(raw, "safety_units"))


def parse_basis(raw: Optional[str]) -> str:
    basis = (raw or "").lower()
    if basis not in LEVEL_BASES:
        raise CommandError("bad_basis", value=(raw or "")[:40], allowed=", ".join(LEVEL_BASES))
    return basis


SPIKE_MODES = ("keep", "exclude")


def parse_spikes(raw: Optional[str]) -> str:
    """`keep` (the reorder point covers a repeat of a one-off order) or `exclude` (special orders)."""
    spikes = (raw or "").lower()
    if spikes not in SPIKE_MODES:
        raise CommandError("bad_spikes", value=(raw or "")[:40])
    return spikes


def parse_target(raw: Optional[str]) -> str:
    """A SKU, `all` (every SKU) or a prefix ending in `*` (`DRESS-*`)."""
    if raw and raw.lower() in ("all", "*", "全部"):
        return ALL_SKUS
    if raw and raw.endswith("*"):
        return parse_sku(raw[:-1]) + "*"
    return parse_sku(raw)


def parse_multiplier(raw: Optional[str]) -> float:
    """`x3`, `3x` or `×3`: expected demand multiplied by 3 during the campaign."""
    if not raw:
        raise CommandError("missing_multiplier")
    cleaned = raw.lower().replace("×", "x").strip("x")
    if not _DECIMAL_RE.match(cleaned) or "x" not in raw.lower().replace("×", "x"):
        raise CommandError("bad_multiplier", value=raw[:40])
    value = float(cleaned)
    if value == 0:
        raise CommandError("zero_multiplier")
    if value == 1 or value > MAX_MULTIPLIER:
        raise CommandError("bad_multiplier", value=raw[:40])
    return value


def parse_day(raw: Optional[str], what: str) -> date:
    if not raw:
        raise CommandError("missing_date", what=what)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError("bad_date", value=raw[:40]) from None


def _tokens(text: Optional[str]) -> list[str]:
    # Control characters never reach a stored note or name (line breaks still separate words).
    text = clean_text(text or "").strip()
    if len(text) > MAX_COMMAND_LENGTH:
        raise CommandError("too_long", length=len(text), max=MAX_COMMAND_LENGTH)
    return text.split()


def _no_extra(tokens: list[str]) -> None:
    if tokens:
        raise CommandError("unexpected_words", words=" ".join(tokens)[:80])


def parse_threshold(text: Optional[str]) -> ThresholdRequest:
    tokens = _tokens(text)
    if not tokens:
        return Help("threshold")
    sub, args = tokens[0].lower(), tokens[1:]
    if sub == "help":
        return Help("threshold")
    if sub == "set":
        sku = parse_sku(args[0] if args else None)
        warning = parse_quantity(args[1] if len(args) > 1 else None, "warning_level")
        critical: Optional[int] = None
        channel: Optional[str] = None
        warehouse: Optional[str] = None
        rest = args[2:]
        while rest:
            option = rest.pop(0).lower()
            if option == "critical":
                critical = parse_quantity(rest.pop(0) if rest else None, "critical_level")
            elif option == "channel":
                channel = parse_channel(rest.pop(0) if rest else None)
            elif option == "warehouse":
                if not rest:
                    raise CommandError("missing_warehouse")
                name = rest.pop(0)
                # `warehouse all` goes back to watching the SKU's total over every warehouse.
                warehouse = ALL_WAREHOUSES if name.lower() in ("all", "total", "*") else parse_sku(name)
            else:
                raise CommandError("unknown_option", option=option[:40], allowed="critical, channel, warehouse")
        if critical is not None and critical > warning:
            raise CommandError("critical_above_warning", critical=critical, warning=warning)
        return ThresholdSet(sku, warning, critical, channel, warehouse)
    if sub in ("get", "remove", "history"):
        sku = parse_sku(args[0] if args else None)
        _no_extra(args[1:])
        return {"get": ThresholdGet, "remove": ThresholdRemove, "history": ThresholdHistory}[sub](sku)
    if sub == "list":
        prefix, page = "", 1
        rest = list(args)
        if rest and rest[0].lower() != "page":
            prefix = parse_sku(rest.pop(0))
        if rest and rest[0].lower() == "page":
            rest.pop(0)
            page = parse_quantity(rest.pop(0) if rest else None, "page", allow_zero=False)
        _no_extra(rest)
        return ThresholdList(prefix, page)
    if sub == "calc":
        return _parse_calc(args)
    if sub == "auto":
        return _parse_auto(args)
    if sub == "lead":
        return _parse_lead(args)
    raise CommandError("unknown_subcommand", sub=sub[:40],
                       allowed="set, get, list, remove, history, calc, auto, lead, help")


def _options(tokens: list[str], parsers: dict, allowed: Optional[str] = None) -> dict:
    """`name value` pairs, each value read by its option's parser; a later one wins.

    `parsers` maps an option to a parser, or to (key, parser) when two options set one thing.
    """
    found: dict = {}
    rest = list(tokens)
    while rest:
        option = rest.pop(0).lower()
        if option not in parsers:
            raise CommandError("unknown_option", option=option[:40], allowed=allowed or ", ".join(parsers))
        key, parser = parsers[option] if isinstance(parsers[option], tuple) else (option, parsers[option])
        found[key] = parser(rest.pop(0) if rest else None)
    return found


def _parse_calc(args: list[str]) -> ThresholdCalc:
    sku = parse_sku(args[0] if args else None)
    found = _options(args[1:], {
        "daily": lambda v: parse_decimal(v, "daily"),
        "lead": lambda v: parse_days(v, "lead", MAX_LEAD_DAYS),
        "safety": parse_safety,
        "service": ("safety", lambda v: Safety(service=parse_service(v))),
        "basis": parse_basis,
        "days": lambda v: parse_days(v, "history_days", MAX_HISTORY_DAYS),
        "spikes": parse_spikes,
    })
    return ThresholdCalc(sku, found.get("daily"), found.get("lead"), found.get("safety"), found.get("basis"),
                         found.get("days"), found.get("spikes"))


def _parse_auto(args: list[str]) -> ThresholdAuto:
    rest = list(args)
    on = True
    if rest and rest[0].lower() in ("off", "on"):
        on = rest.pop(0).lower() == "on"
    target = parse_target(rest.pop(0) if rest else None)
    if rest and rest[0].lower() in ("off", "on"):
        on = rest.pop(0).lower() == "on"
    found = _options(rest, {"lead": lambda v: parse_days(v, "lead", MAX_LEAD_DAYS), "service": parse_service,
                            "basis": parse_basis, "spikes": parse_spikes}, allowed="lead, service, basis, spikes, off")
    return ThresholdAuto(target, on, found.get("lead"), found.get("service"), found.get("basis"), found.get("spikes"))


def _parse_lead(args: list[str]) -> ThresholdLead:
    sku = parse_sku(args[0] if args else None)
    lead = parse_days(args[1] if len(args) > 1 else None, "lead", MAX_LEAD_DAYS)
    found = _options(args[2:], {
        "pack": lambda v: parse_quantity(v, "case_pack", allow_zero=False),
        "moq": lambda v: parse_quantity(v, "moq", allow_zero=False),
        "cover": lambda v: parse_days(v, "cover_days", MAX_COVER_DAYS),
    })
    return ThresholdLead(sku, lead, found.get("pack"), found.get("moq"), found.get("cover"))


def parse_campaign(text: Optional[str], today: date) -> CampaignRequest:
    tokens = _tokens(text)
    if not tokens or tokens[0].lower() == "help":
        return Help("campaign")
    sub, args = tokens[0].lower(), tokens[1:]
    if sub == "list":
        sku = parse_sku(args[0]) if args else None
        _no_extra(args[1:])
        return CampaignList(sku)
    if sub == "remove":
        raw = (args[0] if args else "").lstrip("#")
        campaign_id = parse_quantity(raw or None, "campaign_id", allow_zero=False)
        _no_extra(args[1:])
        return CampaignRemove(campaign_id)
    if sub != "add":
        raise CommandError("unknown_subcommand", sub=sub[:40], allowed="add, list, remove, help")
    target = parse_target(args[0] if args else None)
    start = parse_day(args[1] if len(args) > 1 else None, "start")
    end = parse_day(args[2] if len(args) > 2 else None, "end")
    multiplier = parse_multiplier(args[3] if len(args) > 3 else None)
    name = " ".join(args[4:]) or None
    if start < today:
        raise CommandError("date_in_past", day=start.isoformat(), today=today.isoformat())
    if end < start:
        raise CommandError("end_before_start", start=start.isoformat(), end=end.isoformat())
    if (end - start).days + 1 > MAX_CAMPAIGN_DAYS:
        raise CommandError("campaign_too_long", max=MAX_CAMPAIGN_DAYS)
    if start > today + timedelta(days=MAX_ETA_DAYS):
        raise CommandError("date_too_far", day=start.isoformat())
    if name and len(name) > 100:
        raise CommandError("note_too_long", max=100)
    return CampaignAdd(target, start, end, multiplier, name)


def parse_stock(text: Optional[str]) -> StockRequest:
    tokens = _tokens(text)
    if not tokens or tokens[0].lower() == "help":
        return Help("stock")
    if tokens[0].lower() == "status":
        _no_extra(tokens[1:])
        return StockStatus()
    if tokens[0].lower() == "import":
        rest = tokens[1:]
        kind = "stock"
        if rest and rest[0].lower() in ("sales", "销量", "stock", "库存"):
            kind = "sales" if rest.pop(0).lower() in ("sales", "销量") else "stock"
        _no_extra(rest)
        return StockImport(kind)
    if tokens[0].lower() == "set":
        args = tokens[1:]
        sku = parse_sku(args[0] if args else None)
        available = parse_quantity(args[1] if len(args) > 1 else None, "available")
        warehouse = None
        rest = args[2:]
        if rest and rest[0].lower() == "warehouse":
            rest.pop(0)
            if not rest:
                raise CommandError("missing_warehouse")
            warehouse = parse_sku(rest.pop(0))
        _no_extra(rest)
        return StockSet(sku, available, warehouse)
    if tokens[0].lower() in CHART_WORDS:  # `/stock chart SKU` reads as well as `/stock SKU chart`
        sku = parse_sku(tokens[1] if len(tokens) > 1 else None)
        _no_extra(tokens[2:])
        return StockChart(sku)
    sku = parse_sku(tokens[0])
    if len(tokens) > 1 and tokens[1].lower() in CHART_WORDS:
        _no_extra(tokens[2:])
        return StockChart(sku)
    _no_extra(tokens[1:])
    return StockShow(sku)


def parse_reorder(text: Optional[str], today: date) -> ReorderRequest:
    tokens = _tokens(text)
    if not tokens or tokens[0].lower() == "help":
        return Help("reorder")
    first = tokens[0].lower()
    if first == "list":
        sku = parse_sku(tokens[1]) if len(tokens) > 1 else None
        _no_extra(tokens[2:])
        return ReorderList(sku)
    if first == "cancel":
        sku = parse_sku(tokens[1] if len(tokens) > 1 else None)
        _no_extra(tokens[2:])
        return ReorderCancel(sku)
    sku = parse_sku(tokens[0])
    quantity = parse_quantity(tokens[1] if len(tokens) > 1 else None, "quantity", allow_zero=False)
    eta: Optional[date] = None
    note: Optional[str] = None
    rest = tokens[2:]
    while rest:
        option = rest.pop(0)
        if option.lower() == "eta":
            eta = parse_eta(rest.pop(0) if rest else None, today)
        elif option.lower() == "note":
            note = " ".join(rest)
            rest = []
            if not note:
                raise CommandError("missing_note")
            if len(note) > MAX_NOTE_LENGTH:
                raise CommandError("note_too_long", max=MAX_NOTE_LENGTH)
        else:
            raise CommandError("unknown_option", option=option[:40], allowed="eta, note")
    return ReorderRecord(sku, quantity, eta, note)
