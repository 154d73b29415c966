"""Purchase requests: from an alert's Request purchase button or `/purchase batch`, posted to
PURCHASE_CHANNEL for approval; on approval a PO number, the reorders recorded (the alerts
show them), and the PO e-mailed to the supplier (XLSX attached) and POSTed to
PURCHASE_WEBHOOK_URL. Every message goes through the outbox, in the transaction of the change:

  post_purchase / update_purchase  the request message, rendered from the rows when sent
  po_email                         the PO to the supplier (bot.mailer; the entry id in the Message-ID)
  po_webhook                       the PO as JSON (X-Stockbot-Delivery: the entry id)
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from bot import mailer, outbox, planning, suppliers
from bot import purchase_messages as pm
from bot.config import Settings
from bot.core import purchase as core
from bot.core.tiers import Tier
from bot.i18n import t
from bot.messages import qty, tier_label
from bot.notifier import NotifyError
from storage import repo
from storage.db import session as open_session
from storage.models import Alert, Episode, PurchaseRequest, Supplier

log = logging.getLogger(__name__)

PO_EMAIL = "po_email"
PO_WEBHOOK = "po_webhook"
WEBHOOK_TIMEOUT = 15  # seconds: a hung ERP becomes a retry, not a stuck sender
REQUESTED, APPROVED, REJECTED = "requested", "approved", "rejected"


def purchase_key(lead_id: int) -> str:
    return f"purchase:{lead_id}"


def lines_of(session: Session, lead_id: int) -> list[PurchaseRequest]:
    """The request's rows: the lead row and, for a batch PO, the rest of its lines."""
    return list(session.exec(select(PurchaseRequest).where(
        or_(PurchaseRequest.id == lead_id, PurchaseRequest.batch_id == lead_id)).order_by(col(PurchaseRequest.id))))


def po_lines(rows: list[PurchaseRequest]) -> list[core.PoLine]:
    return [core.PoLine(row.sku, row.name, row.quantity, row.unit_cost) for row in rows]


def eta_for(supplier: Optional[Supplier], day: date) -> Optional[date]:
    return day + timedelta(days=supplier.lead_days) if supplier is not None else None


# ---- the modal's draft -------------------------------------------------------------------------

def fallback_quantity(warning_level: int, available: int) -> int:
    """Without sales to forecast from: enough to reach twice the warning level."""
    return max(2 * warning_level - available, 1)


def draft_for(session: Session, settings: Settings, alert: Alert, now: datetime) -> pm.Draft:
    lang, today = settings.language, now.date()
    bought = suppliers.supplier_for(session, alert.sku)
    supplier = bought.supplier if bought else None
    reorders = repo.open_reorders(session, [alert.sku])[alert.sku]
    on_order = sum(r.quantity for r in reorders) + (alert.source_on_order or 0)
    outlook = planning.sku_outlook(session, settings, alert.sku, alert.available, on_order,
                                   [r.eta for r in reorders], today)
    suggested = outlook.suggested_qty if outlook is not None and outlook.suggested_qty else \
        fallback_quantity(alert.warning_level, alert.available + on_order)
    quantity = core.round_order(suggested, supplier.pack if supplier else None, supplier.moq if supplier else None)
    reason = reason_text(lang, alert, outlook)
    facts = [reason]
    if supplier is not None:
        facts.append(t(lang, "purchase.terms", supplier=supplier.name, lead=supplier.lead_days,
                       moq=qty(supplier.moq) if supplier.moq else "–", pack=qty(supplier.pack) if supplier.pack else "–"))
    return pm.Draft(alert.id, alert.sku, alert.name, quantity, supplier.name if supplier else None,
                    bought.unit_cost if bought else None, reason, facts)


def reason_text(lang: str, alert: Alert, outlook) -> str:
    tier = tier_label(lang, Tier(alert.tier))
    if outlook is None or outlook.days_of_cover is None:
        return str(t(lang, "purchase.why_no_sales", tier=tier, available=qty(alert.available)))
    cover = f"{outlook.days_of_cover:.1f}".rstrip("0").rstrip(".")
    stockout = outlook.stockout_date.isoformat() if outlook.stockout_date else "–"
    return str(t(lang, "purchase.why", tier=tier, available=qty(alert.available), cover=cover, date=stockout))


# ---- writing requests ----------------------------------------------------------------------------

def add_request(session: Session, settings: Settings, lines: list[dict], supplier: Supplier, user: str,
                now: datetime, reason: Optional[str] = None, alert_id: Optional[int] = None) -> PurchaseRequest:
    """Store one request (one line, or a batch PO when `lines` has several) and its message.
    Each line: sku, name, quantity, unit_cost. The caller commits."""
    channel = settings.purchase_channel_or_alerts
    rows = []
    for number, line in enumerate(lines):
        row = PurchaseRequest(sku=line["sku"], name=line.get("name"), supplier_id=supplier.id,
                              quantity=line["quantity"], unit_cost=line.get("unit_cost"), currency=supplier.currency,
                              reason=reason if number == 0 else None, requested_by=user, requested_at=now,
                              channel=channel, alert_id=alert_id if len(lines) == 1 else None)
        session.add(row)
        session.flush()
        rows.append(row)
    lead = rows[0]
    if len(rows) > 1:
        for row in rows:
            row.batch_id = lead.id
            session.add(row)
    outbox.add(session, outbox.POST_PURCHASE, channel, purchase_key(lead.id), now, payload={"request": lead.id})
    return lead


@dataclass
class Decision:
    outcome: str  # "done", "decided" (someone was first), "gone"
    lead: Optional[PurchaseRequest] = None
    notes: list[str] = field(default_factory=list)  # e.g. "SMTP is not configured"


def approve(checker, lead_id: int, user: str, now: Optional[datetime] = None) -> Decision:
    """Approve the request (first click wins): PO number, reorders, message, e-mail, webhook."""
    settings, now = checker.settings, now or repo.utcnow()
    with open_session(checker.engine) as session:
        lead = session.get(PurchaseRequest, lead_id)
        if lead is None or lead.batch_id not in (None, lead.id):
            return Decision("gone")
        number = core.po_number(now.date(), lead.id)
        if not _decide(session, lead.id, APPROVED, user, now, po_number=number):
            session.rollback()
            return Decision("decided", session.get(PurchaseRequest, lead.id))
        session.expire_all()
        rows = lines_of(session, lead.id)
        supplier = session.get(Supplier, lead.supplier_id)
        eta = eta_for(supplier, now.date())
        for row in rows:
            checker.write_reorder(session, row.sku, row.quantity, eta, number, user, now)
        outbox.add(session, outbox.UPDATE_PURCHASE, lead.channel, purchase_key(lead.id), now,
                   payload={"request": lead.id})
        outbox.add(session, PO_EMAIL, "email", f"po:{lead.id}", now, payload={"request": lead.id})
        if settings.purchase_webhook_url:
            outbox.add(session, PO_WEBHOOK, "webhook", f"po-webhook:{lead.id}", now, payload={"request": lead.id})
        session.commit()
        lead = session.get(PurchaseRequest, lead.id)
    checker.deliver()
    decision = Decision("done", lead)
    if not settings.smtp_url or not settings.smtp_from:
        decision.notes.append("smtp")
    if supplier is None:
        decision.notes.append("supplier_removed")
    return decision


def reject(checker, lead_id: int, user: str, reason: str, now: Optional[datetime] = None) -> Decision:
    now = now or repo.utcnow()
    with open_session(checker.engine) as session:
        lead = session.get(PurchaseRequest, lead_id)
        if lead is None or lead.batch_id not in (None, lead.id):
            return Decision("gone")
        if not _decide(session, lead.id, REJECTED, user, now, reject_reason=reason):
            session.rollback()
            return Decision("decided", session.get(PurchaseRequest, lead.id))
        outbox.add(session, outbox.UPDATE_PURCHASE, lead.channel, purchase_key(lead.id), now,
                   payload={"request": lead.id})
        session.commit()
        session.expire_all()
        lead = session.get(PurchaseRequest, lead.id)
    checker.deliver()
    return Decision("done", lead)


def _decide(session: Session, lead_id: int, status: str, user: str, now: datetime, **values) -> bool:
    """Compare-and-set from `requested`: of two clicks (or two approvers) exactly one changes it."""
    changed = session.execute(
        update(PurchaseRequest).where(or_(col(PurchaseRequest.id) == lead_id, col(PurchaseRequest.batch_id) == lead_id),
                                      col(PurchaseRequest.status) == REQUESTED)
        .values(status=status, decided_by=user, decided_at=now, **values))
    return bool(changed.rowcount)


# ---- /purchase batch -------------------------------------------------------------------------------

@dataclass
class BatchOutcome:
    posted: list[tuple[str, int]] = field(default_factory=list)  # (supplier, lines)
    without_supplier: list[str] = field(default_factory=list)
    channel: str = ""


def batch(session: Session, settings: Settings, user: str, now: datetime,
          supplier_name: Optional[str] = None) -> BatchOutcome:
    """One draft PO per supplier: every SKU with an open alert episode (WARNING or worse), no open
    reorder and no request waiting for approval. The caller commits."""
    only = suppliers.require(session, supplier_name) if supplier_name else None
    outcome = BatchOutcome(channel=settings.purchase_channel_or_alerts)
    latest: dict[str, Alert] = {}
    for alert in session.exec(select(Alert).join(Episode, col(Episode.id) == col(Alert.episode_id))
                              .where(col(Episode.open_sku).is_not(None)).order_by(col(Alert.id))):
        latest[alert.sku] = alert
    skus = sorted(latest)
    ordered = repo.open_reorder_quantities(session, skus)
    waiting = set()
    for start in range(0, len(skus), repo.IN_LIST_SIZE):
        part = skus[start:start + repo.IN_LIST_SIZE]
        waiting.update(session.exec(select(PurchaseRequest.sku).where(
            col(PurchaseRequest.sku).in_(part), PurchaseRequest.status == REQUESTED)).all())
    wanted = [sku for sku in skus if not ordered.get(sku) and sku not in waiting]
    found = suppliers.suppliers_for(session, wanted)
    groups: dict[int, list[tuple[Alert, suppliers.SkuSupplier]]] = {}
    for sku in wanted:
        bought = found.get(sku)
        if bought is None:
            if only is None:
                outcome.without_supplier.append(sku)
            continue
        if only is not None and bought.supplier.id != only.id:
            continue
        groups.setdefault(bought.supplier.id, []).append((latest[sku], bought))
    today = now.date()
    for members in groups.values():
        supplier = members[0][1].supplier
        lines = []
        for alert, bought in members:
            on_order = alert.source_on_order or 0
            outlook = planning.sku_outlook(session, settings, alert.sku, alert.available, on_order, [], today)
            suggested = outlook.suggested_qty if outlook is not None and outlook.suggested_qty else \
                fallback_quantity(alert.warning_level, alert.available + on_order)
            lines.append({"sku": alert.sku, "name": alert.name, "unit_cost": bought.unit_cost,
                          "quantity": core.round_order(suggested, supplier.pack, supplier.moq)})
        add_request(session, settings, lines, supplier, user, now,
                    reason=str(t(settings.language, "purchase.why_batch", count=len(lines))))
        outcome.posted.append((supplier.name, len(lines)))
    return outcome


# ---- rendering and delivering ------------------------------------------------------------------------

def view_of(session: Session, lead: PurchaseRequest) -> pm.PurchaseView:
    rows = lines_of(session, lead.id)
    supplier = session.get(Supplier, lead.supplier_id)
    return pm.PurchaseView(
        request_id=lead.id, supplier=supplier.name if supplier else "", currency=lead.currency, lines=po_lines(rows),
        requested_by=lead.requested_by, requested_at=lead.requested_at, status=lead.status, reason=lead.reason,
        batch=lead.batch_id is not None, po_number=lead.po_number, decided_by=lead.decided_by,
        decided_at=lead.decided_at, reject_reason=lead.reject_reason, email=supplier.email if supplier else None,
        eta=eta_for(supplier, lead.decided_at.date()) if supplier and lead.decided_at else None)


def _lead_of(session: Session, entry) -> Optional[PurchaseRequest]:
    payload = json.loads(entry.payload) if entry.payload else {}
    return session.get(PurchaseRequest, int(payload.get("request", 0)))


def render_request(session: Session, entry, lang: str) -> Optional[outbox.Rendered]:
    lead = _lead_of(session, entry)
    if lead is None or (entry.kind == outbox.POST_PURCHASE) == bool(lead.ts):
        return None  # gone, posted already, or (an update) never posted
    message = pm.request_message(lang, view_of(session, lead))
    return outbox.Rendered(lead.channel, message["text"], message["blocks"], lead.ts)


def request_posted(session: Session, entry, ts: str) -> None:
    lead = _lead_of(session, entry)
    if lead is not None:
        lead.ts = ts
        session.add(lead)


def purchase_order(session: Session, settings: Settings, lead: PurchaseRequest) -> pm.PurchaseOrder:
    supplier = session.get(Supplier, lead.supplier_id)
    if supplier is None or not lead.po_number:
        raise NotifyError("final_supplier_removed" if supplier is None else "final_not_approved")
    day = (lead.decided_at or lead.requested_at).date()
    return pm.PurchaseOrder(po_number=lead.po_number, seller=settings.seller_name, supplier=supplier.name,
                            email=supplier.email, currency=lead.currency, lines=po_lines(lines_of(session, lead.id)),
                            day=day, eta=eta_for(supplier, day), contact=lead.decided_by or "")


def send_po_email(session: Session, entry, settings: Settings, now: datetime) -> None:
    lead = _lead_of(session, entry)
    if lead is None:
        return
    po = purchase_order(session, settings, lead)
    lang = settings.language
    message = mailer.build_message(
        settings.smtp_from, po.email, pm.po_subject(lang, po), pm.po_text(lang, po), pm.po_html(lang, po),
        attachments=[mailer.Attachment(f"{po.po_number}.xlsx", pm.po_xlsx(lang, po),
                                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
        idempotency_key=f"stockbot-po-{entry.id}")
    message["X-Stockbot-PO"] = po.po_number
    mailer.send(settings, message)


def send_po_webhook(session: Session, entry, settings: Settings, now: datetime) -> None:
    lead = _lead_of(session, entry)
    if lead is None or not settings.purchase_webhook_url:
        return
    po = purchase_order(session, settings, lead)
    body = json.dumps(core.po_document(po.po_number, po.seller, po.supplier, po.currency, po.lines,
                                       lead.requested_by, lead.decided_by or ""), ensure_ascii=False).encode()
    request = urllib.request.Request(settings.purchase_webhook_url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "X-Stockbot-Delivery": str(entry.id),
        "User-Agent": "Stockbot"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read(1024)
    except urllib.error.HTTPError as error:
        code = error.code
        # 4xx: the receiver will never take it (408 and 429 are worth another try); 5xx: later
        raise NotifyError(f"final_http_{code}" if 400 <= code < 500 and code not in (408, 429)
                          else f"http_{code}") from None


outbox.register_rendered(outbox.POST_PURCHASE, render_request, request_posted)
outbox.register_rendered(outbox.UPDATE_PURCHASE, render_request)
outbox.register_external(PO_EMAIL, send_po_email)
outbox.register_external(PO_WEBHOOK, send_po_webhook)
