"""Parsing of slash-command text into typed requests, as pure functions.

Parsing never touches the database or Slack, so it runs before `ack()` and a bad command
is answered in the acknowledgement itself, with nothing stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional, Union

SKU_MAX_LENGTH = 64
MAX_COMMAND_LENGTH = 1000
MAX_QUANTITY = 1_000_000_000
MAX_NOTE_LENGTH = 500
MAX_ETA_DAYS = 366

# Letters and digits of any script (so 连衣裙-红-XL works) plus the punctuation ERPs use.
_SKU_RE = re.compile(r"^[\w\-./:+#()]+$")
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


ThresholdRequest = Union[Help, ThresholdSet, ThresholdGet, ThresholdList, ThresholdRemove, ThresholdHistory]
StockRequest = Union[Help, StockShow, StockSet, StockStatus, StockImport]
ReorderRequest = Union[Help, ReorderRecord, ReorderList, ReorderCancel]


def parse_sku(raw: Optional[str]) -> str:
    if raw is None or raw == "":
        raise CommandError("missing_sku")
    if len(raw) > SKU_MAX_LENGTH:
        raise CommandError("sku_too_long", max=SKU_MAX_LENGTH, length=len(raw))
    if not _SKU_RE.match(raw):
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


def _tokens(text: Optional[str]) -> list[str]:
    text = (text or "").strip()
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
    raise CommandError("unknown_subcommand", sub=sub[:40], allowed="set, get, list, remove, history, help")


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
    sku = parse_sku(tokens[0])
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
