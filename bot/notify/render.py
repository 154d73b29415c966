"""Notifications rendered natively for each kind, in the rule's language: an e-mail (subject,
text, HTML), DingTalk and WeCom markdown, a Feishu post, one SMS line, a webhook's JSON.

Pure: the event's facts in, text out. Wording lives in bot/i18n.py (keys `notify.*`); values are
placed unescaped (this is not Slack) and each format escapes what it must itself.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Optional

from bot.core import notify as core
from bot.core.tiers import Tier, level_for
from bot.i18n import t
from bot.slack_text import Mrkdwn

ROWS_SHOWN = 10  # SKUs listed in one message for a digest; the rest are counted
WECOM_MARKDOWN_MAX_BYTES = 4096  # WeCom refuses longer markdown content (errcode 40058)
DINGTALK_TEXT_MAX = 5000  # characters: DingTalk's robots take ~20 kB; a phone screen far less
FEISHU_TEXT_MAX = 5000
SMS_GSM_MAX, SMS_UCS2_MAX = 160, 70  # one segment
# GSM 03.38: the basic set (one septet each) and the extension table (two: escape + char).
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")
_SPACES = re.compile(r"\s+")


def _plain(value: object) -> str:
    """Outside text on one line: no control characters, runs of space as one."""
    return _SPACES.sub(" ", "".join(c if c.isprintable() or c.isspace() else " " for c in str(value)))


def _t(lang: str, key: str, **values: object) -> str:
    """The sentence with values placed as they are (no Slack escaping: the formats escape)."""
    return str(t(lang, key, **{name: Mrkdwn(_plain(v)) for name, v in values.items()}))


def _qty(value: int) -> str:
    return f"{value:,}"


def _days(cover: float) -> str:
    return f"{cover:.1f}" if cover < 10 else f"{cover:.0f}"


def tier_word(lang: str, tier: int) -> str:
    return str(t(lang, f"tier.{Tier(tier).name}"))


def slack_link(channel: Optional[str], ts: Optional[str]) -> Optional[str]:
    """A link to a Slack message without chat.getPermalink: Slack redirects archives links to the
    message in the reader's workspace."""
    if not channel or not ts:
        return None
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


@dataclass(frozen=True)
class Content:
    """What any format says: a title, fact lines (one SKU) or rows (many), and the Slack link."""

    title: str
    lines: tuple[str, ...]
    link: Optional[str]
    link_text: str


def content(lang: str, event: core.Event, rule_id: Optional[int] = None) -> Content:
    items = event.items
    first = items[0] if items else None
    tier = tier_word(lang, event.tier)
    count = max(event.count, len(items))
    values = dict(tier=tier, count=_qty(count), sku=first.sku if first else "",
                  previous=tier_word(lang, event.previous_tier) if event.previous_tier else "")
    title = _t(lang, f"notify.title.{event.kind}", **values)
    lines: list[str] = []
    if event.kind == core.TEST:
        lines.append(_t(lang, "notify.test_body", rule=rule_id or 0))
    elif len(items) == 1 and event.kind not in (core.DIGEST, core.DIGEST_REMINDER, core.RECOVERY_SUMMARY):
        item = first
        if item.name:
            lines.append(_t(lang, "notify.fact.name", name=item.name))
        level = item.warning_level if event.kind == core.RECOVERY else \
            level_for(Tier(item.tier), item.warning_level, item.critical_level)
        lines.append(_t(lang, "notify.fact.available", available=_qty(item.available), level=_qty(level)))
        if item.on_order and event.kind != core.RECOVERY:
            lines.append(_t(lang, "notify.fact.on_order", on_order=_qty(item.on_order)))
        if item.cover_days is not None and event.kind != core.RECOVERY:
            lines.append(_t(lang, "notify.fact.cover", days=_days(item.cover_days)))
        if item.warehouse:
            lines.append(_t(lang, "notify.fact.warehouse", warehouse=item.warehouse))
    else:
        for item in items[:ROWS_SHOWN]:
            level = item.warning_level if event.kind == core.RECOVERY_SUMMARY else \
                level_for(Tier(item.tier), item.warning_level, item.critical_level)
            cover = _t(lang, "notify.row_cover", days=_days(item.cover_days)) if item.cover_days is not None else ""
            lines.append(_t(lang, "notify.row", sku=item.sku, name=f" {item.name}" if item.name else "",
                            available=_qty(item.available), level=_qty(level), cover=cover))
        if count > min(len(items), ROWS_SHOWN):
            lines.append(_t(lang, "notify.more", count=_qty(count - min(len(items), ROWS_SHOWN))))
    link = event.extra.get("slack_link")
    link_text = _t(lang, "notify.open_slack") if link else _t(lang, "notify.ack_in_slack")
    return Content(title, tuple(lines), link, link_text)


# ---- e-mail ----------------------------------------------------------------------------------

def email_subject(lang: str, event: core.Event) -> str:
    """Tier, SKU and cover: "[CRITICAL] SKU123 — 3 days of cover"."""
    items = event.items
    tier = tier_word(lang, event.tier)
    if event.kind == core.TEST:
        return _t(lang, "notify.title.test")
    if len(items) == 1 and event.kind in (core.ALERT, core.ESCALATION, core.REMINDER):
        item = items[0]
        if item.cover_days is not None:
            return _t(lang, "notify.subject.cover", tier=tier, sku=item.sku, days=_days(item.cover_days))
        return _t(lang, "notify.subject.left", tier=tier, sku=item.sku, available=_qty(item.available))
    if len(items) == 1 and event.kind == core.RECOVERY:
        return _t(lang, "notify.subject.recovered", sku=items[0].sku, available=_qty(items[0].available))
    return _t(lang, "notify.subject.other", tier=tier, title=content(lang, event).title)


def email_text(lang: str, event: core.Event, rule_id: Optional[int] = None) -> str:
    body = content(lang, event, rule_id)
    link = f"{body.link_text}: {body.link}" if body.link else body.link_text
    return "\n".join([body.title, "", *body.lines, "", link, "", "— Stockbot"]) + "\n"


def email_html(lang: str, event: core.Event, rule_id: Optional[int] = None) -> str:
    body = content(lang, event, rule_id)
    color = {1: "#b58105", 2: "#c2410c", 3: "#b91c1c"}.get(event.tier, "#15803d")
    if event.kind in (core.RECOVERY, core.RECOVERY_SUMMARY):
        color = "#15803d"
    items = "".join(f"<li>{html.escape(line)}</li>" for line in body.lines)
    link = (f'<p><a href="{html.escape(body.link, quote=True)}">{html.escape(body.link_text)}</a></p>'
            if body.link else f"<p>{html.escape(body.link_text)}</p>")
    return (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><body style="font-family:sans-serif">'
            f'<h2 style="color:{color}">{html.escape(body.title)}</h2><ul>{items}</ul>{link}'
            f'<p style="color:#666;font-size:12px">Stockbot</p></body></html>')


# ---- chat robots -----------------------------------------------------------------------------

def _md(text: str) -> str:
    """Outside text in robot markdown: nothing that makes a link, a tag or a heading."""
    return text.replace("<", "‹").replace(">", "›").replace("[", "［").replace("]", "］").replace("#", "＃")


def dingtalk_markdown(lang: str, event: core.Event, rule_id: Optional[int] = None) -> dict:
    """{"title", "text"}: the title shows in the notification; "Stockbot" is in both, so a robot
    secured by the keyword "Stockbot" takes it."""
    body = content(lang, event, rule_id)
    title = f"Stockbot · {body.title}"
    lines = [f"#### {_md(title)}", ""] + [f"- {_md(line)}" for line in body.lines]
    tail = ["", f"[{_md(body.link_text)}]({body.link})" if body.link else _md(body.link_text)]
    text = _fit_chars(lines, tail, DINGTALK_TEXT_MAX)
    return {"title": title[:64], "text": text}


def wecom_markdown(lang: str, event: core.Event, rule_id: Optional[int] = None) -> str:
    """WeCom's markdown content, at most 4096 bytes of UTF-8: whole lines, then a cut line."""
    body = content(lang, event, rule_id)
    color = "info" if event.kind in (core.RECOVERY, core.RECOVERY_SUMMARY) else "warning"
    lines = [f'**Stockbot · <font color="{color}">{_md(body.title)}</font>**'] + [f"> {_md(line)}" for line in body.lines]
    tail = [f"[{_md(body.link_text)}]({body.link})" if body.link else _md(body.link_text)]
    return fit_bytes(lines, tail, WECOM_MARKDOWN_MAX_BYTES)


def feishu_post(lang: str, event: core.Event, rule_id: Optional[int] = None) -> dict:
    """A Feishu/Lark rich-text ("post") message: {"msg_type": "post", "content": {"post": {locale: …}}}."""
    body = content(lang, event, rule_id)
    lines = list(body.lines)
    while lines and sum(len(line) for line in lines) > FEISHU_TEXT_MAX:
        lines.pop()
    rows = [[{"tag": "text", "text": line}] for line in lines]
    rows.append([{"tag": "a", "text": body.link_text, "href": body.link}] if body.link
                else [{"tag": "text", "text": body.link_text}])
    locale = "zh_cn" if lang == "zh" else "en_us"
    return {"msg_type": "post",
            "content": {"post": {locale: {"title": f"Stockbot · {body.title}", "content": rows}}}}


def _fit_chars(lines: list[str], tail: list[str], limit: int) -> str:
    kept = list(lines)
    while kept and len("\n".join(kept + tail)) > limit:
        kept.pop()
    return "\n".join(kept + tail)[:limit]


def fit_bytes(lines: list[str], tail: list[str], limit: int) -> str:
    """Whole lines (and the tail) within `limit` UTF-8 bytes; with only the first line left and still
    too long, that line is cut on a character boundary and ends with an ellipsis."""
    def size(parts: list[str]) -> int:
        return len("\n".join(parts).encode("utf-8"))

    kept = list(lines)
    while len(kept) > 1 and size(kept + tail) > limit:
        kept.pop()
    if size(kept + tail) <= limit:
        return "\n".join(kept + tail)
    room = limit - size(tail) - 1 - len("…".encode())
    head = (kept[0] if kept else "").encode("utf-8")[:max(room, 0)].decode("utf-8", errors="ignore")
    text = "\n".join([head + "…", *tail])
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


# ---- SMS -------------------------------------------------------------------------------------

def sms_units(text: str) -> tuple[int, int]:
    """(length as the network counts it, one segment's limit): GSM-7 (extension characters count
    twice) within 160, else UCS-2 (Chinese) within 70."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        return sum(2 if c in GSM_EXTENDED else 1 for c in text), SMS_GSM_MAX
    return len(text.encode("utf-16-le")) // 2, SMS_UCS2_MAX


def fits_one_sms(text: str) -> bool:
    length, limit = sms_units(text)
    return length <= limit


def sms_text(lang: str, event: core.Event) -> str:
    """One line, within one SMS segment where it can: the name goes first, then it is clipped."""
    tier = tier_word(lang, event.tier)
    items = event.items
    first = items[0] if items else None
    if event.kind == core.TEST:
        candidates = [_t(lang, "notify.sms.test")]
    elif len(items) == 1 and event.kind in (core.ALERT, core.ESCALATION, core.REMINDER, core.RECOVERY):
        key = {core.RECOVERY: "notify.sms.recovery", core.REMINDER: "notify.sms.reminder"}.get(event.kind,
                                                                                              "notify.sms.alert")
        cover = _t(lang, "notify.sms.cover", days=_days(first.cover_days)) if first.cover_days is not None else ""
        values = dict(tier=tier, sku=first.sku, available=_qty(first.available), cover=cover)
        candidates = [_t(lang, key, name=f" {first.name}" if first.name else "", **values),
                      _t(lang, key, name="", **values)]
    elif event.kind == core.RECOVERY_SUMMARY:
        candidates = [_t(lang, "notify.sms.recovered_many", count=_qty(max(event.count, len(items))))]
    else:
        worst = min(items, key=lambda i: (i.cover_days if i.cover_days is not None else float("inf"),
                                          i.available)) if items else None
        values = dict(tier=tier, count=_qty(max(event.count, len(items))))
        candidates = [_t(lang, "notify.sms.many", sku=worst.sku, available=_qty(worst.available), **values)] \
            if worst else []
        candidates.append(_t(lang, "notify.sms.many_short", **values))
    for text in candidates:
        if fits_one_sms(text):
            return text
    return clip_sms(candidates[-1])


def clip_sms(text: str) -> str:
    while text and not fits_one_sms(text + "…"):
        text = text[:-1]
    return text + "…"


# ---- webhook ---------------------------------------------------------------------------------

def webhook_body(event: core.Event, delivery_id: str) -> bytes:
    """The alert's facts as JSON, for ERPs and Zapier-like tools; the first (or only) SKU's facts at
    the top level, every SKU under `items`."""
    first = event.items[0] if event.items else None

    def item_facts(item: core.Item) -> dict:
        return {"sku": item.sku, "name": item.name, "tier": Tier(item.tier).name, "available": item.available,
                "warning_level": item.warning_level, "critical_level": item.critical_level,
                "on_order": item.on_order, "days_of_cover": item.cover_days, "warehouse": item.warehouse}

    body = {"event": event.kind, **(item_facts(first) if first else {}), "tier": Tier(event.tier).name,
            "previous_tier": Tier(event.previous_tier).name if event.previous_tier else None,
            "count": max(event.count, len(event.items)), "items": [item_facts(i) for i in event.items],
            "slack_link": event.extra.get("slack_link"), "time": event.at, "delivery_id": delivery_id}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
