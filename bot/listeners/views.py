"""The reorder modal. Input is validated before `ack()` so mistakes show next to the field."""

from __future__ import annotations

from slack_bolt import App

from bot import replies
from bot.core.commands import MAX_NOTE_LENGTH, CommandError, parse_eta, parse_quantity
from bot.core.text import clean_text
from bot.i18n import t
from bot.imports import KINDS, STOCK
from bot.listeners.files import import_shared_file
from bot.messages import IMPORT_MODAL_CALLBACK, REORDER_MODAL_CALLBACK, command_error_text
from storage import repo
from storage.db import session as open_session
from storage.models import Alert


def _field(values: dict, block: str, key: str):
    return (values.get(block, {}).get("value") or {}).get(key)


def _error_line(lang: str, error: CommandError) -> str:
    # The modal shows one line under the field, so drop the usage part of the message.
    return command_error_text(lang, "reorder", error).split("\n", 1)[0]


def register(app: App, ctx) -> None:
    @app.view(IMPORT_MODAL_CALLBACK)
    def import_submitted(ack, body, view, client):
        user = body["user"]["id"]
        chosen = (view["state"]["values"].get("file", {}).get("file") or {}).get("files") or []
        if not ctx.settings.may_edit_stock(user):  # the modal was opened before STOCK_EDITORS changed, or forged
            ack(response_action="errors", errors={"file": replies.not_stock_editor(ctx.lang, ctx.settings)})
            return
        if not chosen:
            ack(response_action="errors", errors={"file": t(ctx.lang, "import.no_file")})
            return
        ack()  # closes the modal; the result arrives as a direct message
        kind = view.get("private_metadata") if view.get("private_metadata") in KINDS else STOCK

        def work():
            for shared in chosen:
                # Posting to the user's id lands in the bot's DM with them.
                import_shared_file(ctx, client, shared, kind, channel=user)

        ctx.in_background("import from the modal", work)

    @app.view(REORDER_MODAL_CALLBACK)
    def reorder_submitted(ack, body, view):
        lang, user = ctx.lang, body["user"]["id"]
        values = view["state"]["values"]
        errors = {}
        quantity = eta = None
        try:
            quantity = parse_quantity(_field(values, "quantity", "value"), "quantity", allow_zero=False)
        except CommandError as error:
            errors["quantity"] = _error_line(lang, error)
        raw_eta = _field(values, "eta", "selected_date")
        if raw_eta:
            try:
                eta = parse_eta(raw_eta, repo.utcnow().date())
            except CommandError as error:
                errors["eta"] = _error_line(lang, error)
        note = clean_text(_field(values, "note", "value") or "", keep_newlines=True).strip()[:MAX_NOTE_LENGTH] or None
        if not ctx.settings.is_admin(user):
            errors["quantity"] = replies.not_admin(lang, ctx.settings.threshold_admins)
        try:
            alert_id = int(view.get("private_metadata") or "")
        except ValueError:
            alert_id = None
            errors["quantity"] = t(lang, "reply.alert_gone")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()

        def work():  # the modal is closed already: on an error the alert thread simply gets no note
            with open_session(ctx.engine) as session:
                alert = session.get(Alert, alert_id)
            if alert is not None:
                ctx.checker.record_reorder(alert.sku, quantity, eta, note, user)

        ctx.in_background("recording a reorder from the modal", work)
