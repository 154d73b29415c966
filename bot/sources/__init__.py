"""Where stock and sales numbers come from.

A source reads rows or raises SourceError; it never writes. The checker writes what a
source read in one transaction, so a read that fails half-way changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Optional

from bot.core.commands import SKU_CHARACTERS, SKU_MAX_LENGTH


class Reason(str):
    """Why a read or a row was refused, in English, with a `code` and `detail` so a message can
    word it in the reader's language (bot/i18n.py `reason.<code>`)."""

    code: Optional[str]
    detail: dict

    def __new__(cls, text: str, code: Optional[str] = None, **detail: Any) -> "Reason":
        reason = super().__new__(cls, text)
        reason.code, reason.detail = code, detail
        return reason

    def replace(self, old: str, new: str, count: int = -1) -> "Reason":  # type: ignore[override]
        """The same reason with `old` replaced in its text and in its string details (e.g. a temporary path)."""
        detail = {key: value.replace(old, new) if isinstance(value, str) else value
                  for key, value in self.detail.items()}
        return Reason(str.replace(self, old, new, count), self.code, **detail)

    def to_json(self) -> str:
        """The text, code and details (nested reasons too), to store beside the English text
        so a stored reason (e.g. `/stock status`'s last error) is worded in the reader's language."""
        return json.dumps(self._as_dict(), ensure_ascii=False, default=str)

    def _as_dict(self) -> dict:
        detail = {key: {REASON_KEY: value._as_dict()} if isinstance(value, Reason) else value
                  for key, value in self.detail.items()}
        return {"text": str(self), "code": self.code, "detail": detail}

    @classmethod
    def from_json(cls, stored: Optional[str], text: str) -> "Reason":
        """The Reason `to_json` stored, or plain `text` when nothing (or something unreadable) was stored."""
        try:
            return cls._from_dict(json.loads(stored)) if stored else cls(text)
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls(text)

    @classmethod
    def _from_dict(cls, data: dict) -> "Reason":
        detail = {key: cls._from_dict(value[REASON_KEY]) if isinstance(value, dict) and REASON_KEY in value else value
                  for key, value in data["detail"].items()}
        return cls(data["text"], data.get("code"), **detail)


REASON_KEY = "$reason"


def reason_of(error: BaseException) -> Reason:
    """An exception's Reason (SourceError, RowError), or its text."""
    return getattr(error, "reason", None) or Reason(str(error))


class SourceError(Exception):
    """A read that must not be trusted: the message says what went wrong in plain words."""

    def __init__(self, text: str, code: Optional[str] = None, **detail: Any) -> None:
        super().__init__(text)
        self.reason = Reason(text, code, **detail)


@dataclass(frozen=True)
class StockRow:
    sku: str
    available: int
    warehouse: str = ""
    name: Optional[str] = None
    on_order: Optional[int] = None  # inbound quantity the source knows of (ERP/WMS), if any


@dataclass(frozen=True)
class SalesRow:
    """Units sold of one SKU on one day (in one warehouse when known)."""

    sku: str
    day: date
    units: int
    warehouse: str = ""


SKU_RULE = "letters, digits and - _ . / : + # ( ) only, up to 64 characters"


def sku_problem(sku: str) -> Optional[Reason]:
    """Why `sku` breaks the SKU rules of `/threshold set` (None when it keeps them), so every way
    in (files, uploads, pushes, SQL, TikTok) stores only SKUs a command can name."""
    if not sku:
        return Reason("the SKU is empty", "sku_empty")
    shown = repr(sku[:20]) + ("…" if len(sku) > 20 else "")
    if len(sku) > SKU_MAX_LENGTH:
        return Reason(f"SKU {shown} is longer than {SKU_MAX_LENGTH} characters", "sku_too_long",
                      sku=repr(sku[:20]), max=SKU_MAX_LENGTH)
    if not SKU_CHARACTERS.fullmatch(sku):
        return Reason(f"SKU {shown} has characters a SKU cannot have ({SKU_RULE})", "sku_rule",
                      sku=shown, max=SKU_MAX_LENGTH)
    return None
