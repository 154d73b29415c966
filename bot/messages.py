"""One builder per message kind: alert, reminder, recovery, reorder note, source health,
command replies, the reorder modal and the App Home. Wording comes from `bot.i18n`.

Builders take plain data (dataclasses defined here) and return Slack payload dicts, so
they are pure and the same text is used by Slack, the demo and the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Optional, Sequence

from bot.core.commands import CommandError
from bot.core.forecast import Outlook, ReorderPoint
from bot.core.tiers import Tier, level_for
from bot.i18n import t

ACTION_ACK = "ack_restock"
ACTION_REORDERED = "mark_reordered"
REORDER_MODAL_CALLBACK = "reorder_modal"
IMPORT_MODAL_CALLBACK = "stock_import"
ACTION_APPLY_THRESHOLD = "apply_threshold"
IMPORT_FILETYPES = ["csv", "tsv", "txt", "xlsx", "xlsm"]

TIER_EMOJI = {Tier.OK: "✅", Tier.WARNING: "🟠", Tier.CRITICAL: "🔴", Tier.OUT_OF_STOCK: "⛔"}


def qty(value: int) -> str:
    return f"{value:,}"


def slack_time(moment: datetime) -> str:
    """A Slack date token: each reader sees it in their own time zone; the fallback is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    epoch = int(moment.timestamp())
    fallback = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}>"


def tier_label(lang: str, tier: Tier) -> str:
    return t(lang, f"tier.{tier.name}")


@dataclass(frozen=True)
class ReorderView:
    quantity: int
    eta: Optional[date]
    created_by: str
    late: bool = False
    note: Optional[str] = None
    sku: str = ""


@dataclass(frozen=True)
class AlertView:
    alert_id: int
    sku: str
    tier: Tier
    available: int
    warning_level: int
    critical_level: int
    read_at: datetime
    name: Optional[str] = None
    on_order: int = 0
    acked_by: Optional[str] = None
    acked_at: Optional[datetime] = None
    reorders: Sequence[ReorderView] = field(default_factory=tuple)
    recovered_available: Optional[int] = None
    recovered_at: Optional[datetime] = None
    warehouse: Optional[str] = None
    stale_source: Optional[str] = None
    outlook: Optional[Outlook] = None
    oversold: int = 0  # units sold beyond zero; available is 0 then


def _eta_text(lang: str, eta: Optional[date]) -> str:
    return t(lang, "alert.reorder_eta", eta=eta.isoformat()) if eta else ""


def alert_fallback_text(lang: str, view: AlertView) -> str:
    """Plain text for notifications and screen readers: SKU, tier word, available, level."""
    level_kind = "critical" if view.tier is Tier.CRITICAL else "warning"
    return t(
        lang,
        "alert.fallback",
        tier=tier_label(lang, view.tier),
        sku=f"{view.sku} @ {view.warehouse}" if view.warehouse else view.sku,
        available=qty(view.available),
        level_name=t(lang, f"alert.level_name.{level_kind}"),
        level=qty(level_for(view.tier, view.warning_level, view.critical_level)),
    )


def alert_message(lang: str, view: AlertView) -> dict:
    """The alert as first posted, and as re-rendered after ack, reorder or recovery."""
    title = t(lang, "alert.title", emoji=TIER_EMOJI[view.tier], tier=tier_label(lang, view.tier),
              sku=f"{view.sku} @ {view.warehouse}" if view.warehouse else view.sku)
    if view.name:
        title += f"\n{view.name}"
    fields = [
        {"type": "mrkdwn", "text": t(lang, "alert.available", available=qty(view.available))
         + (" · " + t(lang, "alert.oversold", oversold=qty(view.oversold)) if view.oversold else "")},
        {"type": "mrkdwn", "text": t(lang, "alert.warning_level", level=qty(view.warning_level))},
        {"type": "mrkdwn", "text": t(lang, "alert.critical_level", level=qty(view.critical_level))},
    ]
    if view.on_order:
        fields.append({"type": "mrkdwn", "text": t(lang, "alert.on_order", on_order=qty(view.on_order))})
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}, "fields": fields},
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": t(lang, "alert.stale", when=slack_time(view.read_at), source=view.stale_source)
             if view.stale_source else t(lang, "alert.read_at", when=slack_time(view.read_at))}]},
    ]
    status_lines = []
    for reorder in view.reorders:
        status_lines.append(t(lang, "alert.reorder", quantity=qty(reorder.quantity), user=reorder.created_by,
                              eta=_eta_text(lang, reorder.eta)))
    if view.recovered_available is None:
        status_lines.extend(_late_lines(lang, view))
    if view.acked_by:
        status_lines.append(t(lang, "alert.acked", user=view.acked_by,
                              when=slack_time(view.acked_at) if view.acked_at else ""))
    if view.recovered_available is not None:
        status_lines.append(t(lang, "alert.recovered", available=qty(view.recovered_available),
                              level=qty(view.warning_level),
                              when=slack_time(view.recovered_at) if view.recovered_at else ""))
    else:
        status_lines.insert(0, t(lang, f"alert.todo.{view.tier.name}"))
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(status_lines)}})
    if view.outlook is not None and view.recovered_available is None:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(outlook_lines(lang, view.outlook))}})
    if view.recovered_available is None:
        buttons = []
        if not view.acked_by:
            buttons.append({"type": "button", "action_id": ACTION_ACK, "style": "primary",
                            "text": {"type": "plain_text", "text": t(lang, "button.ack")},
                            "value": str(view.alert_id)})
        buttons.append({"type": "button", "action_id": ACTION_REORDERED,
                        "text": {"type": "plain_text", "text": t(lang, "button.reordered")},
                        "value": str(view.alert_id)})
        blocks.append({"type": "actions", "block_id": f"alert_{view.alert_id}", "elements": buttons})
    return {"text": alert_fallback_text(lang, view), "blocks": blocks}


def _days(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.0f}"


def outlook_lines(lang: str, outlook: Outlook) -> list[str]:
    """Days of cover, stock-out date, suggested reorder and one line of ad guidance."""
    if outlook.days_of_cover is None:
        return [t(lang, "outlook.no_demand")]
    lines = [t(lang, "outlook.cover", daily=_days(outlook.daily), cover=_days(outlook.days_of_cover),
               date=outlook.stockout_date.isoformat() if outlook.stockout_date else t(lang, "outlook.not_within_year"))]
    if outlook.suggested_qty:
        lines.append(t(lang, "outlook.suggested", quantity=qty(outlook.suggested_qty), lead=outlook.lead_days))
    guidance = outlook.guidance
    if guidance.kind is not None:
        lines.append(t(lang, f"guidance.{guidance.kind}", cover=_days(outlook.days_of_cover), lead=outlook.lead_days,
                       days=guidance.days_short))
    if outlook.method:
        lines.append(method_text(lang, outlook.method))
    return lines


def method_text(lang: str, method: str) -> str:
    """An auto level's working, from the stored `key=value;...` description."""
    parts = dict(part.split("=", 1) for part in method.split(";") if "=" in part)
    text = t(lang, "method.auto", basis=t(lang, f"basis.{parts.get('basis', 'avg')}"),
             days=parts.get("days", "?"), service=_percent(float(parts.get("service", 0))), lead=parts.get("lead", "?"))
    if parts.get("weekdays"):
        text += t(lang, "method.weekdays")
    if parts.get("campaigns"):
        text += t(lang, "method.campaigns", names=parts["campaigns"])
    return text


def _percent(share: float) -> str:
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _late_lines(lang: str, view: AlertView) -> list[str]:
    return [t(lang, "alert.reorder_late", quantity=qty(r.quantity), eta=r.eta.isoformat())
            for r in view.reorders if r.late and r.eta]


def reminder_text(lang: str, view: AlertView) -> str:
    """A thread reply; a reorder past its ETA is called out here too, since it is the next alert."""
    text = t(lang, "reminder", sku=view.sku, tier=tier_label(lang, view.tier), available=qty(view.available),
             level=qty(level_for(view.tier, view.warning_level, view.critical_level)))
    return "\n".join([text, *_late_lines(lang, view)])


def recovery_text(lang: str, sku: str, available: int, warning_level: int) -> str:
    return t(lang, "recovery", sku=sku, available=qty(available), level=qty(warning_level))


def reorder_reply_text(lang: str, sku: str, reorder: ReorderView) -> str:
    return t(lang, "reorder_reply", user=reorder.created_by, quantity=qty(reorder.quantity), sku=sku,
             eta=_eta_text(lang, reorder.eta))


def source_failed_text(lang: str, source: str, error: str) -> str:
    return t(lang, "source.failed", source=source, error=error)


def source_recovered_text(lang: str, source: str, rows: int) -> str:
    return t(lang, "source.recovered", source=source, rows=qty(rows))


# ---- command replies -------------------------------------------------------------------

def usage_text(lang: str, command: str) -> str:
    return t(lang, f"usage.{command}")


def command_error_text(lang: str, command: str, error: CommandError) -> str:
    detail = dict(error.detail)
    if "what" in detail:
        detail["what"] = t(lang, f"what.{detail['what']}")
    message = t(lang, "error.prefix", message=t(lang, f"error.{error.code}", **detail))
    return f"{message}\n{usage_text(lang, command)}"


def channel_text(lang: str, channel: Optional[str]) -> str:
    return f"<#{channel}>" if channel else t(lang, "reply.default_channel")


def reorder_modal(lang: str, alert_id: int, sku: str) -> dict:
    """The modal opened by `Mark reorder placed`; `private_metadata` carries the alert id."""
    return {
        "type": "modal",
        "callback_id": REORDER_MODAL_CALLBACK,
        "private_metadata": str(alert_id),
        "title": {"type": "plain_text", "text": t(lang, "modal.title")},
        "submit": {"type": "plain_text", "text": t(lang, "modal.submit")},
        "close": {"type": "plain_text", "text": t(lang, "modal.cancel")},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{t(lang, 'modal.sku', sku=sku)}*"}},
            {"type": "input", "block_id": "quantity",
             "label": {"type": "plain_text", "text": t(lang, "modal.quantity")},
             "element": {"type": "number_input", "action_id": "value", "is_decimal_allowed": False,
                         "min_value": "1"}},
            {"type": "input", "block_id": "eta", "optional": True,
             "label": {"type": "plain_text", "text": t(lang, "modal.eta")},
             "element": {"type": "datepicker", "action_id": "value"}},
            {"type": "input", "block_id": "note", "optional": True,
             "label": {"type": "plain_text", "text": t(lang, "modal.note")},
             "element": {"type": "plain_text_input", "action_id": "value", "max_length": 500}},
        ],
    }


def import_modal(lang: str, kind: str) -> dict:
    """`/stock import [sales]`: one file input; `private_metadata` carries the kind."""
    return {
        "type": "modal",
        "callback_id": IMPORT_MODAL_CALLBACK,
        "private_metadata": kind,
        "title": {"type": "plain_text", "text": t(lang, f"import.title.{kind}")},
        "submit": {"type": "plain_text", "text": t(lang, "import.submit")},
        "close": {"type": "plain_text", "text": t(lang, "modal.cancel")},
        "blocks": [
            {"type": "input", "block_id": "file",
             "label": {"type": "plain_text", "text": t(lang, "import.file")},
             "element": {"type": "file_input", "action_id": "file", "filetypes": IMPORT_FILETYPES, "max_files": 1}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": t(lang, f"import.hint.{kind}")}]},
        ],
    }


@dataclass(frozen=True)
class HomeRow:
    sku: str
    tier: Tier
    available: int
    level: int
    acked: bool


def home_view(lang: str, open_count: int, threshold_count: int, last_check: Optional[datetime],
              rows: Sequence[HomeRow]) -> dict:
    when = slack_time(last_check) if last_check else t(lang, "home.never")
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": t(lang, "home.title")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": t(
            lang, "home.summary", open=qty(open_count), thresholds=qty(threshold_count), when=when)}},
        {"type": "divider"},
    ]
    if not rows:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": t(lang, "home.none")}})
    else:
        lines = [t(lang, "home.row", emoji=TIER_EMOJI[row.tier], sku=row.sku, tier=tier_label(lang, row.tier),
                   available=qty(row.available), level=qty(row.level),
                   acked=t(lang, "home.acked") if row.acked else "") for row in rows]
        if open_count > len(rows):
            lines.append(t(lang, "home.more", count=qty(open_count - len(rows))))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    return {"type": "home", "blocks": blocks}


# ---- threshold maths replies -------------------------------------------------------------

def _units(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-6 or value >= 100 else f"{value:,.1f}"


@dataclass(frozen=True)
class DemandBasis:
    """Where `/threshold calc` took daily demand from: typed, or the SKU's sales history."""

    typed: bool
    basis: str = "avg"
    history_days: int = 0
    stockout_days: int = 0


def calc_message(lang: str, sku: str, point: ReorderPoint, demand: DemandBasis, outlook: Optional[Outlook],
                 available: Optional[int]) -> dict:
    """`/threshold calc`: the reorder point with its working, and an Apply button."""
    plain = point.lead_demand - point.campaign_units
    lines = [t(lang, "calc.title", sku=sku, warning=qty(point.warning_level), critical=qty(point.critical_level)),
             t(lang, "calc.lead_demand", daily=_units(point.daily), lead=point.lead_days, units=_units(plain))
             + (t(lang, "calc.weekdays") if point.seasonal else "")]
    if point.campaign_units:
        lines.append(t(lang, "calc.campaigns", units=_units(point.campaign_units), names=", ".join(point.campaigns)))
    if point.service is not None:
        lines.append(t(lang, "calc.safety_service", units=_units(point.safety_units), z=f"{point.z:.3f}",
                       sigma=_units(point.sigma), lead=point.lead_days, service=_percent(point.service)))
    elif point.safety_days is not None:
        lines.append(t(lang, "calc.safety_days", units=_units(point.safety_units), days=_days(point.safety_days)))
    elif point.safety_units:
        lines.append(t(lang, "calc.safety_units", units=_units(point.safety_units)))
    else:
        lines.append(t(lang, "calc.safety_none"))
    lines.append(t(lang, "calc.equals", warning=qty(point.warning_level)))
    if demand.typed:
        lines.append(t(lang, "calc.demand_typed"))
    else:
        lines.append(t(lang, "calc.demand_history", basis=t(lang, f"basis.{demand.basis}"), days=demand.history_days,
                       sigma=_units(point.sigma))
                     + (t(lang, "calc.stockout_left_out", days=demand.stockout_days) if demand.stockout_days else ""))
    if outlook is not None and available is not None:
        lines.append("")
        lines.append(t(lang, "calc.now", available=qty(available)))
        lines.extend(outlook_lines(lang, outlook))
    text = "\n".join(lines)
    value = json.dumps({"sku": sku, "warning": point.warning_level, "critical": point.critical_level})
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "calc_apply", "elements": [
            {"type": "button", "action_id": ACTION_APPLY_THRESHOLD, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": t(lang, "button.apply", warning=qty(point.warning_level),
                                                      critical=qty(point.critical_level))}}]},
    ]
    return {"text": text, "blocks": blocks}
