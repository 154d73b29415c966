"""Where stock numbers come from. Each source yields rows or raises SourceError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


class SourceError(Exception):
    """A read that must not be trusted: the message says what went wrong in plain words."""


@dataclass(frozen=True)
class StockRow:
    sku: str
    available: int
    warehouse: str = ""
    name: Optional[str] = None


def parse_source_spec(spec: str) -> tuple[str, str]:
    """`csv:/path/to/stock.csv` -> ("csv", "/path/to/stock.csv")."""
    kind, _, target = spec.partition(":")
    kind = kind.strip().lower()
    if kind != "csv" or not target.strip():
        raise SourceError(f"STOCK_SOURCE must look like csv:/path/to/stock.csv (got kind {kind!r})")
    return kind, target.strip()
