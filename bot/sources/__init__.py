"""Where stock and sales numbers come from.

A source reads rows or raises SourceError; it never writes. The checker writes what a
source read in one transaction, so a read that fails half-way changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional


class SourceError(Exception):
    """A read that must not be trusted: the message says what went wrong in plain words."""


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
