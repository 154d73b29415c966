"""Message builders (Slack payload dicts) and the en/zh string tables."""

from __future__ import annotations

import ast
import re
import string
from datetime import date, datetime, timezone

import pytest

import bot.core.commands as commands_module
from bot.core.commands import CommandError
from bot.core.tiers import Tier
from bot.i18n import STRINGS, t
from bot.messages import (
    ACTION_ACK,
    ACTION_REORDERED,
    REORDER_MODAL_CALLBACK,
    AlertView,
    ReorderView,
    alert_message,
    command_error_text,
    reorder_modal,
    slack_time,
)

READ_AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
LANGS = ("en", "zh")
TIER_WORDS = {Tier.WARNING: "WARNING", Tier.CRITICAL: "CRITICAL", Tier.OUT_OF_STOCK: "OUT OF STOCK"}
ZH_TIER_WORDS = {Tier.WARNING: "库存预警", Tier.CRITICAL: "库存告急", Tier.OUT_OF_STOCK: "已断货"}
WORDS = {"en": TIER_WORDS, "zh": ZH_TIER_WORDS}
# (tier, available, level shown in the fallback)
CASES = [(Tier.WARNING, 1400, "1,500"), (Tier.CRITICAL, 700, "750"), (Tier.OUT_OF_STOCK, -12, "1,500")]


def view(tier: Tier = Tier.WARNING, available: int = 1400, **overrides) -> AlertView:
    values = dict(alert_id=42, sku="连衣裙-红-XL", tier=tier, available=available, warning_level=1500,
                  critical_level=750, read_at=READ_AT)
    values.update(overrides)
    return AlertView(**values)


def all_text(payload) -> str:
    """Every string anywhere in a payload, joined (what a reader could see)."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        return "\n".join(all_text(value) for value in payload.values())
    if isinstance(payload, (list, tuple)):
        return "\n".join(all_text(value) for value in payload)
    return ""


def elements(message: dict) -> list[dict]:
    actions = [block for block in message["blocks"] if block["type"] == "actions"]
    assert len(actions) <= 1
    return actions[0]["elements"] if actions else []


def buttons(message: dict) -> list[dict]:
    """The buttons (the Snooze menu beside them is a select)."""
    return [element for element in elements(message) if element["type"] == "button"]


def status_text(message: dict) -> str:
    sections = [block for block in message["blocks"] if block["type"] == "section"]
    return sections[-1]["text"]["text"]


# ---- alert fallback text ---------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tier, available, level", CASES)
def test_fallback_text_has_sku_tier_word_available_and_level(lang, tier, available, level):
    text = alert_message(lang, view(tier, available))["text"]
    assert "连衣裙-红-XL" in text
    assert WORDS[lang][tier] in text
    for other_tier, word in WORDS[lang].items():
        if other_tier is not tier:
            assert word not in text
    if lang == "zh":  # the tier is named once, in Chinese
        assert not any(word in text for word in TIER_WORDS.values())
    assert f"{available:,}" in text
    assert level in text


def test_fallback_text_exact_english():
    assert alert_message("en", view(Tier.WARNING, 1400))["text"] == \
        "WARNING: 连衣裙-红-XL available 1,400 (warning level 1,500)"
    assert alert_message("en", view(Tier.CRITICAL, 700))["text"] == \
        "CRITICAL: 连衣裙-红-XL available 700 (critical level 750)"
    assert alert_message("en", view(Tier.OUT_OF_STOCK, 0))["text"] == \
        "OUT OF STOCK: 连衣裙-红-XL available 0 (warning level 1,500)"


def test_fallback_text_exact_chinese():
    assert alert_message("zh", view(Tier.CRITICAL, 700))["text"] == \
        "库存告急：连衣裙-红-XL 可用 700（告急线 750）"


def test_unknown_language_falls_back_to_english():
    assert alert_message("fr", view())["text"] == alert_message("en", view())["text"]


# ---- alert blocks ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tier, available, level", CASES)
def test_new_alert_has_both_buttons_with_the_alert_id(lang, tier, available, level):
    message = alert_message(lang, view(tier, available))
    pressed = buttons(message)
    assert [element["action_id"] for element in elements(message)] == [ACTION_ACK, ACTION_REORDERED,
                                                                         "purchase_request", "snooze"]
    assert ACTION_ACK == "ack_restock" and ACTION_REORDERED == "mark_reordered"
    assert all(button["value"] == "42" for button in pressed)
    assert [button["text"]["text"] for button in pressed] == [t(lang, "button.ack"), t(lang, "button.reordered"),
                                                              t(lang, "button.purchase_request")]
    header = message["blocks"][0]["text"]["text"]
    assert WORDS[lang][tier] in header and "连衣裙-红-XL" in header
    # what to do next is stated for an open alert
    assert status_text(message).startswith(t(lang, f"alert.todo.{tier.name}"))


def test_alert_fields_show_levels_and_on_order():
    message = alert_message("en", view(Tier.WARNING, 1400, on_order=2000, name="Red dress XL"))
    section = message["blocks"][0]
    # the name sits under the bold title: `*…*` across a line break would show literal asterisks
    assert section["text"]["text"] == "*🟠 WARNING · 连衣裙-红-XL*\nRed dress XL"
    assert [field["text"] for field in section["fields"]] == [
        "*Available*\n1,400", "*Warning level*\n1,500", "*Critical level*\n750", "*On order*\n2,000"]


def test_alert_without_on_order_has_three_fields():
    fields = alert_message("en", view())["blocks"][0]["fields"]
    assert len(fields) == 3
    assert "On order" not in all_text(fields)


def test_read_at_is_a_slack_date_token_with_utc_fallback():
    context = alert_message("en", view())["blocks"][1]
    assert context["type"] == "context"
    epoch = int(READ_AT.timestamp())
    assert context["elements"][0]["text"] == \
        f"Stock read <!date^{epoch}^{{date_short_pretty}} {{time}}|2026-03-02 09:30 UTC>"


def test_slack_time_treats_naive_as_utc():
    assert slack_time(datetime(2026, 3, 2, 9, 30)) == slack_time(READ_AT)


@pytest.mark.parametrize("lang, phrase", [("en", "Acknowledged by <@U0BUYER>"), ("zh", "<@U0BUYER> 已确认")])
def test_acked_alert_drops_the_ack_button(lang, phrase):
    message = alert_message(lang, view(acked_by="U0BUYER", acked_at=READ_AT))
    assert [button["action_id"] for button in buttons(message)] == [ACTION_REORDERED, "purchase_request"]
    assert buttons(message)[0]["value"] == "42"
    assert phrase in status_text(message)


def test_unacked_alert_does_not_say_acknowledged():
    assert "Acknowledged by" not in all_text(alert_message("en", view()))


@pytest.mark.parametrize("lang", LANGS)
def test_recovered_alert_has_no_buttons(lang):
    message = alert_message(lang, view(Tier.CRITICAL, 700, recovered_available=1600, recovered_at=READ_AT,
                                       acked_by="U0BUYER", acked_at=READ_AT))
    assert buttons(message) == []
    assert not any(block["type"] == "actions" for block in message["blocks"])
    status = status_text(message)
    assert "1,600" in status and "1,500" in status
    assert t(lang, "alert.todo.CRITICAL") not in status


def test_recovered_english_wording():
    message = alert_message("en", view(recovered_available=1600, recovered_at=READ_AT))
    assert f"✅ Recovered {slack_time(READ_AT)}: available 1,600, above the warning level 1,500." \
        in status_text(message).split("\n")


def test_reorder_lines_and_late_reorder():
    reorders = (ReorderView(quantity=2000, eta=date(2026, 3, 1), created_by="U0BUYER", late=True),
                ReorderView(quantity=500, eta=None, created_by="U0OTHER"))
    message = alert_message("en", view(reorders=reorders))
    lines = status_text(message).split("\n")
    assert "📦 Reorder placed: 2,000 by <@U0BUYER>, ETA 2026-03-01" in lines
    assert "⚠️ Reorder of 2,000 is LATE: ETA was 2026-03-01 and stock has not recovered." in lines
    assert "📦 Reorder placed: 500 by <@U0OTHER>" in lines
    assert sum("LATE" in line for line in lines) == 1
    # a reorder is recorded: the alert stops asking for one, and its facts replace the Mark-reorder button
    assert lines[0] == t("en", "alert.todo_ordered.WARNING")
    assert "Reorder soon" not in all_text(message)
    assert [button["action_id"] for button in buttons(message)] == [ACTION_ACK]


def test_late_reorder_line_in_chinese():
    reorders = (ReorderView(quantity=2000, eta=date(2026, 3, 1), created_by="U0BUYER", late=True),)
    assert "⚠️ 补货 2,000 已逾期：预计 2026-03-01 到货，库存仍未恢复。" in \
        status_text(alert_message("zh", view(reorders=reorders)))


def test_no_late_line_once_recovered():
    reorders = (ReorderView(quantity=2000, eta=date(2026, 3, 1), created_by="U0BUYER", late=True),)
    message = alert_message("en", view(reorders=reorders, recovered_available=1600))
    assert "LATE" not in all_text(message)
    assert "Reorder placed: 2,000" in status_text(message)


def test_not_late_reorder_has_no_late_line():
    reorders = (ReorderView(quantity=2000, eta=date(2026, 3, 20), created_by="U0BUYER", late=False),)
    assert "LATE" not in all_text(alert_message("en", view(reorders=reorders)))


# ---- reorder modal ---------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_reorder_modal_structure(lang):
    modal = reorder_modal(lang, 42, "连衣裙-红-XL")
    assert modal["type"] == "modal"
    assert modal["callback_id"] == REORDER_MODAL_CALLBACK == "reorder_modal"
    assert modal["private_metadata"] == "42"
    assert modal["title"]["text"] == t(lang, "modal.title")
    assert len(modal["title"]["text"]) <= 24  # Slack's limit for modal titles
    assert modal["submit"]["text"] == t(lang, "modal.submit")
    assert modal["close"]["text"] == t(lang, "modal.cancel")
    blocks = modal["blocks"]
    assert "连衣裙-红-XL" in blocks[0]["text"]["text"]
    inputs = {block["block_id"]: block for block in blocks if block["type"] == "input"}
    assert list(inputs) == ["quantity", "eta", "note"]
    # bot/listeners/views.py reads values[block_id]["value"]
    assert all(block["element"]["action_id"] == "value" for block in inputs.values())
    quantity = inputs["quantity"]
    assert quantity.get("optional", False) is False
    assert quantity["element"]["type"] == "number_input"
    assert quantity["element"]["is_decimal_allowed"] is False
    assert quantity["element"]["min_value"] == "1"
    assert inputs["eta"]["optional"] is True and inputs["eta"]["element"]["type"] == "datepicker"
    assert inputs["note"]["optional"] is True
    assert inputs["note"]["element"]["type"] == "plain_text_input"
    assert inputs["note"]["element"]["max_length"] == commands_module.MAX_NOTE_LENGTH


# ---- i18n tables -----------------------------------------------------------------------

def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_en_and_zh_have_the_same_keys():
    assert set(STRINGS) == {"en", "zh"}
    assert sorted(set(STRINGS["en"]) - set(STRINGS["zh"])) == []
    assert sorted(set(STRINGS["zh"]) - set(STRINGS["en"])) == []


@pytest.mark.parametrize("key", sorted(STRINGS["en"]))
def test_placeholders_match(key):
    assert placeholders(STRINGS["zh"][key]) == placeholders(STRINGS["en"][key]), key


def test_placeholder_parser_sees_fields():
    assert placeholders(STRINGS["en"]["alert.fallback"]) == {"tier", "sku", "available", "level_name", "level"}


def test_zh_tier_labels_are_chinese_only():
    for tier, word in TIER_WORDS.items():
        assert STRINGS["zh"][f"tier.{tier.name}"] == ZH_TIER_WORDS[tier]
        assert STRINGS["en"][f"tier.{tier.name}"] == word


def _error_calls() -> dict[str, set[str]]:
    """code -> keyword names, for every `CommandError("code", ...)` raised in bot/core/commands.py."""
    tree = ast.parse(open(commands_module.__file__, encoding="utf-8").read())
    calls: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CommandError":
            code = node.args[0].value
            calls.setdefault(code, set()).update(keyword.arg for keyword in node.keywords)
    assert len(calls) >= 20 and "missing_sku" in calls  # the scan itself works
    return calls


@pytest.mark.parametrize("lang", LANGS)
def test_every_command_error_code_has_wording_filled_by_its_details(lang):
    for code, details in _error_calls().items():
        key = f"error.{code}"
        assert key in STRINGS[lang], key
        assert placeholders(STRINGS[lang][key]) <= details, (key, details)


def test_every_quantity_kind_has_wording():
    source = open(commands_module.__file__, encoding="utf-8").read()
    kinds = set(re.findall(r'parse_(?:quantity|decimal|days|day)\([^\n]*?, "([a-z_]+)"', source))
    kinds |= set(re.findall(r'what="([a-z_]+)"', source))
    assert {"warning_level", "critical_level", "available", "quantity", "page", "daily", "lead", "case_pack",
            "moq", "campaign_id", "start", "end", "safety_days"} <= kinds
    for kind in kinds:
        for lang in LANGS:
            assert f"what.{kind}" in STRINGS[lang], (lang, kind)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("text, command", [
    ("set SKU1", "threshold"),
    ("set SKU1 -5", "threshold"),
    ("set SKU1 5 critical 9", "threshold"),
    ("set SKU1 5 channel #x", "threshold"),
    ("frob", "threshold"),
    ("set SKU1 5 warehouse", "stock"),
    ("SKU1 5 eta 2000-01-01", "reorder"),
    ("SKU1 0", "reorder"),
])
def test_command_error_text_renders_in_both_languages(lang, text, command):
    parsers = {"threshold": commands_module.parse_threshold, "stock": commands_module.parse_stock,
               "reorder": lambda raw: commands_module.parse_reorder(raw, date(2026, 3, 10))}
    with pytest.raises(CommandError) as info:
        parsers[command](text)
    rendered = command_error_text(lang, command, info.value)
    first, usage = rendered.split("\n", 1)
    assert first.startswith("⚠️ ")
    assert "{" not in first and "}" not in first
    assert usage == t(lang, f"usage.{command}")


def test_command_error_text_translates_the_quantity_kind():
    error = CommandError("missing_number", what="warning_level")
    assert command_error_text("en", "threshold", error).split("\n")[0] == "⚠️ The warning level is missing."
    assert command_error_text("zh", "threshold", error).split("\n")[0] == "⚠️ 缺少预警线。"


# ---- messages that tell the truth ------------------------------------------------------------

def _outlook(kind):
    from bot.core.forecast import AdGuidance, Outlook

    return Outlook(daily=10.0, days_of_cover=40.0, stockout_date=date(2026, 4, 11), suggested_qty=0,
                   guidance=AdGuidance(kind), lead_days=7)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tier", [Tier.WARNING, Tier.CRITICAL, Tier.OUT_OF_STOCK])
def test_an_alert_never_says_scale_ads(lang, tier):
    message = alert_message(lang, view(tier, 5, outlook=_outlook("scale")))
    scale = t(lang, "guidance.scale", cover="40", lead=7)
    assert scale not in all_text(message) and scale.split("—")[0].split("（")[0] not in all_text(message)
    assert "40" in all_text(message)  # the days of cover are still shown


def test_outlook_lines_keep_scale_ads_when_no_alert_is_open():
    from bot.messages import outlook_lines

    assert any("scaling ads" in line for line in outlook_lines("en", _outlook("scale")))
    assert not any("scaling ads" in line for line in outlook_lines("en", _outlook("scale"), Tier.WARNING))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tier", [Tier.WARNING, Tier.CRITICAL, Tier.OUT_OF_STOCK])
def test_once_a_reorder_is_recorded_the_alert_stops_asking_for_one(lang, tier):
    reorders = (ReorderView(quantity=2000, eta=date(2026, 3, 1), created_by="U0BUYER", late=True, note="PO-77"),)
    message = alert_message(lang, view(tier, 5, reorders=reorders, acked_by="U0BUYER", acked_at=READ_AT))
    status = status_text(message)
    assert status.startswith(t(lang, f"alert.todo_ordered.{tier.name}"))
    assert t(lang, f"alert.todo.{tier.name}") not in status
    assert "2,000" in status and "PO-77" in status and "2026-03-01" in status
    assert ("LATE" if lang == "en" else "已逾期") in status
    # acknowledged and reordered: nothing left to press; the alert can still be snoozed
    assert buttons(message) == [] and [e["action_id"] for e in elements(message)] == ["snooze"]


@pytest.mark.parametrize("lang, header, fallback", [
    ("en", "*✅ Recovered · 连衣裙-红-XL · was OUT OF STOCK*",
     "Recovered: 连衣裙-红-XL available 1,600 (warning level 1,500)"),
    ("zh", "*✅ 已恢复 · 连衣裙-红-XL · 曾已断货*", "已恢复：连衣裙-红-XL 可用 1,600（预警线 1,500）"),
])
def test_a_recovered_alert_looks_resolved(lang, header, fallback):
    message = alert_message(lang, view(Tier.OUT_OF_STOCK, 0, recovered_available=1600, recovered_at=READ_AT,
                                       on_order=2000, outlook=_outlook("reorder_now")))
    section = message["blocks"][0]
    assert section["text"]["text"] == header
    assert section["fields"][0]["text"] == t(lang, "alert.available", available="1,600")
    assert len(section["fields"]) == 3  # what was on order has arrived
    assert message["text"] == fallback
    assert "⛔" not in all_text(message) and not any(block["type"] == "actions" for block in message["blocks"])
    assert t(lang, "alert.todo.OUT_OF_STOCK") not in all_text(message)
    later = datetime(2026, 3, 4, 8, 0, tzinfo=timezone.utc)
    recovered_later = alert_message(lang, view(Tier.OUT_OF_STOCK, 0, recovered_available=1600, recovered_at=later))
    assert slack_time(later) in recovered_later["blocks"][1]["elements"][0]["text"]  # when that stock was read
