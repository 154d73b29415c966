"""Replies to slash commands (ephemeral, to the person who typed them), built from plain data.

Outside text (SKUs, names, notes, errors) is escaped by `bot.i18n.t` / `bot.slack_text.outside`;
lists are shortened with "…and N more" so a reply stays within Slack's limits.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Optional, Sequence

from bot.core.tiers import Tier
from bot.i18n import t
from bot.messages import (
    SnoozeView,
    channel_text,
    mention,
    method_text,
    more_lines,
    qty,
    slack_time,
    snoozed_text,
    tier_label,
)
from bot.notices import reason_text
from bot.slack_text import TEXT_MAX, Mrkdwn, fit_lines, join, outside
from bot.sources import Reason
from storage.models import Reorder, SkuPlan, SourceState, Stock, Threshold, ThresholdChange

MAX_WAREHOUSES_SHOWN = 10


def who(lang: str, user: str) -> Mrkdwn:
    """A Slack mention, or Stockbot itself for levels the nightly recompute set."""
    return t(lang, "reply.by_auto") if user == "auto" else mention(user)


def not_admin(lang: str, admins: Sequence[str]) -> Mrkdwn:
    return t(lang, "reply.not_admin", admins=join(", ", (mention(user) for user in sorted(admins))))


def not_stock_editor(lang: str, settings) -> Mrkdwn:
    allowed = sorted(settings.stock_editors | settings.threshold_admins)
    return t(lang, "reply.not_stock_editor", editors=join(", ", (mention(user) for user in allowed)))


def threshold_saved(lang: str, saved: Threshold, old: Optional[Threshold]) -> str:
    text = t(lang, "reply.threshold_saved", sku=saved.sku, warning=qty(saved.warning_level),
             critical=qty(saved.critical_level), channel=channel_text(lang, saved.channel))
    if saved.warehouse:
        text += "\n" + t(lang, "reply.threshold_scope", warehouse=saved.warehouse)
    if old is not None:
        text += "\n" + t(lang, "reply.threshold_was", warning=qty(old.warning_level), critical=qty(old.critical_level))
    return text


def threshold_shown(lang: str, threshold: Threshold, plan: Optional[SkuPlan] = None) -> str:
    text = t(lang, "reply.threshold_show", sku=threshold.sku, warning=qty(threshold.warning_level),
             critical=qty(threshold.critical_level), channel=channel_text(lang, threshold.channel),
             user=who(lang, threshold.updated_by), when=slack_time(threshold.updated_at))
    if threshold.warehouse:
        text += "\n" + t(lang, "reply.threshold_scope", warehouse=threshold.warehouse)
    if plan is not None and plan.auto and plan.method and plan.computed_at:
        text += "\n" + t(lang, "reply.threshold_auto", method=method_text(lang, plan.method),
                         when=slack_time(plan.computed_at))
    elif plan is not None and plan.auto:
        text += "\n" + t(lang, "reply.threshold_auto_pending")
    else:
        text += "\n" + t(lang, "reply.threshold_manual", sku=threshold.sku)
    return text


def source_status(lang: str, states: Sequence[SourceState], next_check: Optional[datetime]) -> str:
    """`/stock status`: one line per source, failing ones first."""
    if not states:
        return t(lang, "reply.status_none")
    never = t(lang, "reply.status_never")
    lines = [t(lang, "reply.status_title", next=slack_time(next_check) if next_check else never)]
    for state in sorted(states, key=lambda s: (not s.failing, s.name)):
        error = t(lang, "reply.status_error", when=slack_time(state.last_error_at) if state.last_error_at else never,
                  error=reason_text(lang, Reason.from_json(state.last_error_reason, state.last_error))
                  ) if state.failing and state.last_error else ""
        lines.append(t(lang, "reply.status_line", icon="🔴" if state.failing else "🟢", source=state.name,
                       when=slack_time(state.last_success_at) if state.last_success_at else never,
                       rows=qty(state.rows_read), error=error))
    return fit_lines(lines, TEXT_MAX, more_lines(lang))


MAX_REJECTED_SHOWN = 10


def import_summary(lang: str, outcome) -> str:
    """What a file import did (a `bot.imports.ImportOutcome`): counts, then each rejected row."""
    if outcome.error:
        return t(lang, "import.failed", file=outcome.file_name, error=reason_text(lang, outcome.error))
    # (the file name and each reason are outside text: t() escapes and shortens them)
    unit_word = {"line": ("line", "lines", "行"), "row": ("row", "rows", "行")}.get(outcome.unit, ("row", "rows", "行"))
    units = unit_word[2] if lang == "zh" else unit_word[1]
    lines = [t(lang, f"import.done.{outcome.kind}", file=outcome.file_name, rows=qty(outcome.rows_read),
               units=units, skus=qty(outcome.skus), stored=qty(outcome.stored), rejected=qty(len(outcome.rejected)))]
    for number, reason in outcome.rejected[:MAX_REJECTED_SHOWN]:
        lines.append(t(lang, "import.rejected_line", number=number, reason=reason_text(lang, reason),
                       unit=unit_word[2] if lang == "zh" else unit_word[0].capitalize()))
    if len(outcome.rejected) > MAX_REJECTED_SHOWN:
        lines.append(t(lang, "import.more_rejected", count=qty(len(outcome.rejected) - MAX_REJECTED_SHOWN)))
    if outcome.unknown_headers:
        lines.append(t(lang, "import.unknown_headers",
                       headers=join(", ", (outside(header, 60) for header in outcome.unknown_headers[:20]))))
    if outcome.kind == "stock" and outcome.stored:
        lines.append(t(lang, "import.checking"))
    return fit_lines(lines, TEXT_MAX, more_lines(lang))


def no_threshold(lang: str, sku: str) -> str:
    return t(lang, "reply.no_threshold", sku=sku)


def threshold_removed(lang: str, old: Threshold) -> str:
    return t(lang, "reply.threshold_removed", sku=old.sku, warning=qty(old.warning_level),
             critical=qty(old.critical_level))


def threshold_page(lang: str, rows: Sequence[Threshold], total: int, prefix: str, page: int,
                   page_size: int, auto_skus: frozenset[str] = frozenset()) -> str:
    prefix_text = t(lang, "reply.list_prefix", prefix=prefix) if prefix else ""
    if total == 0:
        return t(lang, "reply.list_empty", prefix=prefix_text)
    pages = max(1, math.ceil(total / page_size))
    if not rows:
        return t(lang, "reply.list_past_end", page=page, pages=pages)
    lines = [t(lang, "reply.list_header", prefix=prefix_text, total=qty(total), page=page, pages=pages)]
    lines += [t(lang, "reply.list_row", sku=row.sku, warning=qty(row.warning_level),
                critical=qty(row.critical_level),
                channel=Mrkdwn(" → " + channel_text(lang, row.channel)) if row.channel else "",
                auto=" 🤖" if row.sku in auto_skus else "")
              for row in rows]
    if page < pages:
        lines.append(t(lang, "reply.list_more", args=f"{prefix} " if prefix else "", next=page + 1))
    return fit_lines(lines, TEXT_MAX, more_lines(lang))


def _level(value: Optional[int]) -> str:
    return "–" if value is None else qty(value)


def threshold_history(lang: str, sku: str, changes: Sequence[ThresholdChange]) -> str:
    if not changes:
        return t(lang, "reply.history_empty", sku=sku)
    lines = [t(lang, "reply.history_header", sku=sku)]
    for change in changes:
        when = slack_time(change.changed_at)
        if change.action == "remove":
            lines.append(t(lang, "reply.history_remove", when=when, user=who(lang, change.changed_by),
                           old_warning=_level(change.old_warning), old_critical=_level(change.old_critical)))
            continue
        channel = ""
        if change.old_channel != change.new_channel and change.old_warning is not None:
            channel = t(lang, "reply.history_channel", old=channel_text(lang, change.old_channel),
                        new=channel_text(lang, change.new_channel))
        lines.append(t(lang, "reply.history_set", when=when, user=who(lang, change.changed_by),
                       old_warning=_level(change.old_warning), new_warning=_level(change.new_warning),
                       old_critical=_level(change.old_critical), new_critical=_level(change.new_critical),
                       channel=channel))
    return fit_lines(lines, TEXT_MAX, more_lines(lang))


def stock_shown(lang: str, sku: str, rows: Sequence[Stock], threshold: Optional[Threshold],
                open_tier: Optional[Tier], opened_at, acked_by: Optional[str], on_order: int,
                snooze: Optional[SnoozeView] = None) -> Mrkdwn:
    available = sum(row.available for row in rows)
    name = next((row.name for row in rows if row.name), None)
    warehouses = Mrkdwn("")
    if len(rows) > 1 or (rows and rows[0].warehouse):
        shown = [f"{outside(row.warehouse or '–', 64)}: {qty(row.available)}" for row in rows[:MAX_WAREHOUSES_SHOWN]]
        if len(rows) > MAX_WAREHOUSES_SHOWN:
            shown.append(more_lines(lang)(len(rows) - MAX_WAREHOUSES_SHOWN))
        warehouses = Mrkdwn(" (" + ", ".join(shown) + ")")
    if threshold:
        levels = t(lang, "reply.stock_levels", warning=qty(threshold.warning_level),
                   critical=qty(threshold.critical_level))
    else:
        levels = t(lang, "reply.stock_no_levels", sku=sku)
    if open_tier is not None:
        acked = t(lang, "reply.stock_state_acked", user=mention(acked_by)) if acked_by else ""
        state = t(lang, "reply.stock_state_alert", tier=tier_label(lang, open_tier), when=slack_time(opened_at),
                  acked=acked)
    elif threshold and available <= threshold.warning_level:
        inbound = on_order + sum(row.on_order or 0 for row in rows)
        if available + inbound > threshold.warning_level:
            state = t(lang, "reply.stock_state_below_covered", on_order=qty(on_order))
        else:  # no alert yet: its WARNING is held by a snooze or the quiet hours
            state = t(lang, "reply.stock_state_below_waiting")
    else:
        state = t(lang, "reply.stock_state_ok")
    text = t(lang, "reply.stock_show", sku=sku, name=Mrkdwn(f" ({outside(name, 300)})") if name else "",
             available=qty(available),
             warehouses=warehouses, levels=levels, state=state)
    if on_order:
        text += "\n" + t(lang, "reply.stock_on_order", on_order=qty(on_order))
    oversold = sum(row.oversold or 0 for row in rows)
    if oversold:
        text += "\n" + t(lang, "reply.stock_oversold", oversold=qty(oversold))
    if snooze is not None:
        text += "\n" + snoozed_text(lang, snooze)
    latest = max(rows, key=lambda row: row.read_at)
    return Mrkdwn(text + "\n" + t(lang, "reply.stock_read", when=slack_time(latest.read_at), source=latest.source))


def reorder_saved(lang: str, sku: str, quantity: int, eta: Optional[date]) -> str:
    eta_text = t(lang, "alert.reorder_eta", eta=eta.isoformat()) if eta else ""
    return t(lang, "reply.reorder_saved", sku=sku, quantity=qty(quantity), eta=eta_text)


def reorder_list(lang: str, sku: Optional[str], reorders: Sequence[Reorder], today: date) -> str:
    sku_text = f" · {sku}" if sku else ""
    if not reorders:
        return t(lang, "reply.reorder_list_empty", sku=sku_text)
    lines = [t(lang, "reply.reorder_list_header", sku=sku_text)]
    for reorder in reorders:
        lines.append(t(
            lang, "reply.reorder_row", sku=reorder.sku, quantity=qty(reorder.quantity),
            eta=t(lang, "alert.reorder_eta", eta=reorder.eta.isoformat()) if reorder.eta else "",
            user=mention(reorder.created_by),
            late=t(lang, "reply.reorder_late") if reorder.eta and reorder.eta < today else "",
            note=Mrkdwn(f" — {outside(reorder.note, 200)}") if reorder.note else ""))
    return fit_lines(lines, TEXT_MAX, more_lines(lang))
