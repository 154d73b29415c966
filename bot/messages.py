"""One builder per message kind: alert, reminder, recovery, reorder note, source health,
command replies, the reorder modal and the App Home. Wording comes from `bot.i18n`.

Builders take plain data (dataclasses defined here) and return Slack payload dicts, so
they are pure and the same text is used by Slack, the demo and the tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Optional, Sequence

from bot.core.commands import CommandError
from bot.core.demand import SkuLevels
from bot.core.forecast import DemandNote, Outlook, ReorderPoint
from bot.core.quiet import SNOOZE_CHOICES
from bot.core.tiers import Tier, level_for
from bot.i18n import t
from bot.slack_text import (
    BUTTON_TEXT_MAX,
    CONTEXT_TEXT_MAX,
    HEADER_TEXT_MAX,
    MODAL_TITLE_MAX,
    SECTION_TEXT_MAX,
    TEXT_MAX,
    Mrkdwn,
    clip,
    fit_lines,
    outside,
)

ACTION_ACK = "ack_restock"
ACTION_REORDERED = "mark_reordered"
REORDER_MODAL_CALLBACK = "reorder_modal"
IMPORT_MODAL_CALLBACK = "stock_import"
ACTION_APPLY_THRESHOLD = "apply_threshold"
ACTION_SNOOZE = "snooze"  # a static_select; option values "<alert_id>:1d|1w|worse"
ACTION_PURCHASE_REQUEST = "purchase_request"  # opens the purchase request modal (bot.listeners.purchase)
OPTION_TEXT_MAX = 75
PLACEHOLDER_MAX = 150
IMPORT_FILETYPES = ["csv", "tsv", "txt", "xlsx", "xlsm"]

TIER_EMOJI = {Tier.OK: "✅", Tier.WARNING: "🟠", Tier.CRITICAL: "🔴", Tier.OUT_OF_STOCK: "⛔"}


MAX_REORDERS_SHOWN = 5  # on an alert; the rest are counted ("…and 3 more")
NAME_MAX = 300  # a product name under the alert title


def qty(value: int) -> Mrkdwn:
    return Mrkdwn(f"{value:,}")


def more_lines(lang: str):
    """The "…and N more" line that ends a shortened list."""
    return lambda count: t(lang, "more.lines", count=qty(count))


def section(lang: str, lines: Sequence[str]) -> dict:
    """A mrkdwn section whose text keeps to Slack's 3,000 characters by dropping whole lines."""
    return {"type": "section", "text": {"type": "mrkdwn",
                                        "text": fit_lines(list(lines), SECTION_TEXT_MAX, more_lines(lang))}}


def plain_text(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": clip(text, limit)}


SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")


def mention(user: str) -> Mrkdwn:
    """A user mention; anything that is not a Slack user id is shown as (escaped) text instead."""
    return Mrkdwn(f"<@{user}>") if SLACK_ID.fullmatch(user or "") else outside(user, 40)


def slack_time(moment: datetime) -> str:
    """A Slack date token: each reader sees it in their own time zone; the fallback is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    epoch = int(moment.timestamp())
    fallback = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Mrkdwn(f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{fallback}>")


def tier_label(lang: str, tier: Tier) -> Mrkdwn:
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
class SnoozeView:
    """An active snooze on the alert's SKU: who, and until when (None: until it gets worse)."""

    by: str
    until: Optional[datetime] = None


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
    snooze: Optional[SnoozeView] = None  # shown while the SKU is snoozed (never on a recovered alert)


def _eta_text(lang: str, eta: Optional[date]) -> Mrkdwn:
    return t(lang, "alert.reorder_eta", eta=eta.isoformat()) if eta else Mrkdwn("")


def _sku_at(view: AlertView) -> str:
    return f"{view.sku} @ {view.warehouse}" if view.warehouse else view.sku


def alert_fallback_text(lang: str, view: AlertView) -> Mrkdwn:
    """Plain text for notifications and screen readers: SKU, tier word (or recovered), available, level."""
    if view.recovered_available is not None:
        return t(lang, "alert.fallback_recovered", sku=_sku_at(view), available=qty(view.recovered_available),
                 level=qty(view.warning_level))
    level_kind = "critical" if view.tier is Tier.CRITICAL else "warning"
    return t(
        lang,
        "alert.fallback",
        tier=tier_label(lang, view.tier),
        sku=_sku_at(view),
        available=qty(view.available),
        level_name=t(lang, f"alert.level_name.{level_kind}"),
        level=qty(level_for(view.tier, view.warning_level, view.critical_level)),
    )


def _reorder_lines(lang: str, view: AlertView) -> list[Mrkdwn]:
    """The reorders' facts (who, how many, ETA, note), at most MAX_REORDERS_SHOWN of them."""
    lines = [t(lang, "alert.reorder", quantity=qty(r.quantity), user=mention(r.created_by), eta=_eta_text(lang, r.eta),
               note=t(lang, "alert.reorder_note", note=outside(r.note, 200)) if r.note else Mrkdwn(""))
             for r in view.reorders[:MAX_REORDERS_SHOWN]]
    if len(view.reorders) > MAX_REORDERS_SHOWN:
        lines.append(t(lang, "alert.more_reorders", count=qty(len(view.reorders) - MAX_REORDERS_SHOWN)))
    return lines


def alert_message(lang: str, view: AlertView) -> dict:
    """The alert as first posted, and as re-rendered after ack, reorder or recovery.

    It never contradicts itself: once a reorder is recorded it stops asking for one (the
    reorder's facts replace the Mark-reorder button), and a recovered alert looks resolved
    (✅ header, the stock it recovered to, no buttons).
    """
    recovered = view.recovered_available is not None
    if recovered:
        title = t(lang, "alert.title_recovered", sku=_sku_at(view), tier=tier_label(lang, view.tier))
        available = view.recovered_available
    else:
        title = t(lang, "alert.title", emoji=TIER_EMOJI[view.tier], tier=tier_label(lang, view.tier), sku=_sku_at(view))
        available = view.available
    # The name goes on its own line outside the bold: `*…*` across a line break shows literal asterisks.
    heading = f"*{title}*" + (f"\n{outside(view.name, NAME_MAX)}" if view.name else "")
    fields = [
        {"type": "mrkdwn", "text": t(lang, "alert.available", available=qty(available))
         + (" · " + t(lang, "alert.oversold", oversold=qty(view.oversold)) if view.oversold and not recovered else "")},
        {"type": "mrkdwn", "text": t(lang, "alert.warning_level", level=qty(view.warning_level))},
        {"type": "mrkdwn", "text": t(lang, "alert.critical_level", level=qty(view.critical_level))},
    ]
    if view.on_order and not recovered:
        fields.append({"type": "mrkdwn", "text": t(lang, "alert.on_order", on_order=qty(view.on_order))})
    if recovered:  # the stock shown is the recovered reading
        read = t(lang, "alert.read_at", when=slack_time(view.recovered_at or view.read_at))
    elif view.stale_source:
        read = t(lang, "alert.stale", when=slack_time(view.read_at), source=view.stale_source)
    else:
        read = t(lang, "alert.read_at", when=slack_time(view.read_at))
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(heading, SECTION_TEXT_MAX)}, "fields": fields},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(read, CONTEXT_TEXT_MAX)}]},
    ]
    status_lines: list[str] = []
    if recovered:
        status_lines.append(t(lang, "alert.recovered", available=qty(view.recovered_available),
                              level=qty(view.warning_level),
                              when=slack_time(view.recovered_at) if view.recovered_at else Mrkdwn("")))
    else:
        todo = "alert.todo_ordered" if view.reorders else "alert.todo"
        status_lines.append(t(lang, f"{todo}.{view.tier.name}"))
    status_lines.extend(_reorder_lines(lang, view))
    if not recovered:
        status_lines.extend(_late_lines(lang, view))
    if view.acked_by:
        status_lines.append(t(lang, "alert.acked", user=mention(view.acked_by),
                              when=slack_time(view.acked_at) if view.acked_at else Mrkdwn("")))
    blocks.append(section(lang, status_lines))
    if view.outlook is not None and not recovered:
        blocks.append(section(lang, outlook_lines(lang, view.outlook, view.tier)))
    if view.snooze is not None and not recovered:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": clip(snoozed_text(lang, view.snooze), CONTEXT_TEXT_MAX)}]})
    if not recovered:
        buttons = []
        if not view.acked_by:
            buttons.append({"type": "button", "action_id": ACTION_ACK, "style": "primary",
                            "text": plain_text(t(lang, "button.ack"), BUTTON_TEXT_MAX),
                            "value": str(view.alert_id)})
        if not view.reorders:  # once a reorder is recorded its facts above take the button's place
            buttons.append({"type": "button", "action_id": ACTION_REORDERED,
                            "text": plain_text(t(lang, "button.reordered"), BUTTON_TEXT_MAX),
                            "value": str(view.alert_id)})
            # Asks the supplier through an approved PO; "Mark reorder placed" is for orders placed elsewhere.
            buttons.append({"type": "button", "action_id": ACTION_PURCHASE_REQUEST,
                            "text": plain_text(t(lang, "button.purchase_request"), BUTTON_TEXT_MAX),
                            "value": str(view.alert_id)})
        buttons.append(snooze_menu(lang, view.alert_id))
        blocks.append({"type": "actions", "block_id": f"alert_{view.alert_id}", "elements": buttons})
    return {"text": clip(alert_fallback_text(lang, view), TEXT_MAX), "blocks": blocks}


def snooze_menu(lang: str, alert_id: int) -> dict:
    """The alert's Snooze menu: 1 day, 1 week, until it gets worse."""
    return {"type": "static_select", "action_id": ACTION_SNOOZE,
            "placeholder": plain_text(t(lang, "snooze.placeholder"), PLACEHOLDER_MAX),
            "options": [{"text": plain_text(t(lang, f"snooze.option.{choice}"), OPTION_TEXT_MAX),
                         "value": f"{alert_id}:{choice}"} for choice in SNOOZE_CHOICES]}


def snooze_until_text(lang: str, snooze: SnoozeView) -> Mrkdwn:
    return t(lang, "snooze.until", when=slack_time(snooze.until)) if snooze.until else t(lang, "snooze.until_worse")


def snoozed_text(lang: str, snooze: SnoozeView) -> Mrkdwn:
    """The line on a snoozed alert (and in `/stock SKU`)."""
    return t(lang, "snooze.line", user=mention(snooze.by), until=snooze_until_text(lang, snooze))


def _days(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.0f}"


def outlook_lines(lang: str, outlook: Outlook, tier: Optional[Tier] = None) -> list[Mrkdwn]:
    """Days of cover, stock-out date, suggested reorder, one line of ad guidance and the demand class.

    `tier`: the SKU's alert tier, if any. Below its warning level a SKU never gets
    "stock supports scaling ads", whatever the cover says: the alert asks for stock.
    """
    if outlook.demand is not None and outlook.demand.klass == "dead":
        return [demand_line(lang, outlook.demand)]
    if outlook.days_of_cover is None:
        return [t(lang, "outlook.no_demand")]
    lines = [t(lang, "outlook.cover", daily=_days(outlook.daily), cover=_days(outlook.days_of_cover),
               date=outlook.stockout_date.isoformat() if outlook.stockout_date else t(lang, "outlook.not_within_year"))]
    if outlook.suggested_qty:
        lines.append(t(lang, "outlook.suggested", quantity=qty(outlook.suggested_qty), lead=outlook.lead_days))
    guidance = outlook.guidance
    if guidance.kind == "scale" and tier is not None and tier is not Tier.OK:
        guidance = replace(guidance, kind=None)
    if guidance.kind is not None:
        lines.append(t(lang, f"guidance.{guidance.kind}", cover=_days(outlook.days_of_cover), lead=outlook.lead_days,
                       days=guidance.days_short))
    if outlook.demand is not None:
        lines.append(demand_line(lang, outlook.demand))
    if outlook.method:
        lines.append(method_text(lang, outlook.method))
    return lines


def demand_line(lang: str, note: DemandNote) -> Mrkdwn:
    """The SKU's demand class, the one-off orders left out of its daily demand, and a new SKU's launch."""
    if note.klass == "new":
        return t(lang, f"demand.new.{note.launch or 'none'}", days=note.history_days)
    if note.klass == "dead":
        return t(lang, "demand.dead")
    text = t(lang, "demand.class", klass=t(lang, f"class.{note.klass}"), every=_days(note.adi))
    if note.one_off_days:
        text += t(lang, "demand.one_offs", count=note.one_off_days, units=qty(note.one_off_min))
    return Mrkdwn(text)


def method_text(lang: str, method: str) -> Mrkdwn:
    """An auto level's working, from the stored `key=value;...` description."""
    parts = dict(part.split("=", 1) for part in method.split(";") if "=" in part)
    if parts.get("basis") == "class":
        klass = parts.get("class", "lumpy")
        if klass in ("new", "dead"):
            text = t(lang, f"method.class_{klass}", lead=parts.get("lead", "?"), days=parts.get("days", "?"))
        elif klass == "smooth":
            text = t(lang, "method.class_smooth", service=_percent(float(parts.get("service", 0))),
                     lead=parts.get("lead", "?"), days=parts.get("days", "?"))
        else:
            text = t(lang, "method.class", stretch=parts.get("stretch", "?"), lead=parts.get("lead", "?"),
                     days=parts.get("days", "?"))
        if float(parts.get("trend", 1)) > 1.005:
            text += t(lang, "method.trend", trend=parts["trend"])
        if parts.get("spikes") == "exclude":
            text += t(lang, "method.spikes_excluded")
        if parts.get("campaigns"):
            text += t(lang, "method.campaigns", names=parts["campaigns"])
        return Mrkdwn(text)
    text = t(lang, "method.auto", basis=t(lang, f"basis.{parts.get('basis', 'avg')}"),
             days=parts.get("days", "?"), service=_percent(float(parts.get("service", 0))), lead=parts.get("lead", "?"))
    if parts.get("weekdays"):
        text += t(lang, "method.weekdays")
    if parts.get("campaigns"):
        text += t(lang, "method.campaigns", names=parts["campaigns"])
    return Mrkdwn(text)


def _percent(share: float) -> str:
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _late_lines(lang: str, view: AlertView) -> list[Mrkdwn]:
    late = [r for r in view.reorders if r.late and r.eta]
    lines = [t(lang, "alert.reorder_late", quantity=qty(r.quantity), eta=r.eta.isoformat())
             for r in late[:MAX_REORDERS_SHOWN]]
    if len(late) > MAX_REORDERS_SHOWN:
        lines.append(more_lines(lang)(len(late) - MAX_REORDERS_SHOWN))
    return lines


def reminder_text(lang: str, view: AlertView) -> Mrkdwn:
    """A thread reply; a reorder past its ETA is called out here too, since it is the next alert."""
    text = t(lang, "reminder", sku=view.sku, tier=tier_label(lang, view.tier), available=qty(view.available),
             level=qty(level_for(view.tier, view.warning_level, view.critical_level)))
    return fit_lines([text, *_late_lines(lang, view)], TEXT_MAX, more_lines(lang))


def recovery_text(lang: str, sku: str, available: int, warning_level: int) -> Mrkdwn:
    return t(lang, "recovery", sku=sku, available=qty(available), level=qty(warning_level))


def reorder_reply_text(lang: str, sku: str, reorder: ReorderView) -> Mrkdwn:
    return t(lang, "reorder_reply", user=mention(reorder.created_by), quantity=qty(reorder.quantity), sku=sku,
             eta=_eta_text(lang, reorder.eta))


# ---- stock chart ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartUpload:
    """How a stock chart is shared: file name, title, the line above it, and alt text for screen readers."""

    filename: str
    title: str
    comment: Optional[str]
    alt_text: str


def chart_upload(lang: str, sku: str, available: int, warning_level: Optional[int], critical_level: Optional[int],
                 stockout_date: Optional[date], with_comment: bool) -> ChartUpload:
    """In an alert's thread the alert says what it is about (no comment); on demand a line names the SKU."""
    safe_name = re.sub(r"[^\w.-]+", "_", sku).strip("._") or "sku"
    stockout = t(lang, "chart.alt_stockout", date=stockout_date.isoformat()) if stockout_date else ""
    none = "–"
    return ChartUpload(
        filename=f"stock-{safe_name}.png", title=t(lang, "chart.title", sku=sku),
        comment=t(lang, "chart.comment", sku=sku) if with_comment else None,
        alt_text=t(lang, "chart.alt", sku=sku, available=qty(available),
                   warning=qty(warning_level) if warning_level is not None else none,
                   critical=qty(critical_level) if critical_level is not None else none, stockout=stockout))


def chart_failed_text(lang: str, sku: str, error: str) -> Mrkdwn:
    # t() escapes both: neither the SKU nor Slack's error text can ping or link
    return t(lang, "reply.chart_failed", sku=sku, error=error[:80])


# ---- command replies -------------------------------------------------------------------

def usage_text(lang: str, command: str) -> Mrkdwn:
    return t(lang, f"usage.{command}")


def command_error_text(lang: str, command: str, error: CommandError) -> Mrkdwn:
    detail = dict(error.detail)
    if "what" in detail:
        detail["what"] = t(lang, f"what.{detail['what']}")
    message = t(lang, "error.prefix", message=t(lang, f"error.{error.code}", **detail))
    return Mrkdwn(f"{message}\n{usage_text(lang, command)}")


def channel_text(lang: str, channel: Optional[str]) -> Mrkdwn:
    if not channel:
        return t(lang, "reply.default_channel")
    return Mrkdwn(f"<#{channel}>") if SLACK_ID.fullmatch(channel) else outside(channel, 40)


def reorder_modal(lang: str, alert_id: int, sku: str) -> dict:
    """The modal opened by `Mark reorder placed`; `private_metadata` carries the alert id."""
    return {
        "type": "modal",
        "callback_id": REORDER_MODAL_CALLBACK,
        "private_metadata": str(alert_id),
        "title": plain_text(t(lang, "modal.title"), MODAL_TITLE_MAX),
        "submit": plain_text(t(lang, "modal.submit"), MODAL_TITLE_MAX),
        "close": plain_text(t(lang, "modal.cancel"), MODAL_TITLE_MAX),
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
        "title": plain_text(t(lang, f"import.title.{kind}"), MODAL_TITLE_MAX),
        "submit": plain_text(t(lang, "import.submit"), MODAL_TITLE_MAX),
        "close": plain_text(t(lang, "modal.cancel"), MODAL_TITLE_MAX),
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
        {"type": "header", "text": plain_text(t(lang, "home.title"), HEADER_TEXT_MAX)},
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
        blocks.append(section(lang, lines))
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
                       sigma=_units(point.sigma)))
    return _calc_reply(lang, sku, lines, point.warning_level, point.critical_level, outlook, available)


def _calc_reply(lang: str, sku: str, lines: list[str], warning: int, critical: int, outlook: Optional[Outlook],
                available: Optional[int]) -> dict:
    if outlook is not None and available is not None:
        lines.append("")
        lines.append(t(lang, "calc.now", available=qty(available)))
        lines.extend(outlook_lines(lang, outlook))
    body = section(lang, lines)
    value = json.dumps({"sku": sku, "warning": warning, "critical": critical})
    blocks: list[dict] = [
        body,
        {"type": "actions", "block_id": "calc_apply", "elements": [
            {"type": "button", "action_id": ACTION_APPLY_THRESHOLD, "style": "primary", "value": value,
             "text": plain_text(t(lang, "button.apply", warning=qty(warning), critical=qty(critical)),
                                BUTTON_TEXT_MAX)}]},
    ]
    return {"text": body["text"]["text"], "blocks": blocks}


def class_calc_message(lang: str, sku: str, levels: SkuLevels, daily: float, lead_days: int, history_days: int,
                       sigma: float, z: float, service: float, outlook: Optional[Outlook],
                       available: Optional[int]) -> dict:
    """`/threshold calc` by demand class: the reorder point read off the SKU's own history, with its working."""
    warning, critical = levels.reorder_point or 0, min(levels.critical_level or 0, levels.reorder_point or 0)
    lines = [t(lang, "calc.title", sku=sku, warning=qty(warning), critical=qty(critical))]
    if levels.klass == "new":
        lines.append(t(lang, f"demand.new.{levels.launch}", days=history_days))
        lines.append(t(lang, "calc.launch", daily=_units(daily), lead=lead_days,
                       units=_units(warning - levels.campaign_units)))
    elif levels.klass == "smooth":
        lines.append(t(lang, "calc.class_history", klass=t(lang, "class.smooth"), every=_days(levels.adi),
                       days=history_days))
        lines.append(t(lang, "calc.lead_demand", daily=_units(daily), lead=lead_days, units=_units(daily * lead_days)))
        lines.append(t(lang, "calc.safety_service", units=_units(warning - levels.campaign_units - daily * lead_days),
                       z=f"{z:.3f}", sigma=_units(sigma), lead=lead_days, service=_percent(service)))
    else:
        lines.append(t(lang, "calc.class_history", klass=t(lang, f"class.{levels.klass}"), every=_days(levels.adi),
                       days=history_days))
        lines.append(t(lang, "calc.worst_stretch", days=levels.stretch_days, lead=lead_days,
                       units=_units(levels.worst_stretch)))
        if levels.trend > 1.005:
            lines.append(t(lang, "calc.trend", trend=f"{levels.trend:.2f}"))
    if levels.campaign_units:
        lines.append(t(lang, "calc.campaigns", units=_units(levels.campaign_units), names=""))
    lines.append(t(lang, "calc.equals", warning=qty(warning)))
    lines.append(t(lang, "calc.class_critical", daily=_units(daily), lead=lead_days, critical=qty(critical)))
    if levels.one_off_days:
        lines.append(t(lang, f"calc.one_offs_{levels.spikes}", count=levels.one_off_days,
                       units=qty(levels.one_off_min)))
    return _calc_reply(lang, sku, lines, warning, critical, outlook, available)

