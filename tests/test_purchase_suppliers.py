"""Suppliers: `/supplier` through signed slash commands (bad input answered, nothing stored), the
supplier import modal with a real CSV file, which supplier a SKU takes its terms from, and the
pure parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot import planning
from bot.core import purchase as core
from bot.core.commands import CommandError
from bot.sources import SalesRow
from storage import repo
from storage.db import Session
from storage.models import Supplier, SupplierSku
from tests.conftest import wait_until


def rows(bot, model):
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(model)).all())


def test_supplier_commands_and_bad_input(bot):
    reply = bot.ask("/supplier", 'add "Acme Co" email <mailto:buyer@acme.example|buyer@acme.example> lead 14 '
                                 'moq 100 pack 24 currency cny')
    assert "Supplier added" in reply and "buyer@acme.example" in reply and "CNY" in reply
    [acme] = rows(bot, Supplier)
    assert (acme.name, acme.email, acme.lead_days, acme.moq, acme.pack, acme.currency) == \
        ("Acme Co", "buyer@acme.example", 14, 100, 24, "CNY")

    bad = {
        'add "Beta" email buyer@@beta lead 7': "`buyer@@beta` is not an e-mail address",
        'add "Beta" email buyer@beta.example': "lead time is missing",
        'add "Beta" lead 7': "e-mail is missing",
        'add "Beta email b@beta.example lead 7': "quote is not closed",
        'add "Beta" email b@beta.example lead 0': "at least 1 day",
        'add "Beta" email b@beta.example lead 7 currency dollars': "`dollars` is not a currency code",
        'assign "Nope Ltd" SKU1': "No supplier called `Nope Ltd`; see `/supplier list`.",
        'assign "Acme Co" SKU1 cost -3': "can't be negative",
        'remove "Nope Ltd"': "No supplier called `Nope Ltd`",
        "fly": "Unknown command `fly`",
    }
    for text, expected in bad.items():
        answer = bot.ask("/supplier", text)
        assert expected in answer, (text, answer)
        assert "/supplier add" in answer  # the usage follows
    assert [s.name for s in rows(bot, Supplier)] == ["Acme Co"] and rows(bot, SupplierSku) == []

    assert "`SKU1` is bought from *Acme Co* at 3.20 CNY" in bot.ask("/supplier", "assign 'acme co' SKU1 cost 3.2"
                                                                    .replace("'", '"'))
    assert "`DRESS-*` is bought from" in bot.ask("/supplier", 'assign "Acme Co" DRESS-*')
    listing = bot.ask("/supplier", "list")
    assert "*Acme Co*" in listing and "2 SKUs" in listing
    assert "removed, with 2 SKU assignments" in bot.ask("/supplier", 'remove "ACME CO"')
    assert rows(bot, Supplier) == [] and rows(bot, SupplierSku) == []
    assert "No suppliers yet" in bot.ask("/supplier", "list")


def test_only_admins_change_suppliers(start_bot):
    bot = start_bot(threshold_admins=frozenset({"U0ADMIN"}))
    answer = bot.ask("/supplier", 'add "Acme Co" email buyer@acme.example lead 14', user="U0SOMEONE")
    assert "U0ADMIN" in answer and rows(bot, Supplier) == []
    assert "Supplier added" in bot.ask("/supplier", 'add "Acme Co" email buyer@acme.example lead 14', user="U0ADMIN")
    assert "*Acme Co*" in bot.ask("/supplier", "list", user="U0SOMEONE")  # reading is for everyone
    assert "U0ADMIN" in bot.ask("/purchase", "batch", user="U0SOMEONE")


def test_supplier_import_modal_reads_a_csv(bot, slack):
    bot.ask("/supplier", 'add "Acme Co" email buyer@acme.example lead 14')
    bot.ask("/supplier", 'add "Beta Trading" email sales@beta.example lead 30')
    result = bot.command("/supplier", "import")
    assert result.status == 200
    [opened] = slack.wait_for("views.open")
    assert opened["view"]["callback_id"] == "supplier_import"
    csv = ("SKU,供应商,单价\nSKU1,Acme Co,3.20\nDRESS-*,beta trading,\nSKU2,Nope Ltd,1\nbad sku!,Acme Co,1\n"
           "SKU3,Acme Co,abc\n").encode("utf-8")
    file_id = slack.add_file("suppliers.csv", csv)
    values = {"file": {"file": {"type": "file_input", "files": [{"id": file_id, "name": "suppliers.csv"}]}}}
    answer = bot.view_submission("supplier_import", "", values)
    assert answer.status == 200 and "errors" not in answer.body
    [summary] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == "U0BUYER")
    text = summary["text"]
    assert "5 lines read" in text and "2 SKUs assigned" in text and "3 rejected" in text
    assert "line 4: No supplier called `Nope Ltd`" in text and "line 5:" in text and "line 6:" in text
    assigned = {row.target: row for row in rows(bot, SupplierSku)}
    suppliers = {s.id: s.name for s in rows(bot, Supplier)}
    assert {t: (suppliers[r.supplier_id], r.unit_cost) for t, r in assigned.items()} == \
        {"SKU1": ("Acme Co", 3.2), "DRESS-*": ("Beta Trading", None)}
    empty = bot.view_submission("supplier_import", "", {"file": {"file": {"files": []}}})
    assert empty.json()["response_action"] == "errors"


def test_supplier_terms_plan_a_sku_unless_it_has_its_own(bot):
    bot.ask("/supplier", 'add "Acme Co" email buyer@acme.example lead 21 moq 50 pack 12')
    bot.ask("/supplier", 'add "Beta" email sales@beta.example lead 9')
    bot.ask("/supplier", 'assign "Acme Co" DRESS-*')
    bot.ask("/supplier", 'assign "Beta" DRESS-RED-*')  # the longer prefix wins
    end = repo.utcnow().date() - timedelta(days=1)
    bot.checker.write_sales("import", [SalesRow(sku, end - timedelta(days=i), 5)
                                       for i in range(30) for sku in ("DRESS-BLUE", "DRESS-RED-S", "HAT")])
    today = repo.utcnow().date()

    def plan(sku):
        with Session(bot.ctx.engine) as session:
            forecast = planning.forecast_for(session, bot.settings, sku, today)
        return forecast.lead_days, forecast.moq, forecast.case_pack

    default_lead = plan("HAT")[0]
    assert plan("DRESS-BLUE") == (21, 50, 12) and plan("DRESS-RED-S") == (9, None, None)
    assert default_lead not in (21, 9)
    bot.ask("/threshold", "lead DRESS-BLUE 5 pack 6")  # the SKU's own values win
    assert plan("DRESS-BLUE") == (5, 50, 6)
    # the nightly recompute reads the supplier's lead time too
    bot.ask("/threshold", "auto DRESS-RED-S")
    with Session(bot.ctx.engine) as session:
        method = wait_until(lambda: repo.get_plan(session, "DRESS-RED-S").method)
    assert "lead=9" in method


@pytest.mark.parametrize("text, expected", [
    ('add "Acme Co" email a@b.example lead 14', core.SupplierAdd("Acme Co", "a@b.example", 14)),
    ('add “Acme Co” email a@b.example lead 14d moq 1,000 pack 24 currency usd',
     core.SupplierAdd("Acme Co", "a@b.example", 14, 1000, 24, "USD")),
    ("add Acme email a@b.example lead 3", core.SupplierAdd("Acme", "a@b.example", 3)),
    ('assign "Acme Co" DRESS-* cost 3.20', core.SupplierAssign("Acme Co", "DRESS-*", 3.2)),
    ('remove "深圳 工厂"', core.SupplierRemove("深圳 工厂")),
    ("list", core.SupplierList()),
    ("import", core.SupplierImport()),
])
def test_parse_supplier(text, expected):
    assert core.parse_supplier(text) == expected


@pytest.mark.parametrize("text, code", [
    ('add "Acme email a@b.example lead 1', "unclosed_quote"),
    ('add "" email a@b.example lead 1', "missing_supplier"),
    ('add "Acme" email a@b lead 1', "bad_email"),
    ('add "Acme" email a@b.example', "missing_lead"),
    ('add "Acme" email a@b.example lead 1 moq 0', "zero_number"),
    ('add "Acme" email a@b.example lead 1 colour red', "unknown_option"),
    ('assign "Acme"', "missing_sku"),
    ('assign "Acme" SKU1 price 3', "unknown_option"),
    ('assign "Acme" SKU1 cost', "missing_number"),
    ("remove", "missing_supplier"),
    ("list extra", "unexpected_words"),
])
def test_parse_supplier_errors(text, code):
    with pytest.raises(CommandError) as caught:
        core.parse_supplier(text)
    assert caught.value.code == code


def test_purchase_maths():
    assert core.assignment_for("DRESS-RED-S", ["DRESS-*", "DRESS-RED-*", "HAT"]) == "DRESS-RED-*"
    assert core.assignment_for("DRESS-RED-S", ["DRESS-*", "DRESS-RED-S", "DRESS-RED-*"]) == "DRESS-RED-S"
    assert core.assignment_for("HAT", ["DRESS-*"]) is None
    assert [core.round_order(q, 24, 100) for q in (1, 100, 101, 120, 121)] == [120, 120, 120, 120, 144]
    assert core.round_order(0) == 1 and core.round_order(7, None, None) == 7
    lines = [core.PoLine("A", None, 3, 1.105), core.PoLine("B", None, 2, None)]
    assert lines[0].total == 3.31 and core.po_total(lines) == 3.31 and core.po_total(lines[1:]) is None
    assert core.parse_purchase('batch "Acme Co"') == core.PurchaseBatch("Acme Co")
    assert core.parse_purchase("") == core.parse_purchase("help")


def test_po_workbook_keeps_outside_text_as_text():
    import io
    from datetime import date

    from openpyxl import load_workbook

    from bot import purchase_messages as pm

    po = pm.PurchaseOrder("PO-20260701-3", "=cmd|' /C calc'!A0", "Acme Co", "a@b.example", "CNY",
                          [core.PoLine("SKU1", '=HYPERLINK("http://evil.example","x")', 2, 1.5)],
                          date(2026, 7, 1), date(2026, 7, 15))
    book = load_workbook(io.BytesIO(pm.po_xlsx("en", po)))
    cells = [cell for row in book.active.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert all(cell.data_type == "s" for cell in cells)
    values = [cell.value for cell in cells]
    assert '=HYPERLINK("http://evil.example","x")' in values and "=cmd|' /C calc'!A0" in values
    assert "Deliver by" in values and "2026-07-15" in values
