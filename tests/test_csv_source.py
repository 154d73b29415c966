"""Reading a stock CSV export from a real file: all rows parse, or a SourceError says which line failed."""

from __future__ import annotations

import pytest

from bot.sources import SourceError, StockRow, parse_source_spec
from bot.sources.csv_source import file_fingerprint, parse_available, read_csv


def write(tmp_path, content, name="stock.csv"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def read_all(path):
    return list(read_csv(path))


def error_of(path) -> str:
    with pytest.raises(SourceError) as info:
        read_all(path)
    return str(info.value)


def test_plain_file(tmp_path):
    path = write(tmp_path, "sku,available\nSKU123,1400\nSKU124,0\n")
    assert read_all(path) == [StockRow("SKU123", 1400, "", None), StockRow("SKU124", 0, "", None)]


def test_excel_bom_crlf_and_header_case_and_whitespace(tmp_path):
    content = "\ufeff SKU , Name ,AVAILABLE \r\nSKU123 , Red dress ,  1400 \r\n"
    path = write(tmp_path, content.encode("utf-8"))
    assert read_all(path) == [StockRow("SKU123", 1400, "", "Red dress")]


def test_blank_lines_are_skipped(tmp_path):
    path = write(tmp_path, "sku,available\n\nA,1\n,\n  ,  \n\nB,2\n\n")
    assert [(row.sku, row.available) for row in read_all(path)] == [("A", 1), ("B", 2)]


def test_name_and_warehouse_columns_in_any_order(tmp_path):
    path = write(tmp_path, "warehouse,available,name,sku\nUS-WEST,5,Red dress XL,连衣裙-红-XL\nEU,7,,连衣裙-红-XL\n")
    assert read_all(path) == [
        StockRow("连衣裙-红-XL", 5, "US-WEST", "Red dress XL"),
        StockRow("连衣裙-红-XL", 7, "EU", None),  # empty name becomes None
    ]


def test_extra_columns_are_ignored(tmp_path):
    path = write(tmp_path, "sku,price,available,reserved\nA,9.99,12,3\n")
    assert read_all(path) == [StockRow("A", 12, "", None)]


@pytest.mark.parametrize("cell, expected", [
    ('"1,400"', 1400),
    ("1400.0", 1400),
    ("1400.00", 1400),
    ('"1,400.0"', 1400),
    ("0", 0),
    ("-3", -3),      # oversold: negative is allowed and means OUT OF STOCK
    ("-0", 0),
    (" 42 ", 42),
])
def test_number_formats(tmp_path, cell, expected):
    path = write(tmp_path, f"sku,available\nA,{cell}\n")
    assert read_all(path)[0].available == expected


@pytest.mark.parametrize("raw", ["1400.5", "abc", "", "1e3", "1 400", "+5", "12pcs", "--1"])
def test_parse_available_refuses(raw):
    with pytest.raises(ValueError):
        parse_available(raw)


def test_bad_number_names_the_line(tmp_path):
    path = write(tmp_path, "sku,available\nA,1\n\nB,lots\nC,3\n")
    message = error_of(path)
    assert message.startswith("line 4:")
    assert "'lots'" in message and "B" in message


def test_fractional_number_is_refused(tmp_path):
    assert error_of(write(tmp_path, "sku,available\nA,1400.5\n")).startswith("line 2:")


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.csv")
    assert error_of(path) == f"file not found: {path}"


def test_empty_file(tmp_path):
    path = write(tmp_path, "")
    assert error_of(path) == f"{path} is empty"


def test_header_only(tmp_path):
    path = write(tmp_path, "sku,available\n")
    assert error_of(path) == f"{path} has a header but no rows"


def test_header_and_blank_lines_only(tmp_path):
    path = write(tmp_path, "sku,available\n\n\n")
    assert error_of(path) == f"{path} has a header but no rows"


@pytest.mark.parametrize("header, missing", [
    ("sku,qty", "available"),
    ("item,available", "sku"),
    ("name,warehouse", "sku or available"),
])
def test_missing_column(tmp_path, header, missing):
    path = write(tmp_path, f"{header}\nA,1\n")
    message = error_of(path)
    assert f"has no {missing} column" in message
    assert header.replace(",", ", ") in message


def test_non_utf8_bytes(tmp_path):
    path = write(tmp_path, "sku,name,available\nA,Café,5\n".encode("latin-1"))
    assert error_of(path) == f"{path} is not UTF-8 text (save the export as CSV UTF-8)"


def test_gbk_export_is_refused(tmp_path):
    path = write(tmp_path, "sku,name,available\nA,连衣裙,5\n".encode("gbk"))
    assert "is not UTF-8 text" in error_of(path)


def test_short_row_names_the_line(tmp_path):
    path = write(tmp_path, "sku,name,available\nA,Dress,5\nB,7\n")
    assert error_of(path) == "line 3: expected 3 columns, found 2"


def test_empty_sku(tmp_path):
    assert error_of(write(tmp_path, "sku,available\n ,5\n")) == "line 2: the sku is empty"


def test_sku_longer_than_64(tmp_path):
    ok = write(tmp_path, f"sku,available\n{'S' * 64},5\n", name="ok.csv")
    assert read_all(ok)[0].sku == "S" * 64
    bad = write(tmp_path, f"sku,available\n{'S' * 65},5\n", name="bad.csv")
    assert error_of(bad) == "line 2: sku is longer than 64 characters"


def test_no_row_is_trusted_before_the_bad_one_is_reached(tmp_path):
    """Callers must consume the whole generator: the error comes after good rows were yielded."""
    path = write(tmp_path, "sku,available\nA,1\nB,2\nC,x\n")
    rows = read_csv(path)
    assert next(rows) == StockRow("A", 1)
    assert next(rows) == StockRow("B", 2)
    with pytest.raises(SourceError, match="^line 4:"):
        next(rows)


def test_fingerprint_changes_with_content(tmp_path):
    path = write(tmp_path, "sku,available\nA,1\n")
    first = file_fingerprint(path)
    assert first == file_fingerprint(path) and len(first) == 64
    write(tmp_path, "sku,available\nA,2\n")
    assert file_fingerprint(path) != first


def test_fingerprint_missing_file_and_folder(tmp_path):
    with pytest.raises(SourceError, match="file not found"):
        file_fingerprint(str(tmp_path / "nope.csv"))
    with pytest.raises(SourceError, match="is a folder"):
        file_fingerprint(str(tmp_path))


def test_parse_source_spec():
    assert parse_source_spec("csv:/data/stock.csv") == ("csv", "/data/stock.csv")
    assert parse_source_spec(" CSV : /data/stock.csv ") == ("csv", "/data/stock.csv")
    for bad in ("/data/stock.csv", "csv:", "xlsx:/data/stock.xlsx"):
        with pytest.raises(SourceError):
            parse_source_spec(bad)
