"""Parsing of pushes from any ERP/WMS (POST /api/stock, POST /api/sales): pure, no I/O.

A body is accepted whole or not at all: the first bad item is named in the error and
nothing of the body is stored, so a half-broken export can never half-update stock.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Optional

from bot.core.text import clean_text
from bot.sources import SalesRow, StockRow, sku_problem

MAX_ITEMS = 200_000  # one push; larger exports go in several


class PushError(ValueError):
    def __init__(self, message: str, item: Optional[int] = None) -> None:
        super().__init__(message)
        self.item = item

    def as_json(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error": str(self)}
        if self.item is not None:
            body["item"] = self.item
        return body


def _items(payload: Any) -> list:
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise PushError('the body must be a JSON object with a list "items", e.g. '
                        '{"items": [{"sku": "SKU123", "available": 1400}]}')
    items = payload["items"]
    if not items:
        raise PushError('"items" is empty: nothing to store')
    if len(items) > MAX_ITEMS:
        raise PushError(f'"items" has {len(items):,} entries; send at most {MAX_ITEMS:,} per request')
    return items


def _sku(item: dict, where: str, index: int) -> str:
    sku = item.get("sku")
    if not isinstance(sku, str) or not sku.strip():
        raise PushError(f"{where}.sku is missing or not a string", index)
    sku = sku.strip()
    problem = sku_problem(sku)  # the rules of /threshold set
    if problem:
        raise PushError(f"{where}.sku: {problem}", index)
    return sku


def _whole(item: dict, key: str, where: str, index: int, minimum: Optional[int] = None,
           required: bool = True) -> Optional[int]:
    value = item.get(key)
    if value is None and not required:
        return None
    # bool is an int in Python; `true` is not a quantity.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise PushError(f"{where}.{key} must be a whole number, got {json_repr(value)}", index)
    if minimum is not None and value < minimum:
        raise PushError(f"{where}.{key} must be at least {minimum}, got {int(value)}", index)
    return int(value)


def _warehouse(item: dict, where: str, index: int) -> str:
    warehouse = item.get("warehouse")
    if warehouse is None:
        return ""
    if not isinstance(warehouse, str) or len(warehouse.strip()) > 64:
        raise PushError(f"{where}.warehouse must be a string of at most 64 characters", index)
    return clean_text(warehouse).strip()


def json_repr(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text[:40]


def parse_stock_push(payload: Any) -> list[StockRow]:
    rows: dict[tuple[str, str], StockRow] = {}
    for index, item in enumerate(_items(payload)):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise PushError(f"{where} must be an object with sku and available", index)
        sku = _sku(item, where, index)
        # Negative available is how many ERPs show oversold stock: it is out of stock, not an error.
        available = _whole(item, "available", where, index)
        warehouse = _warehouse(item, where, index)
        on_order = _whole(item, "on_order", where, index, minimum=0, required=False)
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise PushError(f"{where}.name must be a string", index)
        if (sku, warehouse) in rows:
            raise PushError(f"{where} repeats {sku}{' @ ' + warehouse if warehouse else ''}: "
                            f"send each SKU and warehouse once", index)
        rows[(sku, warehouse)] = StockRow(sku=sku, available=int(available), warehouse=warehouse,
                                          name=(clean_text(name).strip()[:255] or None) if name else None, on_order=on_order)
    return list(rows.values())


def parse_sales_push(payload: Any, today: date) -> list[SalesRow]:
    rows: dict[tuple[str, str, date], SalesRow] = {}
    for index, item in enumerate(_items(payload)):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise PushError(f"{where} must be an object with sku, date and units", index)
        sku = _sku(item, where, index)
        raw_day = item.get("date")
        try:
            day = date.fromisoformat(raw_day) if isinstance(raw_day, str) and len(raw_day) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise PushError(f"{where}.date must be a date like 2026-11-20, got {json_repr(raw_day)}", index)
        if day > today:
            raise PushError(f"{where}.date {day.isoformat()} is in the future", index)
        units = _whole(item, "units", where, index, minimum=0)
        warehouse = _warehouse(item, where, index)
        if (sku, warehouse, day) in rows:
            raise PushError(f"{where} repeats {sku} on {day.isoformat()}: send one total per day", index)
        rows[(sku, warehouse, day)] = SalesRow(sku=sku, day=day, units=int(units), warehouse=warehouse)
    return list(rows.values())
