"""What purchase requests look like: the request modal, the request message (with Approve and
Reject, then who decided), the reject modal, the supplier import modal, the `/supplier` replies,
and the PO the supplier receives (e-mail text and HTML, XLSX). Pure: plain data in, payloads out.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional, Sequence

from bot.core.purchase import PoLine, money, po_total
from bot.i18n import t
from bot.messages import IMPORT_FILETYPES, mention, more_lines, plain_text, qty, section, slack_time
from bot.slack_text import BUTTON_TEXT_MAX, CONTEXT_TEXT_MAX, MODAL_TITLE_MAX, TEXT_MAX, Mrkdwn, clip, fit_lines, outside

ACTION_APPROVE_PURCHASE = "approve_purchase"
ACTION_REJECT_PURCHASE = "reject_purchase"
PURCHASE_MODAL_CALLBACK = "purchase_modal"
REJECT_MODAL_CALLBACK = "purchase_reject"
SUPPLIER_IMPORT_CALLBACK = "supplier_import"
REASON_MAX = 500
MAX_LINES_SHOWN = 40  # lines of a batch PO in its Slack message (the XLSX has them all)


@dataclass(frozen=True)
class PurchaseView:
    """A purchase request (one line, or a batch PO's lines) as its message shows it."""

    request_id: int
    supplier: str  # its name; "" when the supplier was removed since
    currency: Optional[str]
    lines: Sequence[PoLine]
    requested_by: str
    requested_at: datetime
    status: str = "requested"  # requested | approved | rejected
    reason: Optional[str] = None
    batch: bool = False
    po_number: Optional[str] = None
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    reject_reason: Optional[str] = None
    email: Optional[str] = None
    eta: Optional[date] = None


def _amount(value: Optional[float], currency: Optional[str]) -> str:
    return f"{money(value)} {currency}" if currency and value is not None else money(value)


def line_text(lang: str, line: PoLine, currency: Optional[str]) -> Mrkdwn:
    name = Mrkdwn(" " + outside(line.name, 80)) if line.name else Mrkdwn("")
    if line.unit_cost is None:
        return t(lang, "purchase.line_no_cost", sku=line.sku, name=name, quantity=qty(line.quantity))
    return t(lang, "purchase.line", sku=line.sku, name=name, quantity=qty(line.quantity),
             cost=money(line.unit_cost), total=_amount(line.total, currency))


def request_message(lang: str, view: PurchaseView) -> dict:
    """The request in PURCHASE_CHANNEL: Approve and Reject while it waits, then who decided."""
    supplier = view.supplier or t(lang, "purchase.supplier_removed")
    title_key = "purchase.title_batch" if view.batch else "purchase.title"
    title = t(lang, title_key, supplier=supplier, count=qty(len(view.lines)))
    if view.status == "approved":
        title = t(lang, "purchase.title_approved", po=view.po_number or "", supplier=supplier)
    elif view.status == "rejected":
        title = t(lang, "purchase.title_rejected", supplier=supplier)
    lines = [f"*{title}*"]
    shown = [line_text(lang, line, view.currency) for line in view.lines[:MAX_LINES_SHOWN]]
    if len(view.lines) > MAX_LINES_SHOWN:
        shown.append(more_lines(lang)(len(view.lines) - MAX_LINES_SHOWN))
    lines.extend(shown)
    total = po_total(view.lines)
    if total is not None:
        lines.append(t(lang, "purchase.total", total=_amount(total, view.currency)))
    if view.reason:
        lines.append(t(lang, "purchase.reason", reason=outside(view.reason, 300)))
    blocks: list[dict] = [section(lang, lines)]
    context = t(lang, "purchase.requested_by", user=mention(view.requested_by), when=slack_time(view.requested_at))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(context, CONTEXT_TEXT_MAX)}]})
    decided = slack_time(view.decided_at) if view.decided_at else Mrkdwn("")
    if view.status == "approved":
        status = [t(lang, "purchase.approved", user=mention(view.decided_by or ""), when=decided,
                    po=view.po_number or "")]
        if view.email:
            status.append(t(lang, "purchase.sent_to", email=view.email,
                            eta=view.eta.isoformat() if view.eta else "–"))
        blocks.append(section(lang, status))
    elif view.status == "rejected":
        blocks.append(section(lang, [t(lang, "purchase.rejected", user=mention(view.decided_by or ""), when=decided,
                                       reason=outside(view.reject_reason or "", 300))]))
    else:
        value = str(view.request_id)
        blocks.append({"type": "actions", "block_id": f"purchase_{view.request_id}", "elements": [
            {"type": "button", "action_id": ACTION_APPROVE_PURCHASE, "style": "primary", "value": value,
             "text": plain_text(t(lang, "button.approve"), BUTTON_TEXT_MAX)},
            {"type": "button", "action_id": ACTION_REJECT_PURCHASE, "style": "danger", "value": value,
             "text": plain_text(t(lang, "button.reject"), BUTTON_TEXT_MAX)}]})
    fallback = t(lang, "purchase.fallback", title=title, count=qty(len(view.lines)))
    return {"text": clip(fallback, TEXT_MAX), "blocks": blocks}


@dataclass(frozen=True)
class Draft:
    """What the Request purchase modal is prefilled with."""

    alert_id: int
    sku: str
    name: Optional[str]
    quantity: int
    supplier: Optional[str]
    unit_cost: Optional[float]
    reason: str
    facts: list[str] = field(default_factory=list)  # shown above the fields (cover, stock-out, terms)


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: Optional[str] = None) -> dict:
    block = {"type": "input", "block_id": block_id, "optional": optional,
             "label": plain_text(label, 2000), "element": {"action_id": "value", **element}}
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def request_modal(lang: str, draft: Draft) -> dict:
    """Opened by Request purchase; `private_metadata` carries the alert id."""
    supplier = {"type": "plain_text_input", "max_length": 100}
    if draft.supplier:
        supplier["initial_value"] = draft.supplier
    cost = {"type": "plain_text_input", "max_length": 20}
    if draft.unit_cost is not None:
        cost["initial_value"] = money(draft.unit_cost).replace(",", "")
    heading = f"*{t(lang, 'modal.sku', sku=draft.sku)}*" + (f"\n{outside(draft.name, 200)}" if draft.name else "")
    facts = fit_lines([heading, *draft.facts], 3000, more_lines(lang))
    return {
        "type": "modal", "callback_id": PURCHASE_MODAL_CALLBACK, "private_metadata": str(draft.alert_id),
        "title": plain_text(t(lang, "purchase.modal_title"), MODAL_TITLE_MAX),
        "submit": plain_text(t(lang, "purchase.modal_submit"), MODAL_TITLE_MAX),
        "close": plain_text(t(lang, "modal.cancel"), MODAL_TITLE_MAX),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
            _input("quantity", t(lang, "modal.quantity"), {"type": "number_input", "is_decimal_allowed": False,
                                                          "min_value": "1", "initial_value": str(draft.quantity)}),
            _input("supplier", t(lang, "purchase.modal_supplier"), supplier,
                   hint=None if draft.supplier else t(lang, "purchase.modal_no_supplier")),
            _input("unit_cost", t(lang, "purchase.modal_cost"), cost, optional=True),
            _input("reason", t(lang, "purchase.modal_reason"),
                   {"type": "plain_text_input", "multiline": True, "max_length": REASON_MAX,
                    "initial_value": draft.reason[:REASON_MAX]}, optional=True),
        ],
    }


def reject_modal(lang: str, request_id: int) -> dict:
    return {
        "type": "modal", "callback_id": REJECT_MODAL_CALLBACK, "private_metadata": str(request_id),
        "title": plain_text(t(lang, "purchase.reject_title"), MODAL_TITLE_MAX),
        "submit": plain_text(t(lang, "button.reject"), MODAL_TITLE_MAX),
        "close": plain_text(t(lang, "modal.cancel"), MODAL_TITLE_MAX),
        "blocks": [_input("reason", t(lang, "purchase.reject_reason"),
                          {"type": "plain_text_input", "multiline": True, "max_length": REASON_MAX})],
    }


def supplier_import_modal(lang: str) -> dict:
    return {
        "type": "modal", "callback_id": SUPPLIER_IMPORT_CALLBACK,
        "title": plain_text(t(lang, "supplier.import_title"), MODAL_TITLE_MAX),
        "submit": plain_text(t(lang, "import.submit"), MODAL_TITLE_MAX),
        "close": plain_text(t(lang, "modal.cancel"), MODAL_TITLE_MAX),
        "blocks": [
            {"type": "input", "block_id": "file", "label": plain_text(t(lang, "import.file"), 2000),
             "element": {"type": "file_input", "action_id": "file", "filetypes": IMPORT_FILETYPES, "max_files": 1}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": t(lang, "supplier.import_hint")}]},
        ],
    }


# ---- the PO the supplier receives ---------------------------------------------------------------

@dataclass(frozen=True)
class PurchaseOrder:
    po_number: str
    seller: str
    supplier: str
    email: str
    currency: Optional[str]
    lines: Sequence[PoLine]
    day: date
    eta: Optional[date]
    contact: str = ""  # who approved it (a name or Slack id)


def po_subject(lang: str, po: PurchaseOrder) -> str:
    return str(t(lang, "po.subject", po=Mrkdwn(po.po_number), seller=Mrkdwn(po.seller)))


def _plain(template_key: str, lang: str, **values) -> str:
    """A sentence for the e-mail: values are placed as they are (e-mail is not Slack mrkdwn)."""
    return str(t(lang, template_key, **{name: Mrkdwn(str(value)) for name, value in values.items()}))


def po_text(lang: str, po: PurchaseOrder) -> str:
    rows = [_plain("po.greeting", lang, supplier=po.supplier), "",
            _plain("po.intro", lang, seller=po.seller, po=po.po_number), ""]
    for line in po.lines:
        name = f" {line.name}" if line.name else ""
        rows.append(f"- {line.sku}{name}: {line.quantity:,} x {money(line.unit_cost)} = "
                    f"{_amount(line.total, po.currency)}")
    rows += ["", _plain("po.total", lang, total=_amount(po_total(po.lines), po.currency))]
    if po.eta:
        rows.append(_plain("po.eta", lang, eta=po.eta.isoformat()))
    rows += ["", _plain("po.attached", lang, po=po.po_number), "", po.seller]
    return "\n".join(rows) + "\n"


def po_html(lang: str, po: PurchaseOrder) -> str:
    e = html.escape
    head = "".join(f"<th>{e(label)}</th>" for label in po_headers(lang))
    body = "".join(
        f"<tr><td>{e(line.sku)}</td><td>{e(line.name or '')}</td><td>{line.quantity:,}</td>"
        f"<td>{e(money(line.unit_cost))}</td><td>{e(money(line.total))}</td></tr>" for line in po.lines)
    eta = f"<p>{e(_plain('po.eta', lang, eta=po.eta.isoformat()))}</p>" if po.eta else ""
    return (f"<html><body><p>{e(_plain('po.greeting', lang, supplier=po.supplier))}</p>"
            f"<p>{e(_plain('po.intro', lang, seller=po.seller, po=po.po_number))}</p>"
            f"<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr>{head}</tr>{body}</table>"
            f"<p><b>{e(_plain('po.total', lang, total=_amount(po_total(po.lines), po.currency)))}</b></p>{eta}"
            f"<p>{e(_plain('po.attached', lang, po=po.po_number))}</p><p>{e(po.seller)}</p></body></html>")


def po_headers(lang: str) -> list[str]:
    return [str(t(lang, f"po.col.{name}")) for name in ("sku", "name", "quantity", "unit_cost", "total")]


def po_xlsx(lang: str, po: PurchaseOrder) -> bytes:
    """The PO as a workbook: who buys, the PO number, supplier, date, currency; then one row per line."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = po.po_number[:31]
    facts = [("po.field.buyer", po.seller), ("po.field.po", po.po_number), ("po.field.supplier", po.supplier),
             ("po.field.date", po.day.isoformat()), ("po.field.currency", po.currency or ""),
             ("po.field.eta", po.eta.isoformat() if po.eta else "")]
    for key, value in facts:
        sheet.append([str(t(lang, key)), value])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    sheet.append([])
    sheet.append(po_headers(lang))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for line in po.lines:
        sheet.append([line.sku, line.name or "", line.quantity, line.unit_cost, line.total])
    for row in sheet.iter_rows():
        for cell in row:  # a name like "=HYPERLINK(…)" from an ERP stays text, never a formula
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    sheet.append(["", "", "", str(t(lang, "po.col.total")), po_total(po.lines)])
    for column, width in zip("ABCDE", (20, 40, 12, 12, 14)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
