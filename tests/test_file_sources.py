"""Stock and sales from real CSV and XLSX exports on disk: header aliases and mappings,
encodings, number formats, strict (all or nothing) and lenient (import the good rows) reads,
folders of exports."""

from __future__ import annotations

import os
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from bot.sources import SalesRow, SourceError, StockRow, files
from bot.sources.files import (
    DEFAULT_ALIASES,
    file_fingerprint,
    import_stock_file,
    newest_export,
    parse_column_mapping,
    parse_day,
    parse_quantity,
    read_sales_file,
    read_stock_file,
    read_stock_source,
    resolve_columns,
    source_fingerprint,
)

TODAY = date(2026, 11, 25)


def write(tmp_path, content, name="stock.csv", encoding="utf-8"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding, newline="")
    return str(path)


def write_xlsx(tmp_path, rows, name="stock.xlsx", sheets=None):
    """rows: a list of rows for the first sheet; sheets: {title: rows} for several sheets."""
    workbook = Workbook()
    sheets = sheets or {"Sheet1": rows}
    for index, (title, sheet_rows) in enumerate(sheets.items()):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = title
        for number, row in enumerate(sheet_rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=number, column=column, value=value)
    path = tmp_path / name
    workbook.save(path)
    return str(path)


def strict_error(path, **kwargs) -> str:
    with pytest.raises(SourceError) as info:
        read_stock_file(path, **kwargs)
    return str(info.value)


# ---- CSV: encodings, headers, blank lines ----------------------------------------------

def test_chinese_headers_with_bom_and_blank_lines(tmp_path):
    content = "\ufeff商品编码,可用库存,仓库,商品名称\r\n连衣裙-红-XL,5,深圳仓,红色连衣裙\r\n\r\n,,,\r\nA1,0,上海仓,\r\n"
    read = read_stock_file(write(tmp_path, content.encode("utf-8")))
    assert read.rows == [StockRow("连衣裙-红-XL", 5, "深圳仓", "红色连衣裙"), StockRow("A1", 0, "上海仓", None)]
    assert read.rows_read == 2 and read.unknown_headers == []


def test_english_aliases_case_and_spacing(tmp_path):
    path = write(tmp_path, " Seller SKU ,Available_Quantity,WAREHOUSE,Product Name,In Transit\nA,7,EU,Dress,12\n")
    assert read_stock_file(path).rows == [StockRow("A", 7, "EU", "Dress", on_order=12)]


def test_earlier_alias_wins_when_an_export_has_several(tmp_path):
    # TikTok exports carry both its own SKU ID and the seller's SKU; 库存 (on hand) and 可用库存 (available).
    path = write(tmp_path, "SKU ID,Seller SKU,库存,可用库存\n1729384,RED-XL,10,4\n")
    read = read_stock_file(path)
    assert read.rows == [StockRow("RED-XL", 4)]
    assert read.unknown_headers == ["SKU ID", "库存"]


def test_gbk_csv_from_chinese_excel(tmp_path):
    path = write(tmp_path, "商品编码,可用库存,仓库\n连衣裙,5,深圳\n裤子,0,广州\n".encode("gbk"))
    assert read_stock_file(path).rows == [StockRow("连衣裙", 5, "深圳"), StockRow("裤子", 0, "广州")]


def test_utf8_file_cut_off_mid_character_is_not_read_as_gbk(tmp_path):
    whole = "商品编码,可用库存,仓库\n连衣裙,5,深圳仓\n裤子,7,深圳仓\n".encode("utf-8")
    path = write(tmp_path, whole[:-5])  # the export is still being written
    assert strict_error(path) == ("stock.csv is UTF-8 text with a broken character on line 3 "
                                  "(cut off while being written?); export it again")


def test_utf16_unicode_text_from_excel_is_tab_separated(tmp_path):
    path = write(tmp_path, "商品编码\t可用库存\r\n连衣裙\t5\r\n".encode("utf-16"), name="stock.txt")
    assert read_stock_file(path).rows == [StockRow("连衣裙", 5)]


def test_latin1_file_is_not_mistaken_for_chinese(tmp_path):
    path = write(tmp_path, "sku,name,available\nA,Crème brûlée,5\nB,Café,3\n".encode("latin-1"))
    assert "save the export as CSV UTF-8" in strict_error(path)


def test_semicolon_csv_from_european_excel(tmp_path):
    path = write(tmp_path, "sku;available\nA;1400\nB;1,5\n")
    read = import_stock_file(path)
    assert read.rows == [StockRow("A", 1400)]
    # The comma is a decimal mark there: 1,5 is refused, never read as 15.
    assert read.rejected == [(3, "available '1,5' for B is not a whole number")]


def test_title_line_above_the_header_is_skipped(tmp_path):
    path = write(tmp_path, "库存报表 2026-11-25,,\n\n商品编码,可用库存,仓库\nA,5,深圳\n")
    assert read_stock_file(path).rows == [StockRow("A", 5, "深圳")]


def test_excel_text_formula_keeps_leading_zeros(tmp_path):
    path = write(tmp_path, 'sku,available\n="00123",="5"\n')
    assert read_stock_file(path).rows == [StockRow("00123", 5)]


# ---- numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [
    ('"1,400"', 1400), ("1400.0", 1400), (" 1400 ", 1400), ("１４００", 1400), ('"１，４００"', 1400),
    ('"1,234,567"', 1234567), ("0", 0), ("-3", -3), ("－3", -3), ("-0", 0),
])
def test_number_formats(tmp_path, cell, expected):
    assert read_stock_file(write(tmp_path, f"sku,available\nA,{cell}\n")).rows[0].available == expected


@pytest.mark.parametrize("raw", ["1.5", "abc", "1e3", "1 400", "+5", "12pcs", "--1", "1,40", "1,4000", "²",
                                 "#N/A", True, 1.5, float("nan"), datetime(2026, 1, 1)])
def test_parse_quantity_refuses(raw):
    with pytest.raises(ValueError):
        parse_quantity(raw, allow_negative=True)


def test_parse_quantity_cells_and_empties():
    assert parse_quantity(1400) == 1400 and parse_quantity(1400.0) == 1400
    assert parse_quantity(None) is None and parse_quantity("  ") is None
    with pytest.raises(ValueError):
        parse_quantity(-1)  # negatives only where allowed (available)
    assert parse_quantity(-1, allow_negative=True) == -1


def test_negative_available_means_oversold_and_is_kept(tmp_path):
    """The reader keeps oversold as read (-4); the checker stores it as 0 available, oversold 4."""
    assert read_stock_file(write(tmp_path, "sku,available\nA,-4\n")).rows == [StockRow("A", -4)]


def test_negative_on_order_is_refused(tmp_path):
    message = strict_error(write(tmp_path, "sku,available,on_order\nA,4,-2\n"))
    assert message == "stock.csv, line 2: on_order '-2' for A is negative"


def test_huge_quantity_is_refused(tmp_path):
    assert "is too large" in strict_error(write(tmp_path, "sku,available\nA,99999999999\n"))


# ---- strict and lenient ----------------------------------------------------------------

BAD_FILE = "sku,available\nA,1\n\nB,lots\nC,1.5\n,4\nD,\nE,3\n"


def test_strict_names_the_line_and_the_value(tmp_path):
    message = strict_error(write(tmp_path, BAD_FILE))
    assert message == "stock.csv, line 4: available 'lots' for B is not a whole number"


def test_lenient_keeps_good_rows_and_says_why_for_the_bad(tmp_path):
    result = import_stock_file(write(tmp_path, BAD_FILE))
    assert result.rows == [StockRow("A", 1), StockRow("E", 3)]
    assert result.rows_read == 6
    assert result.rejected == [
        (4, "available 'lots' for B is not a whole number"),
        (5, "available '1.5' for C is not a whole number"),
        (6, "the SKU is empty"),
        (7, "available for D is empty"),
    ]
    assert result.unit == "line"


def test_row_width(tmp_path):
    short = write(tmp_path, "sku,available,name\nA,1,Dress\nB,2\n", name="short.csv")
    assert strict_error(short) == "short.csv, line 3: has 2 values but the header has 3 columns"
    shifted = write(tmp_path, "sku,name,available\nA,Dress, red,5\n", name="shifted.csv")
    assert "a comma inside a value that is not in quotes" in strict_error(shifted)
    trailing = write(tmp_path, "sku,available,\nA,1,\nB,2\n", name="trailing.csv")
    assert len(read_stock_file(trailing).rows) == 2  # a trailing comma in the header is no column


def test_sku_too_long(tmp_path):
    path = write(tmp_path, f"sku,available\n{'S' * 65},5\n")
    assert strict_error(path) == "stock.csv, line 2: SKU 'SSSSSSSSSSSSSSSSSSSS'… is longer than 64 characters"


def test_duplicate_rows(tmp_path):
    path = write(tmp_path, "sku,warehouse,available\nA,EU,1\nA,US,2\nA,EU,3\n")
    assert strict_error(path) == ("stock.csv, line 4: A in warehouse EU is listed twice (first on line 2); "
                                  "keep one row per SKU and warehouse")
    result = import_stock_file(path)
    assert result.rows == [StockRow("A", 1, "EU"), StockRow("A", 2, "US")]
    assert [number for number, _ in result.rejected] == [4]


def test_empty_and_header_only_files(tmp_path):
    assert strict_error(write(tmp_path, "\n\n", name="empty.csv")) == "empty.csv is empty"
    header_only = write(tmp_path, "sku,available\n\n", name="header.csv")
    assert strict_error(header_only) == "header.csv has a header but no rows"
    with pytest.raises(SourceError, match="has a header but no rows"):
        import_stock_file(header_only)


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.csv")
    assert strict_error(path) == f"file not found: {path}"
    assert strict_error(str(tmp_path / "nope.xlsx")) == f"file not found: {tmp_path / 'nope.xlsx'}"


# ---- header mapping --------------------------------------------------------------------

def test_missing_required_column_says_how_to_map(tmp_path):
    message = strict_error(write(tmp_path, "货品,数量\nA,1\n"))
    assert message.startswith("stock.csv has no sku or available column")
    assert "Columns found: 货品, 数量" in message
    assert "STOCK_COLUMNS=sku=YOUR_HEADER,available=YOUR_HEADER" in message
    assert "商品编码" in message  # says what it looked for


def test_user_mapping_overrides_and_extends_aliases(tmp_path):
    mapping = parse_column_mapping("sku=货品编号，available=可用; warehouse = 库位")
    assert mapping == {"sku": "货品编号", "available": "可用", "warehouse": "库位"}
    # "SKU" and "库存" would match by alias; the mapping says which columns are meant.
    path = write(tmp_path, "SKU,货品编号,库存,可用,库位,颜色\nX,A,10,4,L1,red\n")
    read = read_stock_file(path, mapping)
    assert read.rows == [StockRow("A", 4, "L1")]
    assert read.unknown_headers == ["SKU", "库存", "颜色"]


def test_mapped_column_that_is_missing_is_an_error(tmp_path):
    path = write(tmp_path, "sku,available\nA,1\n")
    message = strict_error(path, mapping={"warehouse": "仓位"})
    assert message == ("stock.csv has no column '仓位', which STOCK_COLUMNS names for warehouse. "
                       "Columns found: sku, available")


@pytest.mark.parametrize("spec, words", [
    ("sku", "`sku` has no `=`"),
    ("sku=A,colour=B", "unknown field 'colour'"),
    ("sku=", "has no column name"),
    ("sku=A,sku=B", "sku is given twice"),
    (" , ", "STOCK_COLUMNS is empty"),
])
def test_bad_mapping(spec, words):
    with pytest.raises(SourceError) as info:
        parse_column_mapping(spec)
    assert words in str(info.value)


def test_resolve_columns_reports_unknown_headers():
    columns = resolve_columns(["Seller SKU", "Qty", "Colour", "", "Size"], ("sku", "available"), ("warehouse",), None)
    assert columns.index == {"sku": 0, "available": 1}
    assert columns.unknown == ["Colour", "Size"]
    assert columns.header_of("available") == "Qty"


def test_header_units_and_markers_are_ignored():
    columns = resolve_columns(["*SKU编码", "可用库存(件)", "仓库　名称"], ("sku", "available"), ("warehouse",))
    assert columns.index == {"sku": 0, "available": 1, "warehouse": 2}


def test_every_alias_resolves_to_its_field():
    for name, aliases in DEFAULT_ALIASES.items():
        for alias in aliases:
            assert resolve_columns([alias], (name,), ()).index == {name: 0}, alias


# ---- XLSX ------------------------------------------------------------------------------

def test_xlsx_numbers_strings_and_a_blank_row(tmp_path):
    path = write_xlsx(tmp_path, [
        ["商品编码", "可用库存", "仓库", "在途"],
        [100234, 5, "深圳", None],       # a numeric SKU cell
        ["B", "1,400", "深圳", 20.0],    # a number stored as text, a float cell
        [None, None, None, None],
        ["C", 7.0, "", "３"],
    ])
    read = read_stock_file(path)
    assert read.rows == [StockRow("100234", 5, "深圳"), StockRow("B", 1400, "深圳", on_order=20),
                         StockRow("C", 7, "", on_order=3)]


def test_xlsx_strict_names_the_row(tmp_path):
    path = write_xlsx(tmp_path, [["sku", "available"], ["A", 1], [], ["B", 1.5]])
    assert strict_error(path) == "stock.xlsx, row 4: available '1.5' for B is not a whole number"
    result = import_stock_file(path)
    assert result.rows == [StockRow("A", 1)] and result.rejected == [(4, "available '1.5' for B is not a whole number")]
    assert result.unit == "row"


def test_xlsx_header_after_blank_rows_and_sheet_choice(tmp_path):
    path = write_xlsx(tmp_path, None, sheets={
        "Summary": [["总计", 12]],
        "Inventory": [[], [], ["Seller SKU", "Available"], ["A", 3], ["B", "x"]],
    })
    assert "no sku or available column" in strict_error(path)  # the first sheet is read by default
    assert strict_error(path, sheet="Inventory") == (
        "stock.xlsx, sheet Inventory, row 5: available 'x' for B is not a whole number")
    assert import_stock_file(path, sheet="Inventory").rows == [StockRow("A", 3)]
    assert strict_error(path, sheet="Nope") == "stock.xlsx has no sheet 'Nope' (sheets: Summary, Inventory)"


def test_xlsx_that_is_not_a_workbook(tmp_path):
    path = write(tmp_path, b"sku,available\nA,1\n", name="stock.xlsx")
    assert "is not an Excel workbook Stockbot can open" in strict_error(path)


# ---- folders, extensions, fingerprints ---------------------------------------------------

def test_newest_export_in_a_folder_wins(tmp_path):
    old = write(tmp_path, "sku,available\nA,1\n", name="export-1.csv")
    newest = write_xlsx(tmp_path, [["sku", "available"], ["A", 2]], name="export-2.xlsx")
    temp = write(tmp_path, b"junk", name="~$export-3.xlsx")
    hidden = write(tmp_path, "sku,available\nA,9\n", name=".export-4.csv")
    notes = write(tmp_path, "not an export", name="README.md")
    for age, path in enumerate([old, newest, temp, hidden, notes]):
        os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))
    os.mkdir(tmp_path / "archive.csv")  # a folder named like an export is not one
    assert newest_export(str(tmp_path)) == newest
    assert read_stock_source(str(tmp_path)).rows == [StockRow("A", 2)]
    assert source_fingerprint(str(tmp_path)) == file_fingerprint(newest)
    os.utime(old, (1_800_000_000, 1_800_000_000))
    assert read_stock_source(str(tmp_path)).rows == [StockRow("A", 1)]


def test_empty_and_missing_folder(tmp_path):
    write(tmp_path, b"", name="~$stock.xlsx")
    with pytest.raises(SourceError, match=r"^no export in .* \(looking for \*\.csv"):
        newest_export(str(tmp_path))
    with pytest.raises(SourceError, match="folder not found"):
        newest_export(str(tmp_path / "nope"))


@pytest.mark.parametrize("name, words", [
    ("stock.pdf", "Stockbot reads .csv, .tsv, .txt (CSV text) and .xlsx/.xlsm files, not .pdf"),
    ("stock.xls", "old Excel .xls file; save it as .xlsx"),
    ("stock", "not files without an extension"),
])
def test_unsupported_extension(tmp_path, name, words):
    path = write(tmp_path, "sku,available\nA,1\n", name=name)
    assert words in strict_error(path)


def test_fingerprint(tmp_path):
    path = write(tmp_path, "sku,available\nA,1\n")
    first = file_fingerprint(path)
    assert first == source_fingerprint(path) and len(first) == 64
    write(tmp_path, "sku,available\nA,2\n")
    assert file_fingerprint(path) != first
    with pytest.raises(SourceError, match="file not found"):
        file_fingerprint(str(tmp_path / "nope.xlsx"))


# ---- sales -----------------------------------------------------------------------------

def test_sales_csv_with_bad_dates_rejected(tmp_path):
    path = write(tmp_path, "\ufeffSKU,日期,销量,仓库\n"
                           "A,2026-11-20,3,EU\n"
                           "A,2026/11/21,2,EU\n"
                           "A,20/11/2026,1,EU\n"
                           "B,2026-11-21 14:03:00,4,\n"
                           "B,2026年11月21日,1,\n"
                           "C,2026-02-30,1,\n"
                           "C,2026-11-20,-1,\n"
                           "C,2027-01-01,1,\n"
                           "C,,1,\n")
    result = read_sales_file(path, today=TODAY)
    assert result.rows == [SalesRow("A", date(2026, 11, 20), 3, "EU"), SalesRow("A", date(2026, 11, 21), 2, "EU"),
                           SalesRow("B", date(2026, 11, 21), 5, "")]
    assert result.lines_merged == 1 and result.rows_read == 9
    reasons = dict(result.rejected)
    assert "date '20/11/2026' for A is not a date Stockbot reads: write it as 2026-11-20 or 2026/11/20" in reasons[4]
    assert "'2026-02-30'" in reasons[7]
    assert reasons[8] == "units '-1' for C is negative (returns are not counted as sales)"
    assert reasons[9] == "date 2027-01-01 for C is in the future"
    assert reasons[10] == "the date for C is empty"


def test_sales_xlsx_with_date_cells(tmp_path):
    path = write_xlsx(tmp_path, [["sku", "date", "units"],
                                 ["A", datetime(2026, 11, 20), 2],
                                 ["A", datetime(2026, 11, 20, 15, 30), 1.0],
                                 ["B", 46000, 1]], name="sales.xlsx")
    result = read_sales_file(path, today=TODAY)
    assert result.rows == [SalesRow("A", date(2026, 11, 20), 3)]
    assert result.rejected[0][0] == 4 and "is not a date" in result.rejected[0][1]


def test_sales_missing_column_message(tmp_path):
    with pytest.raises(SourceError) as info:
        read_sales_file(write(tmp_path, "sku,when,units\nA,2026-11-20,1\n"), today=TODAY)
    assert "has no date column" in str(info.value) and "date=YOUR_HEADER" in str(info.value)


def test_parse_day():
    assert parse_day("2026-1-5") == date(2026, 1, 5)
    assert parse_day("2026.11.20") == date(2026, 11, 20)
    assert parse_day(datetime(2026, 11, 20, 9)) == date(2026, 11, 20)
    for bad in ("11/20/2026", "20.11.2026", "2026-11", "20261120", "", 46000):
        with pytest.raises(ValueError):
            parse_day(bad)


def test_module_has_no_slack_or_database_imports():
    source = open(files.__file__, encoding="utf-8").read()
    for name in ("slack", "sqlalchemy", "sqlmodel", "storage"):
        assert f"import {name}" not in source and f"from {name}" not in source
