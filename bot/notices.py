"""Notices for OPS_CHANNEL and failure reasons: a stock source failing or recovering, a channel
Slack refuses, and why a read or an imported row was refused, in the reader's language."""

from __future__ import annotations

from bot.i18n import STRINGS, t
from bot.messages import channel_text, qty
from bot.slack_text import Mrkdwn, outside


def reason_text(lang: str, reason: str) -> Mrkdwn:
    """Why a read or an imported row was refused, in the reader's language (a `bot.sources.Reason`
    carries its code and details); any other text is shown escaped as it is."""
    code = getattr(reason, "code", None)
    if not code or f"reason.{code}" not in STRINGS["en"]:
        return outside(reason)
    detail = dict(reason.detail)
    if f"field.{detail.get('label')}" in STRINGS["en"]:
        detail["label"] = t(lang, f"field.{detail['label']}")
    if "returns" in detail:
        detail["hint"] = t(lang, "reason.returns_hint") if detail.pop("returns") else Mrkdwn("")
    if "warehouse" in detail:
        warehouse = detail.pop("warehouse")
        detail["where"] = t(lang, "reason.where", warehouse=warehouse) if warehouse else Mrkdwn("")
    if f"unit.{detail.get('unit')}" in STRINGS["en"]:
        detail["unit"] = t(lang, f"unit.{detail['unit']}")
    if isinstance(detail.get("fields"), list):  # field names (sku, available): "sku or available"
        detail["fields"] = Mrkdwn(t(lang, "reason.or").join(outside(name) for name in detail["fields"]))
    if isinstance(detail.get("required"), list):  # how to set a mapping: sku=YOUR_HEADER,available=YOUR_HEADER
        yours = t(lang, "reason.your_header")
        detail["example"] = Mrkdwn(",".join(f"{outside(name)}={yours}" for name in detail.pop("required")))
    for key, value in detail.items():
        if getattr(value, "code", None):  # a reason inside a reason (a row's, a sheet's, a retry's)
            detail[key] = reason_text(lang, value)
    return t(lang, f"reason.{code}", **detail)


def source_failed_text(lang: str, source: str, error: str) -> Mrkdwn:
    return t(lang, "source.failed", source=source, error=reason_text(lang, error))


def source_recovered_text(lang: str, source: str, rows: int) -> Mrkdwn:
    return t(lang, "source.recovered", source=source, rows=qty(rows))


def channel_refused_text(lang: str, channel: str, error: str) -> Mrkdwn:
    """To OPS_CHANNEL, once: Stockbot cannot post alerts to a channel, and how to fix it."""
    reason = error if error in ("channel_not_found", "not_in_channel", "is_archived") else "other"
    return t(lang, "channel.refused", channel=channel_text(lang, channel),
             reason=t(lang, f"channel.reason.{reason}", error=error))


def channel_works_again_text(lang: str, channel: str) -> Mrkdwn:
    return t(lang, "channel.works_again", channel=channel_text(lang, channel))
