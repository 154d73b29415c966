"""One-off imports of export files: dropped into Slack (a DM or `/stock import`) or given
to `stockbot import-sales FILE`. Reading and checking the file is `bot.sources.files`;
this is the shell that stores what it read and says what happened.

Unlike a configured source, an import is lenient: good rows are stored, each bad row is
reported with its line and reason, and SKUs the file leaves out are not marked stale.
A problem with the file as a whole (unreadable, no SKU column) stores nothing.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from functools import partial
from typing import Optional

from bot.checker import Checker
from bot.sources import Reason, SourceError, files, reason_of

UPLOAD_SOURCE = "upload"  # stock from files dropped into Slack
SALES_IMPORT_SOURCE = "import"  # sales history from files: one name, so re-importing a day replaces it
STOCK, SALES = "stock", "sales"
KINDS = (STOCK, SALES)


@dataclass
class ImportOutcome:
    file_name: str
    kind: str
    rows_read: int = 0
    stored: int = 0  # stock rows or (sku, day, warehouse) sales rows written
    skus: int = 0  # distinct SKUs those rows are for
    rejected: list[tuple[int, str]] = field(default_factory=list)
    unit: str = "line"
    unknown_headers: list[str] = field(default_factory=list)
    error: Optional[str] = None  # the file as a whole could not be imported: nothing stored


def _mapping(checker: Checker):
    spec = checker.settings.stock_columns
    return files.parse_column_mapping(spec) if spec else None


def import_path(checker: Checker, path: str, kind: str, file_name: Optional[str] = None) -> ImportOutcome:
    """Import a stock or sales file from disk; never raises for a bad file (see .error)."""
    outcome = ImportOutcome(file_name=file_name or os.path.basename(path), kind=kind)
    try:
        if kind == SALES:
            read = files.read_sales_file(path, _mapping(checker))
            store = partial(checker.write_sales, SALES_IMPORT_SOURCE)
        else:
            read = files.import_stock_file(path, _mapping(checker))
            store = partial(checker.accept_push, source=UPLOAD_SOURCE)
    except SourceError as exc:
        # The messages name the file by the path given; a temporary path means nothing to the user.
        outcome.error = reason_of(exc).replace(path, outcome.file_name)
        return outcome
    outcome.rows_read, outcome.rejected, outcome.unit = read.rows_read, read.rejected, read.unit
    outcome.unknown_headers, outcome.skus = read.unknown_headers, len({row.sku for row in read.rows})
    outcome.stored = store(read.rows) if read.rows else 0
    return outcome


def import_bytes(checker: Checker, file_name: str, data: bytes, kind: str) -> ImportOutcome:
    """Import a file received from Slack: written to a temporary file with its own extension."""
    suffix = os.path.splitext(file_name)[1].lower()
    if suffix not in files.CSV_EXTENSIONS + files.XLSX_EXTENSIONS:
        return ImportOutcome(file_name=file_name, kind=kind, error=Reason(f"{file_name} is not a CSV or XLSX file",
                                                                          "not_csv_xlsx", name=file_name))
    handle, path = tempfile.mkstemp(prefix="stockbot-import-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return import_path(checker, path, kind, file_name)
    finally:
        os.unlink(path)
