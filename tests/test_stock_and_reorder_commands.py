"""/stock and /reorder, plus who may record reorders (commands, the button and the modal).

Everything goes through signed HTTP requests; results are read from the loopback Slack and
the real database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from storage import repo
from storage.db import Session
from storage.models import Alert, Reorder, Stock
from tests.conftest import ALERT_CHANNEL, wait_until, write_stock

REFUSAL = "Sorry, only threshold admins can do that here. Ask one of: <@U0ADMIN>."


def stock(bot) -> dict[tuple[str, str], Stock]:
    with Session(bot.ctx.engine) as session:
        return {(row.sku, row.warehouse): row for row in session.exec(select(Stock)).all()}


def reorders(bot) -> list[Reorder]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(Reorder).order_by(col(Reorder.id))).all())


def alerts(bot, sku: str) -> list[Alert]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(Alert).where(Alert.sku == sku).order_by(col(Alert.id))).all())


def today():
    return repo.utcnow().date()


def write_warehouse_stock(path, rows: list[tuple[str, str, int]]) -> None:
    """An ERP export with a warehouse column."""
    lines = ["sku,warehouse,name,available"] + [f"{sku},{wh},{sku} name,{n}" for sku, wh, n in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---- /stock SKU --------------------------------------------------------------------------

def test_stock_of_an_unknown_sku(bot):
    assert bot.ask("/stock", "NOPE-1") == \
        "No stock reading for *NOPE-1* yet. Record a count with `/stock set NOPE-1 1200`."


def test_stock_shows_available_levels_and_ok_state(bot, stock_file):
    write_stock(stock_file, {"SKU123": 5200})
    bot.checker.run_check()
    bot.ask("/threshold", "set SKU123 1500")

    lines = bot.ask("/stock", "SKU123").splitlines()

    assert lines[0] == "*SKU123* (SKU123 name): available *5,200*"
    assert lines[1] == "Warning at 1,500, critical at 750."
    assert lines[2] == "State: OK."
    assert lines[3].startswith("Read <!date^") and lines[3].endswith(f"from `csv:{stock_file}`.")


def test_stock_without_a_threshold_says_so(bot, stock_file):
    write_stock(stock_file, {"SKU123": 40})
    bot.checker.run_check()
    reply = bot.ask("/stock", "SKU123")
    assert "available *40*" in reply
    assert "No threshold set: `/threshold set SKU123 1500`." in reply


def test_stock_shows_the_open_alert_and_who_acknowledged_it(bot, slack, stock_file):
    bot.ask("/threshold", "set SKU123 1500")
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    [alert] = alerts(bot, "SKU123")

    reply = bot.ask("/stock", "SKU123")
    assert "available *1,400*" in reply
    assert "State: WARNING alert open since <!date^" in reply and "acknowledged" not in reply

    assert bot.action("ack_restock", str(alert.id), user="U0ALICE", message_ts=alert.ts).status == 200
    slack.wait_for("chat.update", lambda p: p.get("ts") == alert.ts)
    reply = bot.ask("/stock", "SKU123", user="U0BOB")
    assert ", acknowledged by <@U0ALICE>." in reply


def test_stock_sums_warehouses(bot, stock_file):
    write_warehouse_stock(stock_file, [("SKU123", "US-WEST", 500), ("SKU123", "US-EAST", 800), ("OTHER", "US-EAST", 1)])
    bot.checker.run_check()
    reply = bot.ask("/stock", "SKU123")
    assert reply.splitlines()[0] == "*SKU123* (SKU123 name): available *1,300* (US-EAST: 800, US-WEST: 500)"


def test_stock_skus_are_case_sensitive(bot, stock_file):
    write_stock(stock_file, {"SKU123": 10, "sku123": 20})
    bot.checker.run_check()
    assert "available *10*" in bot.ask("/stock", "SKU123")
    assert "available *20*" in bot.ask("/stock", "sku123")


# ---- /stock set --------------------------------------------------------------------------

def test_stock_set_records_a_manual_count_and_alerts_at_once(bot, slack):
    bot.ask("/threshold", "set SKU123 1500")

    reply = bot.ask("/stock", "set SKU123 700")

    assert reply == "✅ *SKU123*: available set to 700. Checking it now."
    row = stock(bot)[("SKU123", "")]
    assert (row.available, row.source) == (700, "manual")
    # No run_check() here: the command itself checks the SKU and the alert reaches Slack.
    [post] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == ALERT_CHANNEL)
    assert post["text"] == "CRITICAL: SKU123 available 700 (critical level 750)"
    [alert] = wait_until(lambda: [a for a in alerts(bot, "SKU123") if a.ts])
    assert (alert.tier, alert.available, alert.channel) == (2, 700, ALERT_CHANNEL)
    assert slack.messages[(ALERT_CHANNEL, alert.ts)]["text"] == post["text"]  # the ts Slack gave is stored


def test_stock_set_above_the_level_posts_nothing(bot, slack):
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/stock", "set SKU123 1,600")
    assert stock(bot)[("SKU123", "")].available == 1600
    # A later SKU that does alert proves the check ran; SKU123 posted nothing before it.
    bot.ask("/threshold", "set SKU9 10")
    bot.ask("/stock", "set SKU9 0")
    slack.wait_for("chat.postMessage", lambda p: "SKU9" in p.get("text", ""))
    assert [p["text"] for p in slack.posts()] == ["OUT OF STOCK: SKU9 available 0 (warning level 10)"]


def test_stock_set_goes_to_the_skus_channel(bot, slack):
    bot.ask("/threshold", "set 连衣裙-红-XL 100 channel <#C0DRESSES|dresses>")
    bot.ask("/stock", "set 连衣裙-红-XL 80")
    [post] = slack.wait_for("chat.postMessage")
    assert post["channel"] == "C0DRESSES" and post["text"].startswith("WARNING: 连衣裙-红-XL available 80")


def test_stock_set_updates_the_only_warehouse(bot, stock_file):
    write_warehouse_stock(stock_file, [("SKU123", "US-WEST", 500)])
    bot.checker.run_check()
    assert bot.ask("/stock", "set SKU123 450") == "✅ *SKU123* @ US-WEST: available set to 450. Checking it now."
    assert {key: row.available for key, row in stock(bot).items()} == {("SKU123", "US-WEST"): 450}


def test_stock_set_with_several_warehouses_asks_which(bot, slack, stock_file):
    write_warehouse_stock(stock_file, [("SKU123", "US-WEST", 500), ("SKU123", "US-EAST", 800)])
    bot.checker.run_check()
    bot.ask("/threshold", "set SKU123 200")
    before = {key: (row.available, row.source) for key, row in stock(bot).items()}

    reply = bot.ask("/stock", "set SKU123 100")

    assert reply == ("*SKU123* is stocked in several warehouses (US-EAST, US-WEST). "
                     "Say which: `/stock set SKU123 100 warehouse NAME`.")
    assert {key: (row.available, row.source) for key, row in stock(bot).items()} == before

    reply = bot.ask("/stock", "set SKU123 100 warehouse US-EAST")
    assert reply == "✅ *SKU123* @ US-EAST: available set to 100. Checking it now."
    assert {key: row.available for key, row in stock(bot).items()} == \
        {("SKU123", "US-EAST"): 100, ("SKU123", "US-WEST"): 500}
    assert stock(bot)[("SKU123", "US-EAST")].source == "manual"
    assert "available *600* (US-EAST: 100, US-WEST: 500)" in bot.ask("/stock", "SKU123")
    assert slack.posts() == []  # 600 is above the warning level of 200


def test_stock_help(bot):
    result = bot.command("/stock", "help")
    assert result.status == 200
    answer = result.json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].splitlines()[:6] == [
        "*Usage:*", "`/stock SKU123` — available, levels and alert state",
        "`/stock SKU123 chart` — a chart: 60 days of stock, forecast to stock-out, levels, reorders",
        "`/stock set SKU123 1200 [warehouse US-WEST]` — record a manual count",
        "`/stock status` — each stock source: last good read, rows, last error",
        "`/stock import [sales]` — upload a CSV/XLSX export (or drop it in a DM with me; write `sales` in the "
        "message for sales history)"]


# ---- /reorder ----------------------------------------------------------------------------

def test_reorder_records_quantity_eta_note_and_who(bot):
    bot.ask("/threshold", "set SKU123 1500")
    eta = today() + timedelta(days=15)

    reply = bot.ask("/reorder", f"SKU123 2000 eta {eta.isoformat()} note Supplier ACME, PO #77", user="U0ALICE")

    assert reply.startswith(f"📦 Reorder recorded for *SKU123*: 2,000, ETA {eta.isoformat()}.")
    [row] = reorders(bot)
    assert (row.sku, row.quantity, row.eta, row.note, row.created_by, row.status) == \
        ("SKU123", 2000, eta, "Supplier ACME, PO #77", "U0ALICE", "open")


@pytest.mark.parametrize("eta_text, days", [("7d", 7), ("7D", 7), ("0d", 0)])
def test_reorder_with_relative_eta(bot, eta_text, days):
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/reorder", f"SKU123 1,200 eta {eta_text}")
    [row] = reorders(bot)
    assert (row.quantity, row.eta, row.note) == (1200, today() + timedelta(days=days), None)


def test_reorder_without_eta(bot, stock_file):
    write_stock(stock_file, {"SKU9": 5})
    bot.checker.run_check()  # known through its stock reading alone
    assert bot.ask("/reorder", "SKU9 50") == (
        "📦 Reorder recorded for *SKU9*: 50. It counts toward stock on hand, "
        "so no new WARNING while it covers the level.")
    [row] = reorders(bot)
    assert (row.sku, row.quantity, row.eta) == ("SKU9", 50, None)


def test_reorder_for_an_unknown_sku_stores_nothing(bot):
    bot.ask("/threshold", "set SKU123 1500")
    reply = bot.ask("/reorder", "sku123 2000")  # case matters: sku123 is not SKU123
    assert reply == ("I don't know *sku123*: it has no threshold and no stock reading. "
                     "Check the spelling, or set a threshold first.")
    assert reorders(bot) == []


def test_reorder_while_an_alert_is_open_is_posted_in_its_thread(bot, slack):
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/stock", "set SKU123 1400")
    slack.wait_for("chat.postMessage")
    [alert] = wait_until(lambda: [a for a in alerts(bot, "SKU123") if a.ts])

    bot.ask("/reorder", "SKU123 2000 eta 7d")

    [note] = slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == alert.ts)
    eta = (today() + timedelta(days=7)).isoformat()
    assert note["text"] == f"📦 <@U0BUYER> placed a reorder of 2,000 for *SKU123*, ETA {eta}."
    assert note["channel"] == ALERT_CHANNEL
    assert "On order: 2,000." in bot.ask("/stock", "SKU123")


def test_reorder_list_and_cancel(bot):
    bot.ask("/threshold", "set SKU123 1500")
    bot.ask("/threshold", "set SKU9 10")
    bot.ask("/reorder", "SKU123 2000 eta 20d note sea freight", user="U0ALICE")
    bot.ask("/reorder", "SKU9 30 eta 3d", user="U0BOB")
    bot.ask("/reorder", "SKU123 500", user="U0BOB")

    lines = bot.ask("/reorder", "list").splitlines()
    assert lines[0] == "*Open reorders*"
    # Sorted by ETA; a reorder without ETA comes last or first depending on NULL order, so match as a set.
    assert set(lines[1:]) == {
        f"• *SKU9*: 30, ETA {(today() + timedelta(days=3)).isoformat()} by <@U0BOB>",
        f"• *SKU123*: 2,000, ETA {(today() + timedelta(days=20)).isoformat()} by <@U0ALICE> — sea freight",
        "• *SKU123*: 500 by <@U0BOB>",
    }
    only = bot.ask("/reorder", "list SKU9").splitlines()
    assert only == ["*Open reorders · SKU9*", f"• *SKU9*: 30, ETA {(today() + timedelta(days=3)).isoformat()} by <@U0BOB>"]

    assert bot.ask("/reorder", "cancel SKU123") == "Cancelled 2 open reorder(s) for *SKU123*."
    assert {(r.sku, r.quantity, r.status) for r in reorders(bot)} == \
        {("SKU123", 2000, "cancelled"), ("SKU123", 500, "cancelled"), ("SKU9", 30, "open")}
    assert all(r.closed_at is not None for r in reorders(bot) if r.status == "cancelled")
    assert bot.ask("/reorder", "list SKU123") == "No open reorders · SKU123."
    assert bot.ask("/reorder", "cancel SKU123") == "*SKU123* has no open reorders to cancel."


def test_reorder_list_when_empty(bot):
    assert bot.ask("/reorder", "list") == "No open reorders."


def test_reorder_help(bot):
    for text in ("", "help"):
        body = bot.command("/reorder", text).json()
        assert body["response_type"] == "ephemeral"
        assert body["text"].startswith("*Usage:*\n`/reorder SKU123 2000 [eta 2026-12-10 | eta 7d] [note text…]`")


# ---- permissions -------------------------------------------------------------------------

@pytest.fixture
def admin_bot(start_bot):
    bot = start_bot(threshold_admins=frozenset({"U0ADMIN"}))
    bot.ask("/threshold", "set SKU123 1500", user="U0ADMIN")
    bot.ask("/reorder", "SKU123 2000 note first", user="U0ADMIN")
    return bot


@pytest.mark.parametrize("text", ["SKU123 999", "SKU123 5 eta 7d note sneaky", "cancel SKU123"])
def test_non_admins_cannot_record_or_cancel_reorders(admin_bot, slack, text):
    before = [r.model_dump() for r in reorders(admin_bot)]

    result = admin_bot.command("/reorder", text, user="U0BUYER")

    assert result.status == 200
    assert result.json() == {"response_type": "ephemeral", "text": REFUSAL}
    assert [r.model_dump() for r in reorders(admin_bot)] == before
    assert [(r.quantity, r.status) for r in reorders(admin_bot)] == [(2000, "open")]
    assert slack.responses(result.response_key) == []


def test_admins_can_record_and_cancel_reorders(admin_bot):
    assert admin_bot.ask("/reorder", "SKU123 300", user="U0ADMIN").startswith("📦 Reorder recorded")
    assert admin_bot.ask("/reorder", "cancel SKU123", user="U0ADMIN") == "Cancelled 2 open reorder(s) for *SKU123*."
    assert {r.status for r in reorders(admin_bot)} == {"cancelled"}


def test_reading_stock_and_reorders_is_open_to_everyone(admin_bot):
    assert admin_bot.ask("/reorder", "list", user="U0BUYER") == \
        "*Open reorders*\n• *SKU123*: 2,000 by <@U0ADMIN> — first"
    admin_bot.ask("/stock", "set SKU123 5000", user="U0ADMIN")
    assert "available *5,000*" in admin_bot.ask("/stock", "SKU123", user="U0BUYER")


@pytest.fixture
def admin_bot_with_alert(admin_bot, slack):
    admin_bot.ask("/stock", "set SKU123 100", user="U0ADMIN")
    slack.wait_for("chat.postMessage")
    [alert] = wait_until(lambda: [a for a in alerts(admin_bot, "SKU123") if a.ts])
    return admin_bot, alert


def test_non_admin_mark_reordered_button_is_refused(admin_bot_with_alert, slack):
    bot, alert = admin_bot_with_alert

    result = bot.action("mark_reordered", str(alert.id), user="U0BUYER", message_ts=alert.ts)

    assert result.status == 200
    [refusal] = slack.wait_for("response_url", lambda p: p.get("text") == REFUSAL)
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert slack.of("views.open") == []


def test_admin_mark_reordered_button_opens_the_modal_and_records(admin_bot_with_alert, slack):
    bot, alert = admin_bot_with_alert

    assert bot.action("mark_reordered", str(alert.id), user="U0ADMIN", message_ts=alert.ts).status == 200

    [opened] = slack.wait_for("views.open")
    assert opened["view"]["callback_id"] == "reorder_modal"
    assert opened["view"]["private_metadata"] == str(alert.id)
    values = {"quantity": {"value": {"type": "number_input", "value": "750"}},
              "note": {"value": {"type": "plain_text_input", "value": "  from the modal  "}}}
    result = bot.view_submission("reorder_modal", str(alert.id), values, user="U0ADMIN")
    assert result.status == 200 and result.body == ""
    slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == alert.ts)
    assert [(r.quantity, r.note, r.created_by) for r in reorders(bot)] == \
        [(2000, "first", "U0ADMIN"), (750, "from the modal", "U0ADMIN")]


def test_non_admin_modal_submission_is_refused(admin_bot_with_alert):
    bot, alert = admin_bot_with_alert
    values = {"quantity": {"value": {"type": "number_input", "value": "750"}}}

    result = bot.view_submission("reorder_modal", str(alert.id), values, user="U0BUYER")

    assert result.status == 200
    assert result.json() == {"response_action": "errors", "errors": {"quantity": REFUSAL}}
    assert [r.quantity for r in reorders(bot)] == [2000]
