"""Stock and sales from spreadsheet exports (CSV or XLSX), whatever the ERP calls its columns.

Sellers export from ERPs, WMS and TikTok Seller Center, in English or Chinese, from Excel
or not. This module finds the columns (DEFAULT_ALIASES, or the seller's own mapping from
STOCK_COLUMNS), decodes the file (UTF-8, UTF-16 with BOM, GB18030/GBK) and turns rows into
StockRow/SalesRow. Two modes:

  strict   read_stock_file / read_stock_source: the scheduled source. All rows or a
           SourceError naming the file, the line (CSV) or row (XLSX) and the value: a
           half-written export must never turn into a row of OUT OF STOCK alerts.
  lenient  import_stock_file / read_sales_file: a file a user drops into Slack. The good
           rows are imported, each bad row is reported with why.

Decisions worth knowing:
  * A negative available quantity is read as is: some ERPs use it for "oversold". The
    checker stores it as 0 available with the oversold amount beside it (OUT OF STOCK, and
    "oversold by N" shown). Negative on_order and negative units sold are refused.
  * SKUs follow the rules of `/threshold set` (bot.sources.sku_problem); names and
    warehouses lose control characters (bot.core.text).
  * Quantities must be whole numbers: "1,400", "1400.0", " 1400 ", "１４００" are 1400;
    "1.5", "1e3", "1 400", "+5" are refused (better a visible error than a guess). In a
    semicolon-separated CSV (European Excel) the comma is a decimal mark, so "1,400" is
    refused there rather than read as 1400.
  * Dates are unambiguous only: 2026-11-20, 2026/11/20, 2026年11月20日 (a time after the
    date is ignored) and Excel date cells. 20/11/2026 and 11/20/2026 are refused: a
    day/month swap would silently move sales to the wrong day.
  * Several lines for the same SKU and day in a sales file are added up (order-line
    exports list one line per order). Two stock rows for the same SKU and warehouse are an
    error (strict) or the later one is rejected (lenient): there is no right value to keep.

Nothing here imports Slack or the database: messages are plain sentences, posted as is.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, Iterator, Mapping, Optional, Sequence

from bot.core.commands import MAX_QUANTITY, SKU_MAX_LENGTH
from bot.core.text import clean_text
from bot.sources import Reason, SalesRow, SourceError, StockRow, sku_problem

STOCK_REQUIRED = ("sku", "available")
STOCK_OPTIONAL = ("warehouse", "name", "on_order")
SALES_REQUIRED = ("sku", "date", "units")
SALES_OPTIONAL = ("warehouse",)
FIELDS = STOCK_REQUIRED + STOCK_OPTIONAL + ("date", "units")

WAREHOUSE_MAX_LENGTH = 64  # Stock.warehouse column
NAME_MAX_LENGTH = 255  # Stock.name column

# Headers each field is known by. When an export has several of them, the earlier one in
# the list wins (e.g. "Seller SKU" over TikTok's internal "SKU ID", 可用库存 over 库存).
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "seller_sku", "Seller SKU", "SKU ID", "SKU编码", "商家编码", "商品编码", "货号", "款号"),
    "available": ("available", "available_quantity", "可用库存", "可用数量", "可售库存", "qty", "quantity",
                  "on_hand", "现有库存", "库存"),
    "warehouse": ("warehouse", "仓库", "仓库名称"),
    "name": ("name", "product name", "title", "商品名称", "名称"),
    "on_order": ("on_order", "inbound", "in transit", "在途库存", "采购在途", "在途"),
    "date": ("date", "day", "日期", "销售日期", "order date"),
    "units": ("units", "units sold", "qty sold", "sold", "sales", "销量", "销售数量", "quantity", "qty", "数量"),
}

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
DEFAULT_PATTERNS = ("*.csv", "*.tsv", "*.xlsx", "*.xlsm")
MAPPING_SETTING = "STOCK_COLUMNS"
THE_FILE = Reason("the file", "the_file")  # what a column error calls a file it was given no name for
NONE_FOUND = Reason("(none)", "none_found")  # no headers (or sheets) at all

_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
# Full-width forms Chinese input methods produce in numbers; NFKC would also turn "²"
# into "2", so only these are translated.
_NUMBER_FORMS = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)},
                               "，": ",", "．": ".", "－": "-", "−": "-", "\u3000": " ", "\u00a0": " "})
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.0*)?")
_GROUPED_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.0*)?")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:$|[T\s])")
# Excel's way to keep leading zeros in a CSV cell: ="00123".
_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.S)


# ---- column mapping --------------------------------------------------------------------

def normalize_header(text: Any) -> str:
    """Compare headers the way a person reads them: case, spaces, _ and -, full-width
    letters, a leading * (required-column marker in templates) and a trailing unit in
    brackets ("可用库存(件)", "Available (pcs)") do not matter."""
    value = unicodedata.normalize("NFKC", "" if text is None else str(text)).translate(_ZERO_WIDTH)
    value = value.strip().strip("*").strip()
    without_unit = re.sub(r"\s*\([^()]*\)\s*$", "", value)
    value = without_unit or value
    return re.sub(r"[\s_\-]+", "", value).casefold()


def parse_column_mapping(spec: str) -> dict[str, str]:
    """`sku=货品编号,available=可用` -> {"sku": "货品编号", "available": "可用"}.

    Commas or semicolons (also full-width ，；) separate the parts. Unknown fields, parts
    without `=`, empty headers and a field given twice raise SourceError naming the part.
    """
    mapping: dict[str, str] = {}
    # NFKC turns the full-width ，；＝ a Chinese keyboard types into , ; =
    for part in re.split(r"[,;]", unicodedata.normalize("NFKC", spec or "")):
        part = part.strip()
        if not part:
            continue
        key, equals, header = part.partition("=")
        key, header = key.strip().lower(), header.strip()
        if not equals:
            raise SourceError(f"{MAPPING_SETTING}: `{part}` has no `=`; write it as field=header, "
                              f"e.g. sku=货品编号", "mapping_no_equals", setting=MAPPING_SETTING, part=part)
        if key not in FIELDS:
            raise SourceError(f"{MAPPING_SETTING}: `{part}` names an unknown field {key!r} "
                              f"(fields: {', '.join(FIELDS)})", "mapping_unknown_field", setting=MAPPING_SETTING,
                              part=part, field=repr(key), fields=", ".join(FIELDS))
        if not header:
            raise SourceError(f"{MAPPING_SETTING}: `{part}` has no column name after `=`", "mapping_no_header",
                              setting=MAPPING_SETTING, part=part)
        if key in mapping:
            raise SourceError(f"{MAPPING_SETTING}: {key} is given twice (`{key}={mapping[key]}` and `{part}`)",
                              "mapping_twice", setting=MAPPING_SETTING, field=key, first=mapping[key], part=part)
        mapping[key] = header
    if not mapping:
        raise SourceError(f"{MAPPING_SETTING} is empty; write it as sku=<header>,available=<header>", "mapping_empty",
                          setting=MAPPING_SETTING)
    return mapping


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is in the file (0-based column index), and what was left over."""

    index: dict[str, int]
    headers: list[str]  # the header row as found (stripped)
    unknown: list[str] = field(default_factory=list)  # headers not used for any field

    @cached_property  # asked for every row of a CSV file
    def width(self) -> int:
        """Columns up to the last named one: a trailing comma in the header adds none."""
        named = [at for at, text in enumerate(self.headers) if text]
        return named[-1] + 1 if named else 0

    def header_of(self, name: str) -> Optional[str]:
        at = self.index.get(name)
        return None if at is None else self.headers[at]


def resolve_columns(header: Sequence[Any], required: Sequence[str], optional: Sequence[str] = (),
                    mapping: Optional[Mapping[str, str]] = None, *,
                    aliases: Mapping[str, Sequence[str]] = DEFAULT_ALIASES,
                    setting: str = MAPPING_SETTING, source: str = THE_FILE) -> ColumnMap:
    """Find each field's column. A user mapping replaces the aliases of the fields it names.

    A missing required field raises SourceError that names it, lists the headers found and
    says how to set a mapping. A mapped column that is missing is an error too, even for
    an optional field: the seller said it is there, and guessing would e.g. write every
    warehouse's stock under no warehouse. Headers that match nothing land in `unknown`.
    """
    headers = ["" if cell is None else str(cell).translate(_ZERO_WIDTH).strip() for cell in header]
    positions: dict[str, int] = {}
    for at, text in enumerate(headers):
        positions.setdefault(normalize_header(text), at)  # the first of two equal headers wins
    wanted = [*required, *optional]
    mapping = {key: value for key, value in (mapping or {}).items() if key in wanted}
    index: dict[str, int] = {}
    taken: set[int] = set()
    for name, mapped in mapping.items():
        at = positions.get(normalize_header(mapped))
        if at is None:
            raise SourceError(f"{source} has no column {mapped!r}, which {setting} names for {name}. "
                              f"Columns found: {_list(headers)}", "mapped_column_missing", source=source,
                              column=repr(mapped), setting=setting, field=name, found=_list(headers))
        index[name] = at
        taken.add(at)
    missing = []
    for name in wanted:
        if name in index:
            continue
        for alias in aliases.get(name, (name,)):
            at = positions.get(normalize_header(alias))
            if at is not None and at not in taken:
                index[name] = at
                taken.add(at)
                break
        else:
            if name in required:
                missing.append(name)
    if missing:
        looked_for = "; ".join(f"{name}: {', '.join(_distinct(aliases.get(name, (name,)))[:8])}" for name in missing)
        example = ",".join(f"{name}=YOUR_HEADER" for name in required)
        raise SourceError(f"{source} has no {' or '.join(missing)} column (looked for {looked_for}). "
                          f"Columns found: {_list(headers)}. To use your own column names, set "
                          f"{setting}={example}", "columns_missing", source=source, fields=missing,
                          looked_for=looked_for, found=_list(headers), setting=setting, required=list(required))
    unknown = [text for at, text in enumerate(headers) if text and at not in taken]
    return ColumnMap(index=index, headers=headers, unknown=unknown)


def _distinct(names: Sequence[str]) -> list[str]:
    """Aliases that differ once normalised ("seller_sku" and "Seller SKU" are one)."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(normalize_header(name), name)
    return list(seen.values())


def _list(headers: Sequence[str], limit: int = 200) -> str:
    text = ", ".join(h for h in headers if h) or NONE_FOUND
    return text if len(text) <= limit else text[:limit] + "…"


# ---- cell values ---------------------------------------------------------------------

class RowError(ValueError):
    """One row cannot be used; the message says why, without the line number."""

    def __init__(self, text: str, code: Optional[str] = None, **detail: Any) -> None:
        super().__init__(text)
        self.reason = text if isinstance(text, Reason) and code is None else Reason(text, code, **detail)


def parse_quantity(value: Any, *, allow_negative: bool = False, comma_thousands: bool = True) -> Optional[int]:
    """A whole number from a CSV string or an XLSX cell; None when the cell is empty.

    Raises ValueError for anything that is not a whole number (the caller words the error).
    """
    if value is None:
        return None
    if isinstance(value, bool):  # an XLSX TRUE/FALSE cell is not a quantity
        raise ValueError(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(value)
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit():  # the common case, kept fast for 100 000-row files
            number = int(text)
        else:
            text = _unwrap_excel_text(text).translate(_NUMBER_FORMS).strip()
            if _PLAIN_NUMBER.fullmatch(text):
                pass
            elif comma_thousands and _GROUPED_NUMBER.fullmatch(text):
                text = text.replace(",", "")
            else:
                raise ValueError(value)
            number = int(text.split(".")[0])  # "-0" and "1400.00" are fine; the fraction is zeros
    else:  # dates, times and the like
        raise ValueError(value)
    if number < 0 and not allow_negative:
        raise ValueError(value)
    return number


def parse_day(value: Any) -> date:
    """A calendar day from an Excel date cell or an unambiguous year-first text; ValueError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    match = _DATE.match(_unwrap_excel_text(value.strip()).translate(_NUMBER_FORMS) + " ")
    if not match:
        raise ValueError(value)
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day)  # ValueError for 2026-02-30


def cell_text(value: Any) -> str:
    """A text cell as the seller sees it: 100234.0 from Excel is the SKU "100234"."""
    if type(value) is str:  # every CSV cell: the fast path
        text = value.strip()
        return _unwrap_excel_text(text) if text.startswith('="') else text
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()
    return _unwrap_excel_text(str(value).strip())


def _unwrap_excel_text(text: str) -> str:
    match = _EXCEL_TEXT.match(text)
    return match.group(1).strip() if match else text


def _shown(value: Any) -> str:
    """A cell quoted for an error message, short enough for Slack."""
    text = value.isoformat() if isinstance(value, (date, datetime)) else str(value).strip()
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


# ---- reading tables ------------------------------------------------------------------

@dataclass
class _Table:
    """The rows of one file, whatever its format: (row number, cells) without blank rows."""

    path: str
    unit: str  # "line" (CSV) or "row" (XLSX): what the seller sees in their editor
    where: str  # "stock.csv" or "stock.xlsx, sheet Inventory": names the file in messages
    header: list[Any]
    header_number: int
    rows: Iterator[tuple[int, list[Any]]]
    comma_thousands: bool = True


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _decode(raw: bytes, path: str, encoding: Optional[str]) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode text"), else
    GB18030 (a superset of GBK, what Chinese Excel saves "CSV" as)."""
    name = os.path.basename(path)
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(f"{name} cannot be read as {encoding}: {type(exc).__name__}", "decode_as", name=name,
                              encoding=encoding, error=type(exc).__name__) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise SourceError(f"{name} starts like UTF-16 text but is not; save the export as CSV UTF-8",
                              "utf16_broken", name=name) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if _mostly_utf8(raw):
            # A UTF-8 file with a few bad bytes (often one cut off while being written) would
            # decode as GB18030 into plausible-looking Chinese nonsense: refuse it instead.
            line = raw[:exc.start].count(b"\n") + 1
            raise SourceError(f"{name} is UTF-8 text with a broken character on line {line} "
                              f"(cut off while being written?); export it again", "utf8_broken", name=name,
                              line=line) from None
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    # Almost any bytes decode as GB18030; a Latin-1 or Windows-1252 file would come out as
    # nonsense. Accept the fallback only when what is not ASCII looks like Chinese text.
    if text is not None and _looks_chinese(text):
        return text
    raise SourceError(f"{name} is neither UTF-8 nor Chinese (GBK) text: save the export as CSV UTF-8",
                      "not_utf8_gbk", name=name)


def _mostly_utf8(raw: bytes) -> bool:
    """More well-formed UTF-8 characters than broken ones. Chinese GBK text is the other
    way round: only a few of its byte pairs happen to be valid UTF-8."""
    text = raw.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127) - broken
    return valid > broken


def _looks_chinese(text: str) -> bool:
    foreign = [ch for ch in text if ord(ch) > 127]
    if not foreign:
        return True
    chinese = sum(1 for ch in foreign if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
                  or "\uff00" <= ch <= "\uffef" or "\u3400" <= ch <= "\u4dbf" or "\u2010" <= ch <= "\u2027"
                  or ch in "·×")
    return chinese >= 0.9 * len(foreign)


def _delimiter(text: str, path: str) -> str:
    """Comma, tab (.tsv, Excel "Unicode text") or semicolon (European Excel), by the header line."""
    if path.lower().endswith(".tsv"):
        return "\t"
    for line in text[:65536].splitlines():
        if line.strip():
            counts = {sep: line.count(sep) for sep in (",", "\t", ";")}
            best = max(counts, key=lambda sep: counts[sep])
            return best if counts[best] else ","
    return ","


def _csv_table(path: str, encoding: Optional[str]) -> _Table:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise _open_error(path, exc) from None
    text = _decode(raw, path, encoding)
    delimiter = _delimiter(text, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    name = os.path.basename(path)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            for cells in reader:
                if "".join(cells).strip():  # not a blank line (CSV cells are all text)
                    yield reader.line_num, cells
        except csv.Error as exc:
            raise SourceError(f"{name} is not a valid CSV file (line {reader.line_num}: {exc})", "bad_csv",
                              name=name, line=reader.line_num, error=str(exc)) from None

    rows = numbered()
    first = next(rows, None)
    if first is None:
        raise SourceError(f"{name} is empty", "file_empty", name=name)
    return _Table(path=path, unit="line", where=name, header=first[1], header_number=first[0], rows=rows,
                  comma_thousands=delimiter != ";")


def _xlsx_table(path: str, sheet: Optional[str]) -> _Table:
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise SourceError("XLSX files need the openpyxl package; export the file as CSV UTF-8 instead",
                          "needs_openpyxl") from None
    name = os.path.basename(path)
    if not os.path.exists(path):
        raise SourceError(f"file not found: {path}", "file_not_found", path=path)
    try:
        # data_only: a formula cell gives the value Excel last computed, not "=B2-C2".
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise _open_error(path, exc) from None
    except Exception:  # zipfile.BadZipFile, InvalidFileException, KeyError on a damaged workbook...
        raise SourceError(f"{name} is not an Excel workbook Stockbot can open (an old .xls, a password, "
                          f"or a damaged file?); save it again as .xlsx or as CSV UTF-8", "not_workbook",
                          name=name) from None
    try:
        names = workbook.sheetnames
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in names:
            worksheet = workbook[sheet]
        else:
            raise SourceError(f"{name} has no sheet {sheet!r} (sheets: {_list(names)})", "no_sheet", name=name,
                              sheet=repr(sheet), sheets=_list(names))
        # Some exporters write a wrong size into the file; openpyxl would then silently stop
        # early. Forget it and read every row there is.
        worksheet.reset_dimensions()
        where = name if len(names) == 1 else Reason(f"{name}, sheet {worksheet.title}", "where_sheet", name=name,
                                                    sheet=worksheet.title)
        source_rows = worksheet.iter_rows(values_only=True)
    except SourceError:
        workbook.close()
        raise

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(source_rows, start=1):
                if not _is_blank(cells):
                    yield number, list(cells)
        except SourceError:
            raise
        except Exception as exc:  # a damaged sheet XML part
            raise SourceError(f"{where} could not be read to the end ({type(exc).__name__}); "
                              f"save it again as .xlsx or as CSV UTF-8", "read_to_end", where=where,
                              error=type(exc).__name__) from None
        finally:
            workbook.close()  # read_only keeps the file open until closed

    rows = numbered()
    first = next(rows, None)
    if first is None:
        raise SourceError(f"{where} is empty", "file_empty", name=where)
    return _Table(path=path, unit="row", where=where, header=first[1], header_number=first[0], rows=rows)


def _open_error(path: str, exc: OSError) -> SourceError:
    if isinstance(exc, FileNotFoundError):
        return SourceError(f"file not found: {path}", "file_not_found", path=path)
    if isinstance(exc, IsADirectoryError):
        return SourceError(f"{path} is a folder, not a file", "is_folder", path=path)
    return SourceError(f"cannot open {path}: {exc.strerror or exc}", "cannot_open", path=path,
                       error=str(exc.strerror or exc))


def open_table(path: str, *, sheet: Optional[str] = None, encoding: Optional[str] = None) -> _Table:
    """The header and rows of a CSV or XLSX file, chosen by its extension."""
    extension = os.path.splitext(path)[1].lower()
    if extension in CSV_EXTENSIONS:
        return _csv_table(path, encoding)
    if extension in XLSX_EXTENSIONS:
        return _xlsx_table(path, sheet)
    if extension == ".xls":
        raise SourceError(f"{os.path.basename(path)} is an old Excel .xls file; save it as .xlsx or as CSV UTF-8",
                          "old_xls", name=os.path.basename(path))
    raise SourceError(f"{os.path.basename(path)}: Stockbot reads .csv, .tsv, .txt (CSV text) and .xlsx/.xlsm "
                      f"files, not {extension or 'files without an extension'}",
                      "unsupported_type" if extension else "no_extension", name=os.path.basename(path),
                      extension=extension)


# ---- stock ---------------------------------------------------------------------------

@dataclass
class StockRead:
    """A strict read: every row of the file was good."""

    path: str
    rows: list[StockRow]
    columns: ColumnMap

    @property
    def rows_read(self) -> int:
        return len(self.rows)

    @property
    def unknown_headers(self) -> list[str]:
        return self.columns.unknown


@dataclass
class ImportResult:
    """A lenient read: the good rows, and every bad row with why (row number as in the editor)."""

    rows: list[StockRow]
    rows_read: int  # data rows in the file, blank rows not counted
    rejected: list[tuple[int, str]]
    unknown_headers: list[str]
    path: str = ""
    unit: str = "line"  # what the numbers in `rejected` count: "line" (CSV) or "row" (XLSX)


def _cell(cells: Sequence[Any], columns: ColumnMap, name: str) -> Any:
    at = columns.index.get(name)
    return cells[at] if at is not None and at < len(cells) else None


def _check_width(cells: Sequence[Any], columns: ColumnMap, fixed_width: bool) -> None:
    """CSV rows must be as wide as the header (an XLSX row simply ends at its last value).

    An unquoted comma in a name shifts every later value one column to the right, and a
    half-written last line is short: neither row can be trusted.
    """
    if not fixed_width:
        return
    width = columns.width
    if len(cells) > width and not _is_blank(cells[width:]):
        raise RowError(f"has {len(cells)} values but the header has {width} columns "
                       f"(a comma inside a value that is not in quotes?)", "too_many_values", count=len(cells),
                       width=width)
    if len(cells) < width:
        raise RowError(f"has {len(cells)} values but the header has {width} columns", "too_few_values",
                       count=len(cells), width=width)


def _sku(cells: Sequence[Any], columns: ColumnMap) -> str:
    sku = cell_text(_cell(cells, columns, "sku"))
    if not sku:
        raise RowError("the SKU is empty", "sku_empty")
    if len(sku) > SKU_MAX_LENGTH:
        raise RowError(f"SKU {sku[:20]!r}… is longer than {SKU_MAX_LENGTH} characters", "sku_too_long",
                       sku=repr(sku[:20]), max=SKU_MAX_LENGTH)
    problem = sku_problem(sku)  # the rules of /threshold set: a SKU no command could name is refused
    if problem:
        raise RowError(problem, "sku_bad_chars", sku=repr(sku[:20]))
    return sku


def _quantity(value: Any, label: str, sku: str, *, allow_negative: bool, comma_thousands: bool,
              required: bool, negative_hint: str = "") -> Optional[int]:
    try:
        number = parse_quantity(value, allow_negative=allow_negative, comma_thousands=comma_thousands)
    except ValueError:
        if not allow_negative and _parses_as_negative(value, comma_thousands):
            raise RowError(f"{label} {_shown(value)} for {sku} is negative{negative_hint}", "negative", label=label,
                           value=_shown(value), sku=sku, returns=bool(negative_hint)) from None
        raise RowError(f"{label} {_shown(value)} for {sku} is not a whole number", "not_whole", label=label,
                       value=_shown(value), sku=sku) from None
    if number is None:
        if required:
            raise RowError(f"{label} for {sku} is empty", "value_empty", label=label, sku=sku)
        return None
    if abs(number) > MAX_QUANTITY:
        raise RowError(f"{label} {number:,} for {sku} is too large (at most {MAX_QUANTITY:,})", "too_large",
                       label=label, value=f"{number:,}", sku=sku, max=f"{MAX_QUANTITY:,}")
    return number


def _parses_as_negative(value: Any, comma_thousands: bool) -> bool:
    try:
        number = parse_quantity(value, allow_negative=True, comma_thousands=comma_thousands)
    except ValueError:
        return False
    return number is not None and number < 0


def parse_stock_row(cells: Sequence[Any], columns: ColumnMap, comma_thousands: bool = True,
                    fixed_width: bool = False) -> StockRow:
    """One data row as a StockRow, or RowError saying why not."""
    _check_width(cells, columns, fixed_width)
    sku = _sku(cells, columns)
    available = _quantity(_cell(cells, columns, "available"), "available", sku, allow_negative=True,
                          comma_thousands=comma_thousands, required=True)
    on_order = _quantity(_cell(cells, columns, "on_order"), "on_order", sku, allow_negative=False,
                         comma_thousands=comma_thousands, required=False)
    name = clean_text(cell_text(_cell(cells, columns, "name"))).strip()[:NAME_MAX_LENGTH] or None
    warehouse = clean_text(cell_text(_cell(cells, columns, "warehouse"))).strip()[:WAREHOUSE_MAX_LENGTH]
    return StockRow(sku=sku, available=available, warehouse=warehouse, name=name, on_order=on_order)


def _duplicate(row: StockRow, first: int, unit: str) -> Reason:
    where = f" in warehouse {row.warehouse}" if row.warehouse else ""
    return Reason(f"{row.sku}{where} is listed twice (first on {unit} {first}); keep one row per SKU and warehouse",
                  "duplicate", sku=row.sku, warehouse=row.warehouse, unit=unit, first=first)


TITLE_ROWS = 5  # report titles ERPs put above the header ("库存报表 2026-11-25") that are skipped


def open_columns(path: str, required: Sequence[str], optional: Sequence[str],
                 mapping: Optional[Mapping[str, str]] = None, *, sheet: Optional[str] = None,
                 encoding: Optional[str] = None) -> tuple[_Table, ColumnMap]:
    """Open the file and find its header: the first non-blank row, or, when that row does
    not name the required columns, one of the next few (ERP reports often start with a
    title line). If none does, the error is the one about the first row."""
    table = open_table(path, sheet=sheet, encoding=encoding)
    try:
        try:
            return table, resolve_columns(table.header, required, optional, mapping, source=table.where)
        except SourceError as first_error:
            for tried, (number, cells) in enumerate(table.rows, start=1):
                try:
                    columns = resolve_columns(cells, required, optional, mapping, source=table.where)
                except SourceError:
                    if tried >= TITLE_ROWS:
                        break
                    continue
                table.header, table.header_number = cells, number
                return table, columns
            raise first_error from None
    except BaseException:
        table.rows.close()  # an XLSX workbook stays open until its rows are closed
        raise


def read_stock_file(path: str, mapping: Optional[Mapping[str, str]] = None, *, sheet: Optional[str] = None,
                    encoding: Optional[str] = None) -> StockRead:
    """Every row of a CSV/XLSX stock export, or SourceError at the first bad row (all or nothing).

    The message names the file, the line (CSV) or row (XLSX) and the value, e.g.
    "stock.csv, line 4: available 'lots' for B is not a whole number".
    """
    table, columns = open_columns(path, STOCK_REQUIRED, STOCK_OPTIONAL, mapping, sheet=sheet, encoding=encoding)
    rows: list[StockRow] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in table.rows:
        try:
            row = parse_stock_row(cells, columns, table.comma_thousands, table.unit == "line")
            first = seen.setdefault((row.sku, row.warehouse), number)
            if first != number:
                raise RowError(_duplicate(row, first, table.unit))
        except RowError as exc:
            table.rows.close()  # closes the XLSX workbook
            raise SourceError(f"{table.where}, {table.unit} {number}: {exc}", "row_in_file", where=table.where,
                              unit=table.unit, number=number, row=exc.reason) from None
        rows.append(row)
    if not rows:
        raise SourceError(f"{table.where} has a header but no rows", "no_rows", where=table.where)
    return StockRead(path=path, rows=rows, columns=columns)


def import_stock_file(path: str, mapping: Optional[Mapping[str, str]] = None, *, sheet: Optional[str] = None,
                      encoding: Optional[str] = None) -> ImportResult:
    """The good rows of a stock file, and each bad row with why (for a file dropped into Slack).

    A problem with the file as a whole (unreadable, no SKU column, no rows) still raises
    SourceError. A second row for the same SKU and warehouse is rejected; the first is kept.
    """
    table, columns = open_columns(path, STOCK_REQUIRED, STOCK_OPTIONAL, mapping, sheet=sheet, encoding=encoding)
    rows: list[StockRow] = []
    rejected: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    rows_read = 0
    for number, cells in table.rows:
        rows_read += 1
        try:
            row = parse_stock_row(cells, columns, table.comma_thousands, table.unit == "line")
        except RowError as exc:
            rejected.append((number, exc.reason))
            continue
        first = seen.setdefault((row.sku, row.warehouse), number)
        if first != number:
            rejected.append((number, _duplicate(row, first, table.unit)))
            continue
        rows.append(row)
    if rows_read == 0:
        raise SourceError(f"{table.where} has a header but no rows", "no_rows", where=table.where)
    return ImportResult(rows=rows, rows_read=rows_read, rejected=rejected, unknown_headers=columns.unknown,
                        path=path, unit=table.unit)


# ---- folders and fingerprints --------------------------------------------------------

def _is_temporary(name: str) -> bool:
    # ~$stock.xlsx: Excel's lock file while the workbook is open; .~lock.stock.csv#:
    # LibreOffice's; dotfiles: macOS ._ resource forks and editors' swap files.
    return name.startswith(("~", ".")) or name.endswith(("#", "~"))


def newest_export(folder: str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> str:
    """The most recently modified export in `folder` (not its subfolders).

    Temporary and hidden files are skipped; names are matched case-insensitively.
    """
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        raise SourceError(f"folder not found: {folder}", "folder_not_found", folder=folder) from None
    except NotADirectoryError:
        raise SourceError(f"{folder} is a file, not a folder", "not_a_folder", folder=folder) from None
    except OSError as exc:
        raise SourceError(f"cannot open the folder {folder}: {exc.strerror or exc}", "cannot_open_folder",
                          folder=folder, error=str(exc.strerror or exc)) from None
    lowered = [pattern.lower() for pattern in patterns]
    candidates = []
    for entry in entries:
        if _is_temporary(entry.name) or not any(fnmatch.fnmatchcase(entry.name.lower(), p) for p in lowered):
            continue
        try:
            if entry.is_file():
                candidates.append((entry.stat().st_mtime_ns, entry.name, entry.path))
        except OSError:
            continue  # removed while we looked
    if not candidates:
        raise SourceError(f"no export in {folder} (looking for {', '.join(patterns)})", "no_export", folder=folder,
                          patterns=", ".join(patterns))
    return max(candidates)[2]  # same time: the later name, so the choice does not flip between checks


def resolve_source_path(path_or_folder: str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> str:
    return newest_export(path_or_folder, patterns) if os.path.isdir(path_or_folder) else path_or_folder


def read_stock_source(path_or_folder: str, mapping: Optional[Mapping[str, str]] = None, *,
                      sheet: Optional[str] = None, patterns: Sequence[str] = DEFAULT_PATTERNS) -> StockRead:
    """The scheduled read: a file, or the newest export in a folder; strict (all or nothing)."""
    return read_stock_file(resolve_source_path(path_or_folder, patterns), mapping, sheet=sheet)


def file_fingerprint(path: str) -> str:
    """A hash of the file's bytes (CSV or XLSX), so an unchanged export is not written again."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise _open_error(path, exc) from None
    return digest.hexdigest()


def source_fingerprint(path_or_folder: str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> str:
    """The fingerprint of what read_stock_source would read now (the newest export of a folder)."""
    return file_fingerprint(resolve_source_path(path_or_folder, patterns))


# ---- sales ---------------------------------------------------------------------------

@dataclass
class SalesImport:
    """Units sold per SKU, day and warehouse; lines for the same key are added up."""

    rows: list[SalesRow]
    rows_read: int
    rejected: list[tuple[int, str]]
    unknown_headers: list[str]
    lines_merged: int = 0  # lines added to an earlier line for the same SKU, day and warehouse
    path: str = ""
    unit: str = "line"


def parse_sales_row(cells: Sequence[Any], columns: ColumnMap, comma_thousands: bool = True,
                    latest: Optional[date] = None, fixed_width: bool = False) -> SalesRow:
    _check_width(cells, columns, fixed_width)
    sku = _sku(cells, columns)
    raw_day = _cell(cells, columns, "date")
    if raw_day is None or (isinstance(raw_day, str) and not raw_day.strip()):
        raise RowError(f"the date for {sku} is empty", "date_empty", sku=sku)
    try:
        day = parse_day(raw_day)
    except ValueError:
        raise RowError(f"date {_shown(raw_day)} for {sku} is not a date Stockbot reads: write it as "
                       f"2026-11-20 or 2026/11/20 (day/month orders like 20/11/2026 are ambiguous)", "bad_date",
                       value=_shown(raw_day), sku=sku) from None
    if latest is not None and day > latest:
        raise RowError(f"date {day.isoformat()} for {sku} is in the future", "future_date", day=day.isoformat(),
                       sku=sku)
    units = _quantity(_cell(cells, columns, "units"), "units", sku, allow_negative=False,
                      comma_thousands=comma_thousands, required=True,
                      negative_hint=" (returns are not counted as sales)")
    warehouse = clean_text(cell_text(_cell(cells, columns, "warehouse"))).strip()[:WAREHOUSE_MAX_LENGTH]
    return SalesRow(sku=sku, day=day, units=units, warehouse=warehouse)


def read_sales_file(path: str, mapping: Optional[Mapping[str, str]] = None, *, sheet: Optional[str] = None,
                    encoding: Optional[str] = None, today: Optional[date] = None) -> SalesImport:
    """Daily sales from a CSV/XLSX file with columns sku, date, units[, warehouse] (lenient).

    Dates later than tomorrow (of `today`, default the machine's date; a day of slack for
    time zones) are rejected: they are typos, and would count as sales that never happened.
    """
    table, columns = open_columns(path, SALES_REQUIRED, SALES_OPTIONAL, mapping, sheet=sheet, encoding=encoding)
    latest = (today or date.today()) + timedelta(days=1)
    totals: dict[tuple[str, date, str], int] = {}
    rejected: list[tuple[int, str]] = []
    rows_read = merged = 0
    for number, cells in table.rows:
        rows_read += 1
        try:
            row = parse_sales_row(cells, columns, table.comma_thousands, latest, table.unit == "line")
        except RowError as exc:
            rejected.append((number, exc.reason))
            continue
        key = (row.sku, row.day, row.warehouse)
        if key in totals:
            merged += 1
        totals[key] = totals.get(key, 0) + row.units
    if rows_read == 0:
        raise SourceError(f"{table.where} has a header but no rows", "no_rows", where=table.where)
    rows = [SalesRow(sku=sku, day=day, units=units, warehouse=warehouse)
            for (sku, day, warehouse), units in totals.items()]
    return SalesImport(rows=rows, rows_read=rows_read, rejected=rejected, unknown_headers=columns.unknown,
                       lines_merged=merged, path=path, unit=table.unit)
