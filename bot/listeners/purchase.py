"""Suppliers and purchase requests: `/supplier`, `/purchase batch`, the alert's Request purchase
button and its modal, Approve / Reject on the request message, and the supplier import modal.

Parsing and permission checks happen before `ack()`; database work and Slack calls after it.
"""

from __future__ import annotations

import logging

from slack_bolt import App

from bot import outbox, purchases, replies, suppliers
from bot import purchase_messages as pm
from bot.core import purchase as core
from bot.core.commands import CommandError, Help, parse_quantity
from bot.core.text import clean_text
from bot.i18n import t
from bot.listeners.actions import MAX_ID, _alert_id, _tell
from bot.listeners.files import fetch_and_store
from bot.messages import ACTION_PURCHASE_REQUEST, channel_text, command_error_text, mention, qty, usage_text
from bot.notices import reason_text
from bot.slack_text import TEXT_MAX, Mrkdwn, fit_lines, join
from storage import repo
from storage.db import session as open_session
from storage.models import Alert, PurchaseRequest, Supplier

log = logging.getLogger(__name__)

MAX_REJECTED_SHOWN = 20


def error_words(lang: str, error: CommandError) -> Mrkdwn:
    """The error's sentence, without the usage (a modal field, an import line)."""
    detail = dict(error.detail)
    if "what" in detail:
        detail["what"] = t(lang, f"what.{detail['what']}")
    return t(lang, f"error.{error.code}", **detail)


def _error(lang: str, error: CommandError) -> Mrkdwn:
    return t(lang, "error.prefix", message=error_words(lang, error))


def _value(values: dict, block: str):
    return (values.get(block, {}).get("value") or {}).get("value")


def _not_approver(ctx) -> Mrkdwn:
    approvers = sorted(ctx.settings.purchase_approvers)
    return t(ctx.lang, "purchase.not_approver", approvers=join(", ", (mention(user) for user in approvers)))


def _already(ctx, lead: PurchaseRequest) -> Mrkdwn:
    key = "purchase.already_approved" if lead.status == purchases.APPROVED else "purchase.already_rejected"
    return t(ctx.lang, key, user=mention(lead.decided_by or ""), po=lead.po_number or "")


# ---- replies ---------------------------------------------------------------------------------------

def supplier_line(lang: str, supplier: Supplier, assigned: int = 0) -> Mrkdwn:
    return t(lang, "supplier.line", name=supplier.name, email=supplier.email, lead=supplier.lead_days,
             moq=qty(supplier.moq) if supplier.moq else "–", pack=qty(supplier.pack) if supplier.pack else "–",
             currency=supplier.currency or "–", count=qty(assigned))


def supplier_import_summary(lang: str, outcome: suppliers.SupplierImportOutcome) -> str:
    if outcome.error:
        return t(lang, "import.failed", file=outcome.file_name, error=reason_text(lang, outcome.error))
    unit = t(lang, f"supplier.unit.{outcome.unit}")
    lines = [t(lang, "supplier.imported", file=outcome.file_name, rows=qty(outcome.rows_read), unit=unit,
               assigned=qty(outcome.assigned), rejected=qty(len(outcome.rejected)))]
    for number, error in outcome.rejected[:MAX_REJECTED_SHOWN]:
        lines.append(t(lang, "supplier.rejected_line", unit=unit, number=number,
                       reason=error_words(lang, error)))
    if len(outcome.rejected) > MAX_REJECTED_SHOWN:
        lines.append(t(lang, "import.more_rejected", count=qty(len(outcome.rejected) - MAX_REJECTED_SHOWN)))
    return fit_lines(lines, TEXT_MAX, lambda count: t(lang, "more.lines", count=qty(count)))


# ---- commands ----------------------------------------------------------------------------------------

def _parse(ack, ctx, name: str, parser, command: dict, writes: tuple):
    try:
        request = parser(command.get("text"))
    except CommandError as error:
        ack(response_type="ephemeral", text=command_error_text(ctx.lang, name, error))
        return None
    if isinstance(request, Help):
        ack(response_type="ephemeral", text=usage_text(ctx.lang, name))
        return None
    if isinstance(request, writes) and not ctx.settings.is_admin(command.get("user_id", "")):
        ack(response_type="ephemeral", text=replies.not_admin(ctx.lang, ctx.settings.threshold_admins))
        return None
    ack()
    return request


def _supplier(ctx, request, user: str, respond) -> None:
    lang, now = ctx.lang, repo.utcnow()
    try:
        with open_session(ctx.engine) as session:
            if isinstance(request, core.SupplierList):
                found = suppliers.all_suppliers(session)
                counts = suppliers.assignment_counts(session)
                if not found:
                    respond(text=t(lang, "supplier.none"))
                    return
                lines = [t(lang, "supplier.list_title", count=qty(len(found)))]
                lines += [supplier_line(lang, s, counts.get(s.id, 0)) for s in found]
                respond(text=fit_lines(lines, TEXT_MAX, lambda count: t(lang, "more.lines", count=qty(count))))
            elif isinstance(request, core.SupplierAdd):
                supplier, created = suppliers.add(session, request, user, now)
                session.commit()
                respond(text=t(lang, "supplier.added" if created else "supplier.updated",
                               line=supplier_line(lang, supplier)))
            elif isinstance(request, core.SupplierRemove):
                supplier, removed = suppliers.remove(session, request.name)
                session.commit()
                respond(text=t(lang, "supplier.removed", name=supplier.name, count=qty(removed)))
            elif isinstance(request, core.SupplierAssign):
                supplier = suppliers.require(session, request.name)
                before = suppliers.assign(session, supplier, request.target, request.unit_cost, user, now)
                previous = session.get(Supplier, before.supplier_id) if before is not None else None
                session.commit()
                cost = t(lang, "supplier.cost", cost=core.money(request.unit_cost), currency=supplier.currency or "") \
                    if request.unit_cost is not None else Mrkdwn("")
                text = t(lang, "supplier.assigned", target=request.target, name=supplier.name, cost=cost,
                         lead=supplier.lead_days)
                if previous is not None and previous.id != supplier.id:
                    text += "\n" + t(lang, "supplier.was", name=previous.name)
                respond(text=text)
    except CommandError as error:  # unknown supplier: nothing was stored
        respond(text=_error(lang, error) + "\n" + usage_text(lang, "supplier"))


def _batch(ctx, request: core.PurchaseBatch, user: str, respond) -> None:
    lang = ctx.lang
    try:
        with open_session(ctx.engine) as session:
            outcome = purchases.batch(session, ctx.settings, user, repo.utcnow(), request.supplier)
            session.commit()
    except CommandError as error:
        respond(text=_error(lang, error))
        return
    ctx.checker.deliver()
    lines = []
    if outcome.posted:
        lines.append(t(lang, "purchase.batch_posted", count=qty(len(outcome.posted)),
                       channel=channel_text(lang, outcome.channel)))
        lines += [t(lang, "purchase.batch_line", supplier=name, count=qty(count)) for name, count in outcome.posted]
    else:
        lines.append(t(lang, "purchase.batch_none"))
    if outcome.without_supplier:
        lines.append(t(lang, "purchase.batch_no_supplier", skus=", ".join(outcome.without_supplier[:30])
                       + ("…" if len(outcome.without_supplier) > 30 else "")))
    respond(text=fit_lines(lines, TEXT_MAX, lambda count: t(lang, "more.lines", count=qty(count))))


def register(app: App, ctx) -> None:
    @app.command("/supplier")
    def supplier_command(ack, command, respond, client):
        request = _parse(ack, ctx, "supplier", core.parse_supplier, command, core.SUPPLIER_WRITES)
        if isinstance(request, core.SupplierImport):
            ctx.after_ack(respond, "/supplier import", lambda: client.views_open(
                trigger_id=command["trigger_id"], view=pm.supplier_import_modal(ctx.lang)))
        elif request is not None:
            ctx.after_ack(respond, "/supplier", lambda: _supplier(ctx, request, command["user_id"], respond))

    @app.command("/purchase")
    def purchase_command(ack, command, respond):
        request = _parse(ack, ctx, "purchase", core.parse_purchase, command, (core.PurchaseBatch,))
        if request is not None:
            ctx.after_ack(respond, "/purchase", lambda: _batch(ctx, request, command["user_id"], respond))

    @app.action(ACTION_PURCHASE_REQUEST)
    def request_purchase(ack, body, respond, client):
        ack()

        def work():
            alert_id = _alert_id(body)
            with open_session(ctx.engine) as session:
                alert = session.get(Alert, alert_id) if alert_id is not None else None
                draft = purchases.draft_for(session, ctx.settings, alert, repo.utcnow()) if alert else None
            if draft is None:
                _tell(respond, t(ctx.lang, "reply.alert_gone"))
                return
            client.views_open(trigger_id=body["trigger_id"], view=pm.request_modal(ctx.lang, draft))

        ctx.after_ack(respond, "request purchase", work)

    @app.view(pm.PURCHASE_MODAL_CALLBACK)
    def request_submitted(ack, body, view):
        lang, user, values = ctx.lang, body["user"]["id"], view["state"]["values"]
        errors, quantity, cost = {}, None, None
        try:
            quantity = parse_quantity(_value(values, "quantity"), "quantity", allow_zero=False)
        except CommandError as error:
            errors["quantity"] = error_words(lang, error)
        raw_cost = (_value(values, "unit_cost") or "").strip()
        if raw_cost:
            try:
                cost = core.parse_unit_cost(raw_cost)
            except CommandError as error:
                errors["unit_cost"] = error_words(lang, error)
        name = clean_text(_value(values, "supplier") or "").strip()
        reason = clean_text(_value(values, "reason") or "", keep_newlines=True).strip()[:pm.REASON_MAX] or None
        try:
            alert_id = int(view.get("private_metadata") or "")
        except ValueError:
            alert_id = None
        with open_session(ctx.engine) as session:
            alert = session.get(Alert, alert_id) if alert_id and 0 < alert_id <= MAX_ID else None
            supplier = suppliers.by_name(session, name) if name else None
        if not name:
            errors["supplier"] = t(lang, "error.missing_supplier")
        elif supplier is None:
            errors["supplier"] = t(lang, "error.unknown_supplier", name=name[:core.SUPPLIER_NAME_MAX])
        if alert is None:
            errors["quantity"] = t(lang, "reply.alert_gone")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        try:
            now = repo.utcnow()
            with open_session(ctx.engine) as session:
                lead = purchases.add_request(session, ctx.settings, [{
                    "sku": alert.sku, "name": alert.name, "quantity": quantity, "unit_cost": cost}],
                    supplier, user, now, reason=reason, alert_id=alert.id)
                outbox.reply(session, alert, t(lang, "purchase.alert_note", user=mention(user), quantity=qty(quantity),
                                               supplier=supplier.name,
                                               channel=channel_text(lang, lead.channel)), now)
                session.commit()
            ctx.checker.deliver()
        except Exception:  # the modal is closed already
            log.exception("storing a purchase request failed")

    @app.action(pm.ACTION_APPROVE_PURCHASE)
    def approve(ack, body, respond):
        ack()

        def work():
            user = body["user"]["id"]
            if not ctx.settings.may_approve_purchase(user):
                _tell(respond, _not_approver(ctx))
                return
            lead_id = _alert_id(body)
            decision = purchases.approve(ctx.checker, lead_id, user) if lead_id else purchases.Decision("gone")
            if decision.outcome == "gone":
                _tell(respond, t(ctx.lang, "purchase.gone"))
            elif decision.outcome == "decided":
                _tell(respond, _already(ctx, decision.lead))
            else:
                text = t(ctx.lang, "purchase.approved_reply", po=decision.lead.po_number)
                for note in decision.notes:
                    text += "\n" + t(ctx.lang, f"purchase.note.{note}")
                _tell(respond, text)

        ctx.after_ack(respond, "approve purchase", work)

    @app.action(pm.ACTION_REJECT_PURCHASE)
    def reject(ack, body, respond, client):
        ack()

        def work():
            user = body["user"]["id"]
            if not ctx.settings.may_approve_purchase(user):
                _tell(respond, _not_approver(ctx))
                return
            lead_id = _alert_id(body)
            with open_session(ctx.engine) as session:
                lead = session.get(PurchaseRequest, lead_id) if lead_id else None
            if lead is None:
                _tell(respond, t(ctx.lang, "purchase.gone"))
            elif lead.status != purchases.REQUESTED:
                _tell(respond, _already(ctx, lead))
            else:
                client.views_open(trigger_id=body["trigger_id"], view=pm.reject_modal(ctx.lang, lead.id))

        ctx.after_ack(respond, "reject purchase", work)

    @app.view(pm.REJECT_MODAL_CALLBACK)
    def reject_submitted(ack, body, view):
        lang, user = ctx.lang, body["user"]["id"]
        reason = clean_text(_value(view["state"]["values"], "reason") or "", keep_newlines=True).strip()
        if not ctx.settings.may_approve_purchase(user):
            ack(response_action="errors", errors={"reason": _not_approver(ctx)})
            return
        if not reason:
            ack(response_action="errors", errors={"reason": t(lang, "purchase.reason_missing")})
            return
        try:
            lead_id = int(view.get("private_metadata") or "")
        except ValueError:
            lead_id = 0
        with open_session(ctx.engine) as session:
            lead = session.get(PurchaseRequest, lead_id) if 0 < lead_id <= MAX_ID else None
        if lead is None:
            ack(response_action="errors", errors={"reason": t(lang, "purchase.gone")})
            return
        if lead.status != purchases.REQUESTED:
            ack(response_action="errors", errors={"reason": _already(ctx, lead)})
            return
        ack()
        try:  # an approval in between wins: the rejection then changes nothing
            purchases.reject(ctx.checker, lead.id, user, reason[:pm.REASON_MAX])
        except Exception:
            log.exception("storing a rejection failed")

    @app.view(pm.SUPPLIER_IMPORT_CALLBACK)
    def import_submitted(ack, body, view, client):
        user = body["user"]["id"]
        chosen = (view["state"]["values"].get("file", {}).get("file") or {}).get("files") or []
        if not ctx.settings.is_admin(user):
            ack(response_action="errors", errors={"file": replies.not_admin(ctx.lang, ctx.settings.threshold_admins)})
            return
        if not chosen:
            ack(response_action="errors", errors={"file": t(ctx.lang, "import.no_file")})
            return
        ack()
        for shared in chosen:
            _import_file(ctx, client, shared, user)


def _import_file(ctx, client, shared: dict, user: str) -> None:
    def store(name: str, data: bytes) -> str:
        with open_session(ctx.engine) as session:
            outcome = suppliers.import_bytes(session, name, data, user, repo.utcnow())
            session.commit()
        return supplier_import_summary(ctx.lang, outcome)

    text = fetch_and_store(ctx, client, shared, store)
    try:
        client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.exception("could not post the supplier import summary")
