"""The purchase flow end to end, through signed Slack requests: an alert's Request purchase
button -> the modal -> the request in PURCHASE_CHANNEL -> Approve -> reorder recorded, alert
updated, the PO in a real SMTP server's inbox (XLSX opened with openpyxl) and on a loopback ERP."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot import planning
from bot.core import purchase as core
from bot.sources import SalesRow
from storage import repo
from storage.db import Session
from storage.models import Alert, OutboxEntry, PurchaseRequest, Reorder
from tests.conftest import ALERT_CHANNEL, wait_until, write_stock
from tests.smtp_server import SmtpServer, WebhookServer

BUY_CHANNEL = "C0BUYING"
BOSS = "U0BOSS"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def erp():
    server = WebhookServer().start()
    yield server
    server.stop()


@pytest.fixture
def buyer_bot(start_bot, smtp, erp):
    return start_bot(smtp_url=smtp.url, smtp_from="stock@lumi.example", purchase_channel=BUY_CHANNEL,
                     purchase_approvers=frozenset({BOSS}), purchase_webhook_url=erp.url, seller_name="Lumi Home")


def block_text(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def action_ids(message: dict) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def sell(bot, sku: str, per_day: int, days: int = 30) -> None:
    end = repo.utcnow().date() - timedelta(days=1)
    bot.checker.write_sales("import", [SalesRow(sku, end - timedelta(days=i), per_day) for i in range(days)])


def alert_of(bot, sku: str) -> Alert:
    with Session(bot.ctx.engine) as session:
        return session.exec(select(Alert).where(Alert.sku == sku)).one()


def requests(bot) -> list[PurchaseRequest]:
    with Session(bot.ctx.engine) as session:
        return list(session.exec(select(PurchaseRequest).order_by(PurchaseRequest.id)).all())


def submit_request(bot, alert_id: int, quantity: str, supplier: str = "Acme Co", cost: str = "3.20",
                   reason: str = "Running low", user: str = "U0BUYER"):
    values = {"quantity": {"value": {"type": "number_input", "value": quantity}},
              "supplier": {"value": {"type": "plain_text_input", "value": supplier}},
              "unit_cost": {"value": {"type": "plain_text_input", "value": cost}},
              "reason": {"value": {"type": "plain_text_input", "value": reason}}}
    return bot.view_submission("purchase_modal", str(alert_id), values, user=user)


def press(bot, slack, action: str, value: str, user: str, ts: str) -> str:
    result = bot.action(action, value, user=user, channel=BUY_CHANNEL, message_ts=ts)
    assert result.status == 200
    return slack.wait_for_response(result.response_key)["text"]


def setup_acme_alert(bot, stock_file) -> Alert:
    assert "Acme Co" in bot.ask("/supplier", 'add "Acme Co" email buyer@acme.example lead 14 moq 100 pack 24 '
                                             'currency CNY')
    assert "SKU123" in bot.ask("/supplier", 'assign "Acme Co" SKU123 cost 3.20')
    sell(bot, "SKU123", 20)
    bot.ask("/threshold", "set SKU123 500")
    write_stock(stock_file, {"SKU123": 300})
    assert bot.checker.run_check().posted == ["SKU123:WARNING"]
    return alert_of(bot, "SKU123")


def test_alert_to_supplier_inbox(buyer_bot, slack, stock_file, smtp, erp):
    bot = buyer_bot
    alert = setup_acme_alert(bot, stock_file)
    [posted] = slack.posts(ALERT_CHANNEL, top_level=True)
    assert action_ids(posted) == ["ack_restock", "mark_reordered", "purchase_request", "snooze"]

    # the supplier's lead time, MOQ and pack plan the SKU (it has none of its own)
    with Session(bot.ctx.engine) as session:
        forecast = planning.forecast_for(session, bot.settings, "SKU123", repo.utcnow().date())
        outlook = planning.sku_outlook(session, bot.settings, "SKU123", 300, 0, [], repo.utcnow().date())
    assert (forecast.lead_days, forecast.moq, forecast.case_pack) == (14, 100, 24)
    assert outlook.lead_days == 14 and outlook.suggested_qty % 24 == 0 and outlook.suggested_qty >= 100

    # Request purchase: the modal is prefilled
    assert bot.action("purchase_request", str(alert.id), message_ts=alert.ts).status == 200
    [opened] = slack.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "purchase_modal" and view["private_metadata"] == str(alert.id)
    fields = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert fields["quantity"]["initial_value"] == str(core.round_order(outlook.suggested_qty, 24, 100))
    assert fields["supplier"]["initial_value"] == "Acme Co" and fields["unit_cost"]["initial_value"] == "3.20"
    reason = fields["reason"]["initial_value"]
    cover = f"{outlook.days_of_cover:.1f}".rstrip("0").rstrip(".")
    assert f"{cover} days of cover" in reason and outlook.stockout_date.isoformat() in reason and "WARNING" in reason

    # submitted: the request goes to PURCHASE_CHANNEL with Approve / Reject, a note in the alert's thread
    result = submit_request(bot, alert.id, "240")
    assert result.status == 200 and "errors" not in result.body
    [request_post] = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == BUY_CHANNEL)
    assert action_ids(request_post) == ["approve_purchase", "reject_purchase"]
    text = block_text(request_post)
    assert "Acme Co" in text and "SKU123" in text and "240 × 3.20 = 768.00 CNY" in text and "Running low" in text
    slack.wait_for("chat.postMessage", lambda p: p.get("thread_ts") == alert.ts and "asked to buy 240" in p["text"])
    [lead] = requests(bot)
    assert (lead.status, lead.sku, lead.quantity, lead.unit_cost, lead.currency, lead.alert_id) == \
        ("requested", "SKU123", 240, 3.2, "CNY", alert.id)
    ts = lead.ts
    assert ts and slack.messages[(BUY_CHANNEL, ts)] == request_post

    # someone who is not an approver: refused, nothing changes
    answer = press(bot, slack, "approve_purchase", str(lead.id), "U0BUYER", ts)
    assert "Only <@U0BOSS>" in answer and "Nothing was changed" in answer
    assert requests(bot)[0].status == "requested" and smtp.inbox == [] and erp.received == []

    # the approver: PO number, reorder, alert and request message updated, PO e-mailed and POSTed
    answer = press(bot, slack, "approve_purchase", str(lead.id), BOSS, ts)
    today = repo.utcnow().date()
    po = f"PO-{today:%Y%m%d}-{lead.id}"
    assert po in answer
    [lead] = requests(bot)
    assert (lead.status, lead.decided_by, lead.po_number) == ("approved", BOSS, po)
    with Session(bot.ctx.engine) as session:
        [reorder] = session.exec(select(Reorder)).all()
        hook_entry = session.exec(select(OutboxEntry).where(OutboxEntry.kind == "po_webhook")).one()
    assert (reorder.sku, reorder.quantity, reorder.eta, reorder.note, reorder.created_by) == \
        ("SKU123", 240, today + timedelta(days=14), po, BOSS)
    updates = slack.of("chat.update")
    alert_update = [u.params for u in updates if u.params["ts"] == alert.ts][-1]
    assert "Reorder placed: 240" in block_text(alert_update) and "purchase_request" not in action_ids(alert_update)
    request_update = [u.params for u in updates if u.params["ts"] == ts][-1]
    assert po in block_text(request_update) and "Approved by <@U0BOSS>" in block_text(request_update)
    assert "buyer@acme.example" in block_text(request_update) and action_ids(request_update) == []

    [mail] = smtp.wait_for(1)
    message = mail.message
    assert mail.rcpt_tos == ["buyer@acme.example"] and mail.mail_from == "stock@lumi.example"
    assert message["To"] == "buyer@acme.example" and message["From"] == "stock@lumi.example"
    assert message["Subject"] == f"Purchase order {po} from Lumi Home" and message["X-Stockbot-PO"] == po
    assert message["Message-ID"] and message["Date"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Dear Acme Co," in plain and "SKU123" in plain and "240 x 3.20 = 768.00 CNY" in plain
    assert "<table" in html and "<td>SKU123</td>" in html and "768.00" in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{po}.xlsx"
    sheet = load_workbook(io.BytesIO(attachment.get_content())).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert list(rows[0][:2]) == ["Buyer", "Lumi Home"]
    assert list(rows[1][:2]) == ["PO number", po] and list(rows[2][:2]) == ["Supplier", "Acme Co"]
    header = rows.index(next(r for r in rows if r and r[0] == "SKU"))
    assert list(rows[header]) == ["SKU", "Name", "Quantity", "Unit cost", "Total"]
    assert list(rows[header + 1]) == ["SKU123", "SKU123 name", 240, 3.2, 768]
    assert list(rows[header + 2])[3:] == ["Total", 768]

    [hook] = erp.received
    assert hook.headers["content-type"].startswith("application/json")
    assert hook.headers["x-stockbot-delivery"] == str(hook_entry.id)
    assert hook.json() == {"po_number": po, "seller": "Lumi Home", "supplier": "Acme Co", "currency": "CNY",
                           "lines": [{"sku": "SKU123", "name": "SKU123 name", "quantity": 240, "unit_cost": 3.2,
                                      "total": 768.0}],
                           "total": 768.0, "requested_by": "U0BUYER", "approved_by": BOSS}

    # a double click on Approve: the second press changes nothing, and says so
    calls = len(slack.calls)
    answer = press(bot, slack, "approve_purchase", str(lead.id), BOSS, ts)
    assert "Already approved by <@U0BOSS>" in answer and po in answer
    with Session(bot.ctx.engine) as session:
        assert len(session.exec(select(Reorder)).all()) == 1
        assert len(session.exec(select(OutboxEntry).where(OutboxEntry.kind == "po_email")).all()) == 1
    assert len(smtp.inbox) == 1 and len(erp.received) == 1
    assert [c.method for c in slack.calls[calls:]] == ["response_url"]


def test_reject_asks_why_and_records_it(buyer_bot, slack, stock_file, smtp):
    bot = buyer_bot
    alert = setup_acme_alert(bot, stock_file)
    assert submit_request(bot, alert.id, "240").status == 200
    slack.wait_for("chat.postMessage", lambda p: p.get("channel") == BUY_CHANNEL)
    [lead] = wait_until(lambda: [row for row in requests(bot) if row.ts])  # its ts is stored after Slack answers
    wait_ts = lead.ts
    assert press(bot, slack, "reject_purchase", str(lead.id), "U0BUYER", wait_ts).startswith("Only")
    assert slack.of("views.open") == []
    bot.action("reject_purchase", str(lead.id), user=BOSS, channel=BUY_CHANNEL, message_ts=wait_ts)
    [opened] = slack.wait_for("views.open")
    assert opened["view"]["callback_id"] == "purchase_reject"
    empty = bot.view_submission("purchase_reject", str(lead.id), {"reason": {"value": {"value": "  "}}}, user=BOSS)
    assert empty.json()["response_action"] == "errors" and requests(bot)[0].status == "requested"
    done = bot.view_submission("purchase_reject", str(lead.id), {"reason": {"value": {"value": "Too dear <!here>"}}},
                               user=BOSS)
    assert done.status == 200 and "errors" not in done.body
    bot.settle()
    [lead] = requests(bot)
    assert (lead.status, lead.decided_by, lead.reject_reason, lead.po_number) == \
        ("rejected", BOSS, "Too dear <!here>", None)
    update = slack.wait_for("chat.update", lambda p: p["ts"] == wait_ts)[-1]
    assert "Rejected by <@U0BOSS>" in block_text(update) and "&lt;!here&gt;" in block_text(update)
    assert action_ids(update) == []
    answer = press(bot, slack, "approve_purchase", str(lead.id), BOSS, wait_ts)
    assert "Already rejected" in answer
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(Reorder)).all() == []
    assert smtp.inbox == []


def test_modal_refuses_zero_quantity_and_unknown_supplier(buyer_bot, slack, stock_file):
    bot = buyer_bot
    alert = setup_acme_alert(bot, stock_file)
    answer = submit_request(bot, alert.id, "0", supplier="Nope Ltd", cost="abc").json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"quantity", "supplier", "unit_cost"}
    assert "more than 0" in answer["errors"]["quantity"]
    assert answer["errors"]["supplier"] == "No supplier called `Nope Ltd`; see `/supplier list`."
    bot.settle()
    assert requests(bot) == [] and slack.posts(BUY_CHANNEL) == []


def test_batch_posts_one_po_per_supplier(buyer_bot, slack, stock_file, smtp, erp):
    bot = buyer_bot
    bot.ask("/supplier", 'add "Acme Co" email buyer@acme.example lead 14 pack 10')
    bot.ask("/supplier", 'add “Beta Trading” email sales@beta.example lead 30 currency USD')
    bot.ask("/supplier", 'assign "Acme Co" A*')  # a prefix
    bot.ask("/supplier", 'assign "Beta Trading" A2 cost 1.50')  # the exact SKU wins over the prefix
    bot.ask("/supplier", 'assign "Beta Trading" B1 cost 2')
    for sku in ("A1", "A2", "A3", "B1", "C1", "D1"):
        bot.ask("/threshold", f"set {sku} 100")
    bot.ask("/reorder", "A3 500")  # on order already: left out
    write_stock(stock_file, {"A1": 50, "A2": 40, "A3": 10, "B1": 0, "C1": 5, "D1": 900})
    bot.checker.run_check()

    reply = bot.ask("/purchase", "batch")
    assert "2 draft POs" in reply and "Acme Co: 1 SKUs" in reply and "Beta Trading: 2 SKUs" in reply
    assert "No supplier for: C1" in reply and "D1" not in reply and "A3" not in reply
    posts = slack.wait_for("chat.postMessage", lambda p: p.get("channel") == BUY_CHANNEL, count=2)
    rows = wait_until(lambda: [r for r in requests(bot) if r.ts or r.batch_id not in (None, r.id)] == requests(bot)
                      and requests(bot))
    by_sku = {row.sku: row for row in rows}
    assert set(by_sku) == {"A1", "A2", "B1"}
    beta_lead = by_sku["A2"]
    assert by_sku["B1"].batch_id == beta_lead.id == beta_lead.batch_id and by_sku["A1"].batch_id is None
    # no history: enough for twice the warning level, rounded to Acme's packs of 10
    assert by_sku["A1"].quantity == 150 and by_sku["A2"].quantity == 160 and by_sku["B1"].quantity == 200
    beta_post = next(p for p in posts if "Beta Trading" in block_text(p))
    assert "Draft PO" in block_text(beta_post) and "A2" in block_text(beta_post) and "B1" in block_text(beta_post)
    assert "Total* 640.00 USD" in block_text(beta_post)

    # a second batch finds the SKUs waiting for approval: nothing new
    assert "Nothing to order" in bot.ask("/purchase", 'batch "Acme Co"')
    assert len(requests(bot)) == 3

    answer = press(bot, slack, "approve_purchase", str(beta_lead.id), BOSS, beta_lead.ts)
    assert "Approved" in answer
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ["sales@beta.example"]
    [attachment] = list(mail.message.iter_attachments())
    sheet = load_workbook(io.BytesIO(attachment.get_content())).active
    lines = [list(row) for row in sheet.iter_rows(values_only=True) if row[0] in ("A2", "B1")]
    assert lines == [["A2", "A2 name", 160, 1.5, 240], ["B1", "B1 name", 200, 2, 400]]
    assert erp.received[0].json()["total"] == 640.0 and len(erp.received[0].json()["lines"]) == 2
    with Session(bot.ctx.engine) as session:
        ordered = {r.sku: r for r in session.exec(select(Reorder)).all() if r.sku != "A3"}
    beta = next(row for row in requests(bot) if row.id == beta_lead.id)
    assert set(ordered) == {"A2", "B1"} and {r.note for r in ordered.values()} == {beta.po_number}
    assert all(r.eta == repo.utcnow().date() + timedelta(days=30) for r in ordered.values())
    assert requests(bot)[0].status == "requested"  # Acme's PO still waits


@pytest.mark.parametrize("action", ["purchase_request", "approve_purchase", "reject_purchase"])
@pytest.mark.parametrize("value", ["abc", "0", "99999999999", "77"])
def test_tampered_or_stale_buttons_change_nothing(buyer_bot, slack, action, value):
    result = buyer_bot.action(action, value, user=BOSS, channel=BUY_CHANNEL)
    assert result.status == 200
    text = slack.wait_for_response(result.response_key)["text"]
    assert "no longer exists" in text
    assert slack.of("views.open") == [] and requests(buyer_bot) == []
