"""Stored alerts and digests as the plain views the message builders take.

Read at the moment a message is sent, so a message shows the latest acknowledgement,
reorders and recovery even when it waited in the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Session, col, select

from bot import messages, planning
from bot.config import Settings
from bot.core.tiers import Tier, is_late, level_for
from bot.digests import DigestRow, DigestView, urgency
from storage import repo
from storage.models import Alert, Digest, Episode, SkuSnooze


def alert_view(session: Session, settings: Settings, alert: Alert, now: datetime) -> messages.AlertView:
    episode = session.get(Episode, alert.episode_id)
    reorders = repo.reorders_for_episode(session, episode) if episode else []
    today = now.date()
    recovered = episode is not None and episode.open_sku is None
    on_order = (sum(r.quantity for r in reorders if r.status == "open") + (alert.source_on_order or 0)
                if not recovered else alert.on_order)
    outlook = None if recovered else planning.sku_outlook(
        session, settings, alert.sku, alert.available, on_order,
        [r.eta for r in reorders if r.status == "open"], today)
    return messages.AlertView(
        alert_id=alert.id or 0, sku=alert.sku, tier=Tier(alert.tier), available=alert.available,
        warning_level=alert.warning_level, critical_level=alert.critical_level, read_at=alert.read_at,
        name=alert.name,
        on_order=on_order, outlook=outlook,
        warehouse=alert.warehouse, stale_source=alert.stale_source,
        acked_by=alert.acked_by, acked_at=alert.acked_at,
        reorders=tuple(messages.ReorderView(r.quantity, r.eta, r.created_by,
                                            late=r.status == "open" and is_late(r.eta, today), note=r.note)
                       for r in reorders),
        recovered_available=episode.recovered_available if recovered else None,
        recovered_at=episode.closed_at if recovered else None,
        oversold=alert.oversold or 0,
        snooze=None if recovered else snooze_view(session.get(SkuSnooze, alert.sku), now),
    )


def snooze_view(row: Optional[SkuSnooze], now: datetime) -> Optional[messages.SnoozeView]:
    """The SKU's snooze as shown on its alerts and in `/stock SKU`; None when it has none in force."""
    if row is None or (row.until is not None and now >= row.until):
        return None
    return messages.SnoozeView(row.snoozed_by, row.until)


def digest_alerts(session: Session, digest_id: int) -> list[Alert]:
    return list(session.exec(select(Alert).where(Alert.digest_id == digest_id).order_by(col(Alert.id))).all())


def digest_view(session: Session, digest: Digest) -> DigestView:
    alerts = digest_alerts(session, digest.id)
    episodes = {episode.id: episode for start in range(0, len(alerts), repo.IN_LIST_SIZE)
                for episode in session.exec(select(Episode).where(col(Episode.id).in_(
                    [a.episode_id for a in alerts[start:start + repo.IN_LIST_SIZE]])))}
    rows = []
    recovered_at: Optional[datetime] = None
    for alert in alerts:
        episode = episodes.get(alert.episode_id)
        recovered = episode is not None and episode.open_sku is None
        if recovered and episode.closed_at and (recovered_at is None or episode.closed_at > recovered_at):
            recovered_at = episode.closed_at
        rows.append(DigestRow(alert.sku, alert.name, alert.available,
                              level_for(Tier(alert.tier), alert.warning_level, alert.critical_level),
                              alert.cover_days, recovered))
    rows.sort(key=urgency)
    return DigestView(digest.id, Tier(digest.tier), rows, digest.acked_by, digest.acked_at, recovered_at)
