"""Slash-command text -> typed requests, and every CommandError code a user can hit."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.commands import (
    MAX_COMMAND_LENGTH,
    MAX_NOTE_LENGTH,
    SKU_MAX_LENGTH,
    CommandError,
    Help,
    ReorderCancel,
    ReorderList,
    ReorderRecord,
    StockChart,
    StockSet,
    StockShow,
    StockStatus,
    ThresholdGet,
    ThresholdHistory,
    ThresholdList,
    ThresholdRemove,
    ThresholdSet,
    parse_reorder,
    parse_stock,
    parse_threshold,
)

TODAY = date(2026, 3, 10)
UNICODE_SKU = "连衣裙-红-XL"


def error_of(call, *args) -> CommandError:
    with pytest.raises(CommandError) as info:
        call(*args)
    return info.value


# ---- /threshold ------------------------------------------------------------------------

@pytest.mark.parametrize("text", [None, "", "   ", "help", "HELP", "Help me"])
def test_threshold_help(text):
    assert parse_threshold(text) == Help("threshold")


def test_threshold_set_minimal_keeps_defaults():
    assert parse_threshold("set SKU123 1500") == ThresholdSet("SKU123", 1500, None, None)


def test_threshold_set_is_case_insensitive_in_keywords_not_in_sku():
    assert parse_threshold("SET Sku-abc 10 CRITICAL 3") == ThresholdSet("Sku-abc", 10, 3, None)


def test_threshold_set_with_comma_number_critical_and_channel_mention():
    request = parse_threshold("set SKU123 1,500 critical 500 channel <#C0123ABC|stock-alerts>")
    assert request == ThresholdSet("SKU123", 1500, 500, "C0123ABC")


def test_threshold_set_channel_options_in_any_order():
    request = parse_threshold("set SKU123 1500 channel <#C0123ABC|stock-alerts> critical 200")
    assert request == ThresholdSet("SKU123", 1500, 200, "C0123ABC")


@pytest.mark.parametrize("raw, channel", [
    ("<#C0123ABC|stock-alerts>", "C0123ABC"),
    ("<#C0123ABC|>", "C0123ABC"),           # newer Slack clients leave the name out
    ("<#C0123ABC>", "C0123ABC"),
    ("<#G0PRIVATE1|secret>", "G0PRIVATE1"),
    ("C0ALERTS", "C0ALERTS"),               # a raw channel ID
])
def test_threshold_channel_forms(raw, channel):
    assert parse_threshold(f"set SKU1 10 channel {raw}").channel == channel


@pytest.mark.parametrize("raw", ["#stock-alerts", "stock-alerts", "<@U0123ABC>", "C01", "c0123abcd",
                                 "<#D0123ABC|dm>"])
def test_threshold_bad_channel(raw):
    error = error_of(parse_threshold, f"set SKU1 10 channel {raw}")
    assert error.code == "bad_channel"
    assert error.detail == {"value": raw}


def test_threshold_missing_channel():
    assert error_of(parse_threshold, "set SKU1 10 channel").code == "missing_channel"


def test_threshold_set_unicode_sku():
    assert parse_threshold(f"set {UNICODE_SKU} 30") == ThresholdSet(UNICODE_SKU, 30, None, None)


def test_threshold_sku_length_limit_counts_characters():
    assert len(UNICODE_SKU * 8) == 64
    ok64 = "A" * SKU_MAX_LENGTH
    assert parse_threshold(f"get {ok64}") == ThresholdGet(ok64)
    assert parse_threshold(f"get {UNICODE_SKU * 8}") == ThresholdGet(UNICODE_SKU * 8)
    error = error_of(parse_threshold, f"get {'A' * 65}")
    assert error.code == "sku_too_long"
    assert error.detail == {"max": 64, "length": 65}
    assert error_of(parse_threshold, f"get {UNICODE_SKU * 8}X").detail == {"max": 64, "length": 65}


@pytest.mark.parametrize("sku", ["SKU_1", "a.b/c:d+e#f(g)", "ÄÖÜ-ß", "9"])
def test_allowed_sku_characters(sku):
    assert parse_threshold(f"get {sku}") == ThresholdGet(sku)


@pytest.mark.parametrize("sku", ["SKU*1", "SKU;DROP", "<b>", "sku,1", "👗-red", "a'b"])
def test_bad_sku_characters(sku):
    error = error_of(parse_threshold, f"get {sku}")
    assert error.code == "sku_bad_chars"
    assert error.detail == {"sku": sku}


@pytest.mark.parametrize("text, what", [
    ("set SKU1", "warning_level"),
    ("set SKU1 10 critical", "critical_level"),
])
def test_threshold_missing_number(text, what):
    error = error_of(parse_threshold, text)
    assert error.code == "missing_number"
    assert error.detail == {"what": what}


def test_threshold_missing_sku():
    assert error_of(parse_threshold, "set").code == "missing_sku"
    assert error_of(parse_threshold, "get").code == "missing_sku"
    assert error_of(parse_threshold, "remove").code == "missing_sku"
    assert error_of(parse_threshold, "history").code == "missing_sku"


def test_threshold_negative_number():
    error = error_of(parse_threshold, "set SKU1 -10")
    assert error.code == "negative_number"
    assert error.detail == {"what": "warning_level", "value": "-10"}
    assert error_of(parse_threshold, "set SKU1 -1,500").code == "negative_number"


@pytest.mark.parametrize("raw", ["ten", "1.5", "1e3", "+5", "15%", "0x10", ","])
def test_threshold_not_a_number(raw):
    error = error_of(parse_threshold, f"set SKU1 {raw}")
    assert error.code == "not_a_number"
    assert error.detail == {"what": "warning_level", "value": raw}


def test_threshold_number_limits():
    assert parse_threshold("set SKU1 1000000000").warning_level == 1_000_000_000
    assert parse_threshold("set SKU1 1,000,000,000").warning_level == 1_000_000_000
    error = error_of(parse_threshold, "set SKU1 1000000001")
    assert error.code == "number_too_big"
    assert error.detail == {"what": "warning_level", "value": "1000000001", "max": 1_000_000_000}


def test_threshold_zero_levels_are_allowed():
    assert parse_threshold("set SKU1 0") == ThresholdSet("SKU1", 0, None, None)
    assert parse_threshold("set SKU1 10 critical 0") == ThresholdSet("SKU1", 10, 0, None)


def test_threshold_critical_equal_to_warning_ok_above_refused():
    assert parse_threshold("set SKU1 500 critical 500").critical_level == 500
    error = error_of(parse_threshold, "set SKU1 500 critical 501")
    assert error.code == "critical_above_warning"
    assert error.detail == {"critical": 501, "warning": 500}


def test_threshold_unknown_option():
    error = error_of(parse_threshold, "set SKU1 500 colour red")
    assert error.code == "unknown_option"
    assert error.detail == {"option": "colour", "allowed": "critical, channel, warehouse"}


def test_threshold_warehouse_scope():
    assert parse_threshold("set SKU1 500 warehouse US-WEST").warehouse == "US-WEST"
    assert parse_threshold("set SKU1 500 warehouse all").warehouse == ""  # back to the SKU's total
    assert parse_threshold("set SKU1 500").warehouse is None  # keep whatever it was
    assert error_of(parse_threshold, "set SKU1 500 warehouse").code == "missing_warehouse"


def test_stock_status():
    assert parse_stock("status") == StockStatus()
    assert error_of(parse_stock, "status now").code == "unexpected_words"


def test_threshold_get_remove_history():
    assert parse_threshold("get SKU1") == ThresholdGet("SKU1")
    assert parse_threshold("remove SKU1") == ThresholdRemove("SKU1")
    assert parse_threshold(f"history {UNICODE_SKU}") == ThresholdHistory(UNICODE_SKU)


def test_threshold_unexpected_words():
    error = error_of(parse_threshold, "get SKU1 SKU2 SKU3")
    assert error.code == "unexpected_words"
    assert error.detail == {"words": "SKU2 SKU3"}


@pytest.mark.parametrize("text, expected", [
    ("list", ThresholdList("", 1)),
    ("list SKU", ThresholdList("SKU", 1)),
    ("list page 3", ThresholdList("", 3)),
    ("list 连衣裙 PAGE 2", ThresholdList("连衣裙", 2)),
])
def test_threshold_list(text, expected):
    assert parse_threshold(text) == expected


def test_threshold_list_errors():
    zero = error_of(parse_threshold, "list page 0")
    assert (zero.code, zero.detail) == ("zero_number", {"what": "page"})
    missing = error_of(parse_threshold, "list page")
    assert (missing.code, missing.detail) == ("missing_number", {"what": "page"})
    extra = error_of(parse_threshold, "list SKU page 2 more")
    assert (extra.code, extra.detail) == ("unexpected_words", {"words": "more"})


def test_threshold_unknown_subcommand():
    error = error_of(parse_threshold, "delete SKU1")
    assert error.code == "unknown_subcommand"
    assert error.detail == {"sub": "delete", "allowed": "set, get, list, remove, history, calc, auto, lead, help"}


def test_command_length_limit():
    padded = "get SKU1" + " " * (MAX_COMMAND_LENGTH - len("get SKU1"))
    assert parse_threshold(padded) == ThresholdGet("SKU1")  # surrounding spaces are stripped first
    text = "set SKU1 10 " + "x" * MAX_COMMAND_LENGTH
    error = error_of(parse_threshold, text)
    assert error.code == "too_long"
    assert error.detail == {"length": len(text), "max": MAX_COMMAND_LENGTH}


def test_command_error_is_a_value_error_carrying_its_code():
    error = error_of(parse_threshold, "get")
    assert isinstance(error, ValueError)
    assert str(error) == "missing_sku"
    assert error.detail == {}


# ---- /stock ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [None, "", "help", "Help"])
def test_stock_help(text):
    assert parse_stock(text) == Help("stock")


def test_stock_show():
    assert parse_stock("SKU123") == StockShow("SKU123")
    assert parse_stock(f"  {UNICODE_SKU}  ") == StockShow(UNICODE_SKU)


def test_stock_chart():
    assert parse_stock("SKU123 chart") == StockChart("SKU123")
    assert parse_stock("SKU123 CHART") == StockChart("SKU123")
    assert parse_stock("chart SKU123") == StockChart("SKU123")
    assert parse_stock(f"{UNICODE_SKU} 图表") == StockChart(UNICODE_SKU)


@pytest.mark.parametrize("text, code, detail", [
    ("chart", "missing_sku", {}),
    ("SKU1 chart now", "unexpected_words", {"words": "now"}),
    ("chart SKU1 SKU2", "unexpected_words", {"words": "SKU2"}),
    ("SKU1 graph", "unexpected_words", {"words": "graph"}),
    ("<!here> chart", "sku_bad_chars", {"sku": "<!here>"}),
])
def test_stock_chart_errors(text, code, detail):
    error = error_of(parse_stock, text)
    assert (error.code, error.detail) == (code, detail)


def test_stock_set():
    assert parse_stock("set SKU123 1,200") == StockSet("SKU123", 1200, None)
    assert parse_stock("set SKU123 0") == StockSet("SKU123", 0, None)
    assert parse_stock(f"set {UNICODE_SKU} 7 WAREHOUSE US-WEST") == StockSet(UNICODE_SKU, 7, "US-WEST")


@pytest.mark.parametrize("text, code, detail", [
    ("set", "missing_sku", {}),
    ("set SKU1", "missing_number", {"what": "available"}),
    ("set SKU1 -3", "negative_number", {"what": "available", "value": "-3"}),
    ("set SKU1 lots", "not_a_number", {"what": "available", "value": "lots"}),
    ("set SKU1 5 warehouse", "missing_warehouse", {}),
    ("set SKU1 5 warehouse US WEST", "unexpected_words", {"words": "WEST"}),
    ("set SKU1 5 shelf 3", "unexpected_words", {"words": "shelf 3"}),
    ("set SKU1 5 warehouse US/WEST*", "sku_bad_chars", {"sku": "US/WEST*"}),
    ("SKU1 SKU2", "unexpected_words", {"words": "SKU2"}),
    ("SKU?", "sku_bad_chars", {"sku": "SKU?"}),
])
def test_stock_errors(text, code, detail):
    error = error_of(parse_stock, text)
    assert (error.code, error.detail) == (code, detail)


def test_stock_sku_65_chars():
    assert parse_stock("B" * 64) == StockShow("B" * 64)
    assert error_of(parse_stock, "B" * 65).code == "sku_too_long"


# ---- /reorder --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [None, "", "help", "HELP"])
def test_reorder_help(text):
    assert parse_reorder(text, TODAY) == Help("reorder")


def test_reorder_minimal():
    assert parse_reorder("SKU123 2,000", TODAY) == ReorderRecord("SKU123", 2000, None, None)


@pytest.mark.parametrize("eta, expected", [
    ("0d", date(2026, 3, 10)),
    ("7d", date(2026, 3, 17)),
    ("7D", date(2026, 3, 17)),
    ("30d", date(2026, 4, 9)),
    ("366d", date(2027, 3, 11)),          # the furthest allowed
    ("2026-03-10", date(2026, 3, 10)),    # today is not in the past
    ("2026-12-10", date(2026, 12, 10)),
    ("2027-03-11", date(2027, 3, 11)),
])
def test_reorder_eta(eta, expected):
    assert parse_reorder(f"SKU123 2000 eta {eta}", TODAY) == ReorderRecord("SKU123", 2000, expected, None)


def test_reorder_eta_is_relative_to_the_given_today():
    assert parse_reorder("SKU1 5 eta 7d", date(2030, 12, 28)).eta == date(2031, 1, 4)


@pytest.mark.parametrize("eta, detail", [
    ("2026-03-09", {"eta": "2026-03-09"}),
    ("2025-12-31", {"eta": "2025-12-31"}),
])
def test_reorder_past_eta(eta, detail):
    error = error_of(parse_reorder, f"SKU1 5 eta {eta}", TODAY)
    assert (error.code, error.detail) == ("eta_in_past", detail)


@pytest.mark.parametrize("eta, detail", [("367d", {"eta": "2027-03-12"}), ("2027-03-12", {"eta": "2027-03-12"})])
def test_reorder_eta_too_far(eta, detail):
    error = error_of(parse_reorder, f"SKU1 5 eta {eta}", TODAY)
    assert (error.code, error.detail) == ("eta_too_far", detail)


@pytest.mark.parametrize("eta", ["tomorrow", "2026-02-30", "10/12/2026", "1000d", "-1d", "7days", "d"])
def test_reorder_bad_eta(eta):
    error = error_of(parse_reorder, f"SKU1 5 eta {eta}", TODAY)
    assert (error.code, error.detail) == ("bad_eta", {"value": eta})


def test_reorder_missing_eta():
    assert error_of(parse_reorder, "SKU1 5 eta", TODAY).code == "missing_eta"


def test_reorder_note_takes_the_rest_of_the_text():
    request = parse_reorder("SKU123 2000 eta 7d note Supplier 广州 PO-77 eta soon", TODAY)
    assert request == ReorderRecord("SKU123", 2000, date(2026, 3, 17), "Supplier 广州 PO-77 eta soon")


def test_reorder_note_without_eta():
    assert parse_reorder(f"{UNICODE_SKU} 50 note rush", TODAY) == ReorderRecord(UNICODE_SKU, 50, None, "rush")


def test_reorder_note_errors():
    assert error_of(parse_reorder, "SKU1 5 note", TODAY).code == "missing_note"
    at_limit = "n" * MAX_NOTE_LENGTH
    assert parse_reorder(f"SKU1 5 note {at_limit}", TODAY).note == at_limit
    error = error_of(parse_reorder, f"SKU1 5 note {at_limit}n", TODAY)
    assert (error.code, error.detail) == ("note_too_long", {"max": 500})


@pytest.mark.parametrize("text, code, detail", [
    ("SKU1", "missing_number", {"what": "quantity"}),
    ("SKU1 0", "zero_number", {"what": "quantity"}),
    ("SKU1 -5", "negative_number", {"what": "quantity", "value": "-5"}),
    ("SKU1 five", "not_a_number", {"what": "quantity", "value": "five"}),
    ("SKU1 5 supplier ACME", "unknown_option", {"option": "supplier", "allowed": "eta, note"}),
    ("cancel", "missing_sku", {}),
    ("cancel SKU1 SKU2", "unexpected_words", {"words": "SKU2"}),
    ("list SKU1 extra", "unexpected_words", {"words": "extra"}),
    ("S" * 65 + " 5", "sku_too_long", {"max": 64, "length": 65}),
])
def test_reorder_errors(text, code, detail):
    error = error_of(parse_reorder, text, TODAY)
    assert (error.code, error.detail) == (code, detail)


def test_reorder_list_and_cancel():
    assert parse_reorder("list", TODAY) == ReorderList(None)
    assert parse_reorder("LIST SKU1", TODAY) == ReorderList("SKU1")
    assert parse_reorder(f"cancel {UNICODE_SKU}", TODAY) == ReorderCancel(UNICODE_SKU)
