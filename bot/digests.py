"""Builders for messages about many SKUs at once: the digest, its full list and CSV, its
reminder, and the per-channel recovery summary. Pure: plain data in, Slack payloads out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Sequence

from bot.core.tiers import Tier
from bot.i18n import t
from bot.messages import TIER_EMOJI, mention, more_lines, plain_text, qty, section, slack_time, tier_label
from bot.slack_text import BUTTON_TEXT_MAX, SECTION_TEXT_MAX, TEXT_MAX, Mrkdwn, clip, fit_lines, outside

ACTION_ACK_DIGEST = "ack_digest"
SHOWN = 10  # SKUs in the digest message itself; the thread and the CSV have them all
LIST_CHUNK = 50  # SKUs per thread reply (each line is short: well inside a section's 3,000 characters)
NAME_MAX = 60


@dataclass(frozen=True)
class DigestRow:
    sku: str
    name: Optional[str]
    available: int
    level: int  # the level of the digest's tier (critical level for CRITICAL, else warning)
    cover_days: Optional[float] = None  # at the recent pace; None: no sales to judge by
    recovered: bool = False


@dataclass(frozen=True)
class DigestView:
    digest_id: int
    tier: Tier
    rows: Sequence[DigestRow]  # most urgent first (see urgency)
    acked_by: Optional[str] = None
    acked_at: Optional[datetime] = None
    recovered_at: Optional[datetime] = None  # when the last one recovered (all of them have)


def urgency(row: DigestRow) -> tuple:
    """Least days of cover first; then (no sales to judge by, or a tie) lowest available against its level."""
    cover = row.cover_days if row.cover_days is not None else float("inf")
    return cover, row.available / max(row.level, 1), row.sku


def _row_line(lang: str, row: DigestRow) -> Mrkdwn:
    cover = t(lang, "digest.cover", days=Mrkdwn(f"{row.cover_days:,.1f}")) if row.cover_days is not None \
        else Mrkdwn("")
    name = Mrkdwn(" " + outside(row.name, NAME_MAX)) if row.name else Mrkdwn("")
    line = t(lang, "digest.row", sku=row.sku, name=name, available=qty(row.available), level=qty(row.level),
             cover=cover)
    return Mrkdwn(f"~{line}~") if row.recovered else line


def digest_message(lang: str, view: DigestView) -> dict:
    count, tier = len(view.rows), view.tier
    recovered = sum(1 for row in view.rows if row.recovered)
    all_recovered = count > 0 and recovered == count
    if all_recovered:
        title = t(lang, "digest.title_recovered", count=qty(count), tier=tier_label(lang, tier))
        text = t(lang, "digest.fallback_recovered", count=qty(count), tier=tier_label(lang, tier))
    else:
        title = t(lang, "digest.title", emoji=TIER_EMOJI[tier], tier=tier_label(lang, tier), count=qty(count))
        text = t(lang, "digest.fallback", tier=tier_label(lang, tier), count=qty(count),
                 first=view.rows[0].sku if view.rows else "")
    lines = [f"*{title}*", t(lang, f"digest.intro.{tier.name}", count=qty(count))]
    lines += [_row_line(lang, row) for row in view.rows[:SHOWN]]
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": fit_lines(
        lines, SECTION_TEXT_MAX, more_lines(lang))}}]
    if count > SHOWN:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t(
            lang, "digest.more", count=qty(count - SHOWN))}]})
    status: list[str] = []
    if all_recovered:
        status.append(t(lang, "digest.recovered_all", count=qty(count),
                        when=slack_time(view.recovered_at) if view.recovered_at else Mrkdwn("")))
    else:
        status.append(t(lang, f"digest.todo.{tier.name}"))
        if recovered:
            status.append(t(lang, "digest.recovered_some", recovered=qty(recovered), count=qty(count)))
    if view.acked_by:
        status.append(t(lang, "digest.acked", user=mention(view.acked_by), count=qty(count),
                        when=slack_time(view.acked_at) if view.acked_at else Mrkdwn("")))
    blocks.append(section(lang, status))
    if not all_recovered and not view.acked_by:
        blocks.append({"type": "actions", "block_id": f"digest_{view.digest_id}", "elements": [
            {"type": "button", "action_id": ACTION_ACK_DIGEST, "style": "primary",
             "text": plain_text(t(lang, "button.ack_all"), BUTTON_TEXT_MAX), "value": str(view.digest_id)}]})
    return {"text": clip(text, TEXT_MAX), "blocks": blocks}


def digest_list_chunks(lang: str, rows: Sequence[DigestRow]) -> list[Mrkdwn]:
    """The full list as thread replies of LIST_CHUNK SKUs each (every reply within Slack's limits)."""
    chunks = []
    for start in range(0, len(rows), LIST_CHUNK):
        part = rows[start:start + LIST_CHUNK]
        header = t(lang, "digest.list_header", start=qty(start + 1), end=qty(start + len(part)), count=qty(len(rows)))
        chunks.append(fit_lines([header, *(_row_line(lang, row) for row in part)], TEXT_MAX, more_lines(lang)))
    return chunks


def digest_csv(rows: Sequence[DigestRow]) -> bytes:
    """sku, name, available, level, days of cover: opens in Excel (UTF-8 with BOM keeps Chinese names)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "name", "available", "level", "days_of_cover"])
    for row in rows:
        # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it as text.
        cells = [row.sku, row.name or "", row.available, row.level,
                 "" if row.cover_days is None else f"{row.cover_days:.1f}"]
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def digest_file_names(lang: str, view: DigestView) -> tuple[str, str, Mrkdwn]:
    """(filename, title, comment) for the CSV upload."""
    count = qty(len(view.rows))
    return (f"stockbot-{view.tier.name.lower()}-{view.digest_id}.csv",
            str(t(lang, "digest.file_title", tier=tier_label(lang, view.tier), count=count)),
            t(lang, "digest.file_comment", count=count))


def digest_reminder_text(lang: str, tier: Tier, open_count: int, count: int) -> Mrkdwn:
    return t(lang, "digest.reminder", open=qty(open_count), count=qty(count), tier=tier_label(lang, tier))


@dataclass(frozen=True)
class RecoveredRow:
    sku: str
    available: int
    warning_level: int


def recovery_summary_text(lang: str, rows: Sequence[RecoveredRow]) -> Mrkdwn:
    """One message for a channel's recoveries in one check: the count, then up to SHOWN SKUs."""
    lines = [t(lang, "recovery.summary", count=qty(len(rows)))]
    lines += [t(lang, "recovery.row", sku=row.sku, available=qty(row.available), level=qty(row.warning_level))
              for row in rows[:SHOWN]]
    if len(rows) > SHOWN:
        lines.append(t(lang, "recovery.more", count=qty(len(rows) - SHOWN)))
    return fit_lines(lines, TEXT_MAX, more_lines(lang))
