"""Suppliers and purchase orders, as pure functions: `/supplier` and `/purchase` parsing, which
supplier a SKU is bought from, order quantities rounded to pack and MOQ, PO numbers and totals.

Nothing here touches Slack or the database (bot.suppliers and bot.purchases do).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Optional, Sequence, Union

from bot.core.commands import (
    MAX_LEAD_DAYS,
    CommandError,
    Help,
    _no_extra,
    parse_days,
    parse_decimal,
    parse_quantity,
    parse_sku,
)
from bot.core.text import clean_text

SUPPLIER_NAME_MAX = 100
EMAIL_MAX = 254
MAX_UNIT_COST = 1_000_000.0
# Quotes as phones and Macs type them: Slack passes “Acme Co” through as is.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "＂": '"', "「": '"', "」": '"'})
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_TEXT = 1000


@dataclass(frozen=True)
class SupplierAdd:
    name: str
    email: str
    lead_days: int
    moq: Optional[int] = None
    pack: Optional[int] = None
    currency: Optional[str] = None


@dataclass(frozen=True)
class SupplierList:
    pass


@dataclass(frozen=True)
class SupplierRemove:
    name: str


@dataclass(frozen=True)
class SupplierAssign:
    name: str
    target: str  # a SKU or 'PREFIX*'
    unit_cost: Optional[float] = None


@dataclass(frozen=True)
class SupplierImport:
    """`/supplier import`: opens the upload modal (columns sku, supplier, unit_cost)."""


@dataclass(frozen=True)
class PurchaseBatch:
    supplier: Optional[str] = None  # None: every supplier


SupplierRequest = Union[Help, SupplierAdd, SupplierList, SupplierRemove, SupplierAssign, SupplierImport]
PurchaseCommand = Union[Help, PurchaseBatch]
SUPPLIER_WRITES = (SupplierAdd, SupplierRemove, SupplierAssign, SupplierImport)


def tokens(text: Optional[str]) -> list[str]:
    """Words, with "quoted names" kept whole (straight or curly quotes)."""
    text = clean_text(text or "").strip().translate(_QUOTES)
    if len(text) > MAX_TEXT:
        raise CommandError("too_long", length=len(text), max=MAX_TEXT)
    if text.count('"') % 2:
        raise CommandError("unclosed_quote")
    return [match.group(1) if match.group(1) is not None else match.group(2) for match in _TOKEN.finditer(text)]


def parse_supplier_name(raw: Optional[str]) -> str:
    name = clean_text(raw or "").strip()
    if not name:
        raise CommandError("missing_supplier")
    if len(name) > SUPPLIER_NAME_MAX:
        raise CommandError("supplier_name_too_long", max=SUPPLIER_NAME_MAX)
    return name


def parse_email(raw: Optional[str]) -> str:
    if not raw:
        raise CommandError("missing_email")
    # Slack turns a typed address into <mailto:a@b.example|a@b.example>
    mailto = re.fullmatch(r"<mailto:([^|>]+)(?:\|[^>]*)?>", raw)
    value = (mailto.group(1) if mailto else raw).strip()
    if len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise CommandError("bad_email", value=value[:60])
    return value


def parse_currency(raw: Optional[str]) -> str:
    value = (raw or "").strip().upper()
    if not _CURRENCY.fullmatch(value):
        raise CommandError("bad_currency", value=(raw or "")[:20])
    return value


def parse_unit_cost(raw: Optional[str]) -> float:
    value = parse_decimal(raw, "unit_cost")
    if value > MAX_UNIT_COST:
        raise CommandError("number_too_big", what="unit_cost", value=(raw or "")[:40], max=f"{MAX_UNIT_COST:,.0f}")
    return round(value, 4)


def parse_assign_target(raw: Optional[str]) -> str:
    """A SKU or a prefix ending in `*` (`DRESS-*`)."""
    if raw and raw.endswith("*"):
        return parse_sku(raw[:-1]) + "*"
    return parse_sku(raw)


def parse_supplier(text: Optional[str]) -> SupplierRequest:
    words = tokens(text)
    if not words or words[0].lower() == "help":
        return Help("supplier")
    sub, args = words[0].lower(), words[1:]
    if sub == "list":
        _no_extra(args)
        return SupplierList()
    if sub == "import":
        _no_extra(args)
        return SupplierImport()
    if sub == "remove":
        name = parse_supplier_name(args[0] if args else None)
        _no_extra(args[1:])
        return SupplierRemove(name)
    if sub == "assign":
        name = parse_supplier_name(args[0] if args else None)
        target = parse_assign_target(args[1] if len(args) > 1 else None)
        rest, cost = args[2:], None
        if rest and rest[0].lower() == "cost":
            cost = parse_unit_cost(rest[1] if len(rest) > 1 else None)
            rest = rest[2:]
        elif rest:
            raise CommandError("unknown_option", option=rest[0][:40], allowed="cost")
        _no_extra(rest)
        return SupplierAssign(name, target, cost)
    if sub == "add":
        name = parse_supplier_name(args[0] if args else None)
        found: dict = {}
        rest = list(args[1:])
        while rest:
            option = rest.pop(0).lower()
            value = rest.pop(0) if rest else None
            if option == "email":
                found["email"] = parse_email(value)
            elif option == "lead":
                found["lead_days"] = parse_days(value, "lead", MAX_LEAD_DAYS)
            elif option in ("moq", "pack"):
                found[option] = parse_quantity(value, "moq" if option == "moq" else "case_pack", allow_zero=False)
            elif option == "currency":
                found["currency"] = parse_currency(value)
            else:
                raise CommandError("unknown_option", option=option[:40], allowed="email, lead, moq, pack, currency")
        if "email" not in found:
            raise CommandError("missing_email")
        if "lead_days" not in found:
            raise CommandError("missing_lead")
        return SupplierAdd(name, **found)
    raise CommandError("unknown_subcommand", sub=sub[:40], allowed="add, list, remove, assign, import, help")


def parse_purchase(text: Optional[str]) -> PurchaseCommand:
    words = tokens(text)
    if not words or words[0].lower() == "help":
        return Help("purchase")
    sub, args = words[0].lower(), words[1:]
    if sub == "batch":
        supplier = parse_supplier_name(args[0]) if args else None
        _no_extra(args[1:])
        return PurchaseBatch(supplier)
    raise CommandError("unknown_subcommand", sub=sub[:40], allowed="batch, help")


# ---- which supplier ---------------------------------------------------------------------------

def assignment_for(sku: str, targets: Iterable[str]) -> Optional[str]:
    """The most specific assignment of `sku` among `targets`: the SKU itself, else the longest
    prefix (`DRESS-RED-*` over `DRESS-*`); None when none applies."""
    best: Optional[str] = None
    for target in targets:
        if target == sku:
            return target
        if target.endswith("*") and sku.startswith(target[:-1]) and (best is None or len(target) > len(best)):
            best = target
    return best


# ---- quantities and orders --------------------------------------------------------------------

def round_order(quantity: int, pack: Optional[int] = None, moq: Optional[int] = None) -> int:
    """At least the MOQ, rounded up to whole packs, and at least 1."""
    wanted = max(int(quantity), moq or 0, 1)
    if pack and pack > 1:
        wanted = math.ceil(wanted / pack) * pack
    return wanted


def po_number(day: date, lead_id: int) -> str:
    return f"PO-{day:%Y%m%d}-{lead_id}"


@dataclass(frozen=True)
class PoLine:
    sku: str
    name: Optional[str]
    quantity: int
    unit_cost: Optional[float]

    @property
    def total(self) -> Optional[float]:
        return None if self.unit_cost is None else round(self.quantity * self.unit_cost, 2)


def po_total(lines: Sequence[PoLine]) -> Optional[float]:
    """The order's total; None when no line has a cost."""
    totals = [line.total for line in lines if line.total is not None]
    return round(sum(totals), 2) if totals else None


def money(value: Optional[float]) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if abs(value * 100 - round(value * 100)) < 1e-6 else f"{value:,.4f}".rstrip("0")


def po_document(po_number_: str, seller: str, supplier: str, currency: Optional[str], lines: Sequence[PoLine],
                requested_by: str, approved_by: str) -> dict:
    """The PO as JSON for PURCHASE_WEBHOOK_URL (ERPs)."""
    return {
        "po_number": po_number_, "seller": seller, "supplier": supplier, "currency": currency,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity, "unit_cost": line.unit_cost,
                   "total": line.total} for line in lines],
        "total": po_total(lines), "requested_by": requested_by, "approved_by": approved_by,
    }
