"""Stock from a CSV export, re-read at each check.

The whole file must parse or none of it is used: a half-written export must never turn
into a row of OUT OF STOCK alerts.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from typing import Iterator

from bot.core.commands import SKU_MAX_LENGTH
from bot.sources import SourceError, StockRow

REQUIRED_COLUMNS = ("sku", "available")
_NUMBER_RE = re.compile(r"^-?\d+(\.0+)?$")


def file_fingerprint(path: str) -> str:
    """A hash of the file's bytes, so an unchanged export is not written again."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError:
        raise SourceError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a folder, not a CSV file") from None
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror}") from None
    return digest.hexdigest()


def parse_available(raw: str) -> int:
    cleaned = raw.strip().replace(",", "")
    if not _NUMBER_RE.match(cleaned):
        raise ValueError(raw)
    return int(float(cleaned)) if "." in cleaned else int(cleaned)


def read_csv(path: str) -> Iterator[StockRow]:
    """Yield every row of the file; raise SourceError (with the line number) on the first bad one."""
    if not os.path.exists(path):
        raise SourceError(f"file not found: {path}")
    try:
        # utf-8-sig drops the byte-order mark Excel puts at the start of CSV exports.
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise SourceError(f"{path} is empty")
            columns = [name.strip().lower() for name in header]
            missing = [name for name in REQUIRED_COLUMNS if name not in columns]
            if missing:
                raise SourceError(
                    f"{path} has no {' or '.join(missing)} column (header: {', '.join(columns)[:200]})")
            sku_at, available_at = columns.index("sku"), columns.index("available")
            name_at = columns.index("name") if "name" in columns else None
            warehouse_at = columns.index("warehouse") if "warehouse" in columns else None
            rows = 0
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue  # blank line
                line = reader.line_num
                if len(cells) < len(columns):
                    raise SourceError(f"line {line}: expected {len(columns)} columns, found {len(cells)}")
                sku = cells[sku_at].strip()
                if not sku:
                    raise SourceError(f"line {line}: the sku is empty")
                if len(sku) > SKU_MAX_LENGTH:
                    raise SourceError(f"line {line}: sku is longer than {SKU_MAX_LENGTH} characters")
                try:
                    available = parse_available(cells[available_at])
                except ValueError:
                    raise SourceError(
                        f"line {line}: available {cells[available_at].strip()[:40]!r} for {sku} is not a number"
                    ) from None
                name = (cells[name_at].strip()[:255] or None) if name_at is not None else None
                warehouse = cells[warehouse_at].strip()[:64] if warehouse_at is not None else ""
                rows += 1
                yield StockRow(sku=sku, available=available, warehouse=warehouse, name=name)
            if rows == 0:
                raise SourceError(f"{path} has a header but no rows")
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text (save the export as CSV UTF-8)") from None
    except csv.Error as exc:
        raise SourceError(f"{path} is not a valid CSV file: {exc}") from None
