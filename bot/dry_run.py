"""`stockbot check --dry-run`: read the configured sources and print what a check would post.

For a seller trying an export before going live: no Slack token is needed, nothing is sent,
and nothing is written (no stock rows, no episodes or alerts, no source state). The
thresholds, open alerts and reorders already in the database are read, so the answer is
what the next real check would do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Optional, TextIO

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import messages, notices, planning
from bot.config import Settings
from bot.core.tiers import PostedAlert, Reading, Tier, is_late, plan_episode
from bot.notifier import blocks_as_text
from bot.sources import SourceError, StockRow, reason_of
from bot.sources.registry import plan_sources
from storage import repo
from storage.db import session as open_session
from storage.models import Threshold

MAX_ALERTS_PRINTED = 50


def _watched(rows: list, warehouse: Optional[str]) -> list:
    return [row for row in rows if row.warehouse == warehouse] if warehouse else rows


def dry_run(settings: Settings, engine: Engine, out: TextIO, now: Optional[datetime] = None) -> int:
    """Print the read and the messages a check would post. Returns 1 if a source failed, else 0."""
    now = now or repo.utcnow()
    lang = settings.language
    plan = plan_sources(settings, engine)
    failures = list(plan.errors)
    fresh: dict[str, list[StockRow]] = defaultdict(list)
    for source in plan.sources:
        try:
            rows = list(source.read())
            if not rows:
                raise SourceError("the read returned no stock rows", "read_empty")
        except SourceError as exc:
            failures.append((source.name, reason_of(exc)))
            continue
        for row in rows:
            fresh[row.sku].append(row)
        out.write(f"{source.name}: read {len(rows):,} rows for {len({row.sku for row in rows}):,} SKUs\n")
    ops = settings.ops_channel_or_alerts or "(no OPS_CHANNEL)"
    for name, problem in failures:
        notice = blocks_as_text(None, notices.source_failed_text(lang, name, problem))
        out.write(f"\n--- would post to {ops} ---\n{notice}\n")
    if not plan.sources and not plan.errors:
        out.write("No stock source is configured: set STOCK_SOURCE (csv:PATH, xlsx:PATH, file:FOLDER, tiktok, sql).\n")

    posts = _planned_posts(settings, engine, fresh, now)
    unwatched = sum(1 for sku in fresh if sku not in posts.watched)
    for channel, payload in posts.messages[:MAX_ALERTS_PRINTED]:
        out.write(f"\n--- would post to {channel} ---\n{blocks_as_text(payload.get('blocks'), payload['text'])}\n")
    if len(posts.messages) > MAX_ALERTS_PRINTED:
        out.write(f"\n… and {len(posts.messages) - MAX_ALERTS_PRINTED:,} more alerts\n")
    out.write(f"\nDry run: {posts.watched_count:,} SKUs with a threshold; would post {len(posts.messages):,} "
              f"messages; {unwatched:,} SKUs in the read have no threshold (/threshold set SKU 1500). "
              f"Nothing was sent or stored.\n")
    return 1 if failures else 0


class _Posts:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.watched: set[str] = set()
        self.watched_count = 0


def _planned_posts(settings: Settings, engine: Engine, fresh: dict[str, list[StockRow]], now: datetime) -> _Posts:
    posts = _Posts()
    lang, today = settings.language, now.date()
    remind_after = timedelta(hours=settings.remind_after_hours)
    with open_session(engine) as session:
        for threshold in session.exec(select(Threshold).order_by(Threshold.sku)):
            posts.watched.add(threshold.sku)
            posts.watched_count += 1
            rows = fresh.get(threshold.sku) or repo.stock_rows(session, threshold.sku)
            rows = _watched(list(rows), threshold.warehouse)
            if not rows:
                continue
            available = sum(row.available for row in rows)
            reorders = repo.open_reorders(session, [threshold.sku])[threshold.sku]
            on_order = sum(r.quantity for r in reorders) + sum(row.on_order or 0 for row in rows)
            episode = repo.open_episode(session, threshold.sku)
            alerts = repo.alerts_for_episodes(session, [episode.id])[episode.id] if episode else []
            decision = plan_episode(
                Reading(threshold.sku, available, threshold.warning_level, threshold.critical_level, on_order),
                episode is not None,
                [PostedAlert(a.id, Tier(a.tier), a.posted_at, a.acked_by is not None, a.last_reminded_at)
                 for a in alerts], now, remind_after)
            channel = threshold.channel or settings.alert_channel or "(no ALERT_CHANNEL)"
            if decision.close_episode:
                posts.messages.append((channel, {"text": messages.recovery_text(
                    lang, threshold.sku, available, threshold.warning_level)}))
                continue
            if decision.post_tier is None:
                continue
            name = next((row.name for row in rows if row.name), None)
            read_at = max((getattr(row, "read_at", None) or now for row in rows), default=now)
            outlook = planning.sku_outlook(session, settings, threshold.sku, available, on_order,
                                           [r.eta for r in reorders], today)
            view = messages.AlertView(
                alert_id=0, sku=threshold.sku, tier=Tier(decision.post_tier), available=available,
                warning_level=threshold.warning_level, critical_level=threshold.critical_level, read_at=read_at,
                name=name, on_order=on_order, warehouse=threshold.warehouse, outlook=outlook,
                reorders=tuple(messages.ReorderView(r.quantity, r.eta, r.created_by, late=is_late(r.eta, today), note=r.note)
                               for r in reorders))
            posts.messages.append((channel, messages.alert_message(lang, view)))
    return posts
