"""Suppliers in the database: `/supplier add|list|remove|assign|import`, and which supplier (with
its lead time, MOQ, pack and the SKU's unit cost) a SKU is bought from."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from bot.core import purchase as core
from bot.core.commands import CommandError
from bot.sources import Reason, SourceError, files, reason_of
from storage.models import Supplier, SupplierSku


@dataclass(frozen=True)
class SkuSupplier:
    """A SKU's supplier as assigned (the most specific assignment), with its unit cost."""

    supplier: Supplier
    target: str
    unit_cost: Optional[float]


def by_name(session: Session, name: str) -> Optional[Supplier]:
    """Case-insensitive: "acme co" finds "Acme Co"."""
    return session.exec(select(Supplier).where(func.lower(Supplier.name) == name.lower())).first()


def require(session: Session, name: str) -> Supplier:
    found = by_name(session, name)
    if found is None:
        raise CommandError("unknown_supplier", name=name[:core.SUPPLIER_NAME_MAX])
    return found


def all_suppliers(session: Session) -> list[Supplier]:
    return list(session.exec(select(Supplier).order_by(func.lower(Supplier.name))).all())


def add(session: Session, request: core.SupplierAdd, user: str, now: datetime) -> tuple[Supplier, bool]:
    """Add the supplier, or update the terms of the one with that name. (supplier, created)."""
    supplier = by_name(session, request.name)
    created = supplier is None
    if supplier is None:
        supplier = Supplier(name=request.name, email=request.email, lead_days=request.lead_days, created_by=user,
                            created_at=now)
    supplier.email, supplier.lead_days = request.email, request.lead_days
    supplier.moq, supplier.pack = request.moq, request.pack
    supplier.currency = request.currency or supplier.currency
    session.add(supplier)
    session.flush()
    return supplier, created


def remove(session: Session, name: str) -> tuple[Supplier, int]:
    """Remove the supplier and its assignments (requests keep their rows). (supplier, assignments removed)."""
    supplier = require(session, name)
    removed = session.exec(delete(SupplierSku).where(SupplierSku.supplier_id == supplier.id)).rowcount
    session.delete(supplier)
    session.flush()
    return supplier, int(removed or 0)


def assign(session: Session, supplier: Supplier, target: str, unit_cost: Optional[float], user: str,
           now: datetime) -> Optional[SupplierSku]:
    """Assign a SKU or prefix to the supplier (replacing an earlier assignment of it). Returns the
    earlier assignment's copy when there was one."""
    row = session.get(SupplierSku, target)
    before = SupplierSku.model_validate(row.model_dump()) if row is not None else None
    if row is None:
        row = SupplierSku(target=target, supplier_id=supplier.id, assigned_by=user, assigned_at=now)
    elif row.supplier_id != supplier.id or unit_cost is not None:
        row.unit_cost = None  # a cost belongs to a supplier: a new supplier without one has none
    row.supplier_id, row.assigned_by, row.assigned_at = supplier.id, user, now
    if unit_cost is not None:
        row.unit_cost = unit_cost
    session.add(row)
    session.flush()
    return before


def assignment_counts(session: Session) -> dict[int, int]:
    rows = session.exec(select(SupplierSku.supplier_id, func.count()).group_by(SupplierSku.supplier_id)).all()
    return {supplier_id: int(count) for supplier_id, count in rows}


def supplier_for(session: Session, sku: str) -> Optional[SkuSupplier]:
    """The SKU's supplier: its own assignment, else the longest prefix that matches it."""
    rows = session.exec(select(SupplierSku).where(
        (SupplierSku.target == sku) | col(SupplierSku.target).like("%*"))).all()
    return _pick(session, sku, {row.target: row for row in rows}, {})


def suppliers_for(session: Session, skus: Sequence[str]) -> dict[str, Optional[SkuSupplier]]:
    """Many SKUs at once (the nightly recompute, `/purchase batch`): the table is small, read it once."""
    if not skus:
        return {}
    rows = {row.target: row for row in session.exec(select(SupplierSku)).all()}
    cache: dict[int, Optional[Supplier]] = {}
    return {sku: _pick(session, sku, rows, cache) for sku in skus}


def _pick(session: Session, sku: str, rows: dict[str, SupplierSku],
          cache: dict[int, Optional[Supplier]]) -> Optional[SkuSupplier]:
    target = core.assignment_for(sku, rows)
    if target is None:
        return None
    row = rows[target]
    if row.supplier_id not in cache:
        cache[row.supplier_id] = session.get(Supplier, row.supplier_id)
    supplier = cache[row.supplier_id]
    return SkuSupplier(supplier, target, row.unit_cost) if supplier is not None else None


# ---- import ------------------------------------------------------------------------------------

IMPORT_REQUIRED = ("sku", "supplier")
IMPORT_OPTIONAL = ("unit_cost",)
IMPORT_ALIASES = {
    "sku": files.DEFAULT_ALIASES["sku"],
    "supplier": ("supplier", "vendor", "supplier name", "供应商", "供应商名称"),
    "unit_cost": ("unit_cost", "unit cost", "cost", "price", "采购价", "单价", "成本"),
}


@dataclass
class SupplierImportOutcome:
    file_name: str
    rows_read: int = 0
    assigned: int = 0
    rejected: list[tuple[int, CommandError]] = field(default_factory=list)  # (line or row, why)
    unit: str = "line"
    error: Optional[str] = None  # the file as a whole could not be read: nothing stored


def import_bytes(session: Session, file_name: str, data: bytes, user: str, now: datetime) -> SupplierImportOutcome:
    """Assign SKUs from a CSV/XLSX file (sku, supplier, unit_cost); bad rows are listed, good ones
    stored. The caller commits."""
    outcome = SupplierImportOutcome(file_name=file_name)
    suffix = os.path.splitext(file_name)[1].lower()
    if suffix not in files.CSV_EXTENSIONS + files.XLSX_EXTENSIONS:
        outcome.error = Reason(f"{file_name} is not a CSV or XLSX file", "not_csv_xlsx", name=file_name)
        return outcome
    handle, path = tempfile.mkstemp(prefix="stockbot-suppliers-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        try:
            table = files.open_table(path)
            try:
                columns = files.resolve_columns(table.header, IMPORT_REQUIRED, IMPORT_OPTIONAL,
                                                aliases=IMPORT_ALIASES, source=file_name)
                _import_rows(session, table, columns, outcome, user, now)
            finally:
                table.rows.close()
        except SourceError as exc:
            outcome.error = reason_of(exc).replace(path, file_name)
    finally:
        os.unlink(path)
    return outcome


def _import_rows(session, table, columns, outcome: SupplierImportOutcome, user: str, now: datetime) -> None:
    outcome.unit = table.unit
    known: dict[str, Optional[Supplier]] = {}
    for number, cells in table.rows:
        outcome.rows_read += 1

        def cell(name: str):
            at = columns.index.get(name)
            return files.cell_text(cells[at]) if at is not None and at < len(cells) else ""
        try:
            target = core.parse_assign_target(cell("sku"))
            name = core.parse_supplier_name(cell("supplier"))
            raw_cost = cell("unit_cost")
            cost = core.parse_unit_cost(raw_cost) if raw_cost else None
        except CommandError as error:
            outcome.rejected.append((number, error))
            continue
        key = name.lower()
        if key not in known:
            known[key] = by_name(session, name)
        if known[key] is None:
            outcome.rejected.append((number, CommandError("unknown_supplier", name=name)))
            continue
        assign(session, known[key], target, cost, user, now)
        outcome.assigned += 1

