"""Daily sales for the backtest: any CSV `date,sku,units` (or .csv.gz), the shipped Online Retail
data set, or the public CDNOW data set.

Online Retail (`online-retail`): real per-SKU daily units of a UK online gift retailer,
1,959 SKUs, 2010-12-01..2011-12-09, from the UCI Machine Learning Repository (CC BY 4.0),
shipped in `bot/data/` with its attribution (bot/data/README.md).

CDNOW (`cdnow`): the CDNOW master data set of Fader & Hardie, as shipped inside the PyPI
package Lifetimes (lifetimes==0.11.3, `lifetimes/datasets/CDNOW_master.txt`): 69,659 purchase
transactions of the 23,570 customers who first bought at the online CD retailer CDNOW in
Q1 1997, from 1997-01-01 to 1998-06-30. Columns: customer id, date YYYYMMDD, number of CDs,
dollar value. The adapter sums the CDs per day (a day without purchases is 0): one real
daily-demand series, SKU "CDNOW". Nothing is downloaded at run time: `pip install -e '.[eval]'`
installs the wheel that holds the file, and the file is found through the package metadata
without importing lifetimes (its import pulls in autograd and old pandas APIs).

`cdnow:N` splits the same transactions into N series by customer id modulo N (SKU
"CDNOW-k/N"): still only real purchases, each series a smaller, noisier slice of the shop,
so the policies are judged over more orders. It is a partition of customers, not real
products.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

ONLINE_RETAIL = Path(__file__).parent / "data" / "online-retail-daily.csv.gz"
CDNOW_FILE = "lifetimes/datasets/CDNOW_master.txt"
CDNOW_DISTRIBUTION = "lifetimes"
REQUIRED_COLUMNS = ("date", "sku", "units")


class DataError(ValueError):
    """The sales file cannot be used; the message says where and why."""


@dataclass
class Sales:
    name: str
    skus: list[str]  # biggest seller (most units) first
    first_day: date  # the date of column 0
    units: np.ndarray  # (SKUs, days) int64; a day without a row is 0
    rows: int  # data rows (or transactions) read

    @property
    def days(self) -> int:
        return int(self.units.shape[1])

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.first_day.toordinal() + self.days - 1)

    def row(self, sku: str) -> int:
        try:
            return self.skus.index(sku)
        except ValueError:
            raise DataError(f"SKU {sku!r} is not in {self.name} (SKUs: {', '.join(self.skus[:10])}"
                            f"{', ...' if len(self.skus) > 10 else ''})") from None


def load_sales(source: str) -> Sales:
    """`online-retail`, `cdnow`, `cdnow:N`, or the path of a CSV (or .csv.gz) with columns date, sku, units."""
    if source.lower() == "online-retail":
        sales = load_sales_csv(ONLINE_RETAIL)
        sales.name = "online-retail"
        return sales
    if source.lower() == "cdnow":
        return load_cdnow()
    if source.lower().startswith("cdnow:"):
        groups = source.split(":", 1)[1]
        if not groups.isdigit() or int(groups) < 1:
            raise DataError(f"{source!r}: write cdnow:N with N a whole number >= 1 (customer groups)")
        return load_cdnow(int(groups))
    return load_sales_csv(source)


def _dense(name: str, totals: dict[tuple[str, int], int], rows: int) -> Sales:
    """{(sku, day ordinal): units} -> one row per SKU over every day from the first to the last."""
    if not totals:
        raise DataError(f"{name}: no sales rows")
    ordinals = [day for _, day in totals]
    first, last = min(ordinals), max(ordinals)
    by_sku: dict[str, int] = {}
    for (sku, _), units in totals.items():
        by_sku[sku] = by_sku.get(sku, 0) + units
    skus = sorted(by_sku, key=lambda s: (-by_sku[s], s))
    index = {sku: i for i, sku in enumerate(skus)}
    matrix = np.zeros((len(skus), last - first + 1), dtype=np.int64)
    for (sku, day), units in totals.items():
        matrix[index[sku], day - first] += units
    return Sales(name, skus, date.fromordinal(first), matrix, rows)


# ---- any CSV: date,sku,units -----------------------------------------------------------------------

def load_sales_csv(path: str | Path) -> Sales:
    """Rows `date,sku,units` (header required, any order, extra columns ignored; several rows
    for one SKU and day add up). Dates YYYY-MM-DD, units whole numbers >= 0.
    Raises FileNotFoundError for a missing file and DataError naming the line of a bad row."""
    path = Path(path)
    name = path.name
    totals: dict[tuple[str, int], int] = {}
    rows = 0
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = None
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise DataError(f"{name}, line {reader.line_num}: the header must name the columns "
                                    f"date, sku, units (missing {', '.join(missing)}; found: {', '.join(header)})")
                where = {c: header.index(c) for c in REQUIRED_COLUMNS}
                continue
            line = reader.line_num
            if len(record) < len(header):
                raise DataError(f"{name}, line {line}: {len(record)} columns, the header has {len(header)}")
            raw_date, sku, raw_units = (record[where[c]].strip() for c in REQUIRED_COLUMNS)
            try:
                day = date.fromisoformat(raw_date)
            except ValueError:
                raise DataError(f"{name}, line {line}: bad date {raw_date!r} (expected YYYY-MM-DD)") from None
            if not sku:
                raise DataError(f"{name}, line {line}: the sku is empty")
            units = _whole_units(raw_units)
            if units is None:
                raise DataError(f"{name}, line {line}: units must be a whole number >= 0, got {raw_units!r}")
            key = (sku, day.toordinal())
            totals[key] = totals.get(key, 0) + units
            rows += 1
    if header is None:
        raise DataError(f"{name}: the file is empty (expected a header date,sku,units and daily rows)")
    return _dense(name, totals, rows)


def _whole_units(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value < 0 or value != int(value):
        return None
    return int(value)


# ---- CDNOW, from the Lifetimes wheel ------------------------------------------------------------------

def cdnow_path() -> Path:
    """Where the installed Lifetimes distribution keeps CDNOW_master.txt (without importing it)."""
    try:
        distribution = metadata.distribution(CDNOW_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise DataError("the CDNOW data set ships inside the Lifetimes package, which is not installed: "
                        "pip install -e '.[eval]'") from None
    path = Path(distribution.locate_file(CDNOW_FILE))
    if not path.is_file():
        raise DataError(f"Lifetimes {distribution.version} is installed but {CDNOW_FILE} is missing: "
                        f"pip install --force-reinstall -e '.[eval]'")
    return path


def load_cdnow(groups: int = 1) -> Sales:
    """CDs sold per day at CDNOW, 1997-01-01..1998-06-30: one series, or `groups` series by customer id."""
    path = cdnow_path()
    totals: dict[tuple[str, int], int] = {}
    rows = 0
    with open(path, encoding="ascii") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or (line_number == 1 and fields[0] == "customer_id"):
                continue
            try:
                customer, day, cds = int(fields[0]), datetime.strptime(fields[1], "%Y%m%d").date(), int(fields[2])
            except (ValueError, IndexError):
                raise DataError(f"{path}, line {line_number}: unexpected row {line.strip()!r}") from None
            sku = "CDNOW" if groups == 1 else f"CDNOW-{customer % groups}/{groups}"
            key = (sku, day.toordinal())
            totals[key] = totals.get(key, 0) + cds
            rows += 1
    return _dense("cdnow" if groups == 1 else f"cdnow:{groups}", totals, rows)
