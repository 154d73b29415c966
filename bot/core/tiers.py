"""Tier evaluation and the alert-episode rules, as pure functions over plain data.

No Slack, no database: the checker feeds readings and stored alert state in, and carries
out the returned plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Optional, Sequence


class Tier(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    OUT_OF_STOCK = 3

    @property
    def word(self) -> str:
        """The English tier word; the plain-text fallback always carries it."""
        return {Tier.OK: "OK", Tier.WARNING: "WARNING", Tier.CRITICAL: "CRITICAL",
                Tier.OUT_OF_STOCK: "OUT OF STOCK"}[self]


def default_critical_level(warning_level: int) -> int:
    """Half the warning level, rounded down."""
    return warning_level // 2


def evaluate_tier(available: int, on_order: int, warning_level: int, critical_level: int) -> Tier:
    """The tier a SKU is in right now.

    On-order stock counts toward the inventory position for WARNING only: a reorder in
    transit does not fill the shelf, so CRITICAL and OUT OF STOCK still alert.
    """
    if available <= 0:
        return Tier.OUT_OF_STOCK
    if available <= critical_level:
        return Tier.CRITICAL
    if available <= warning_level and available + on_order <= warning_level:
        return Tier.WARNING
    return Tier.OK


def level_for(tier: Tier, warning_level: int, critical_level: int) -> int:
    """The level a tier is measured against (shown next to the available quantity)."""
    return critical_level if tier is Tier.CRITICAL else warning_level


@dataclass(frozen=True)
class Reading:
    sku: str
    available: int
    warning_level: int
    critical_level: int
    on_order: int = 0


@dataclass(frozen=True)
class PostedAlert:
    """What the checker knows about an alert already posted in the open episode."""

    alert_id: int
    tier: Tier
    posted_at: datetime
    acked: bool = False
    last_reminded_at: Optional[datetime] = None


@dataclass(frozen=True)
class Snooze:
    """A seller's snooze on a SKU: `tier` is the worst tier they had seen when they snoozed;
    `until` None means "until it gets worse"."""

    tier: Tier
    until: Optional[datetime] = None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until


@dataclass(frozen=True)
class Plan:
    open_episode: bool = False
    post_tier: Optional[Tier] = None
    remind_alert_id: Optional[int] = None
    close_episode: bool = False
    end_snooze: bool = False  # the SKU's snooze is over: a worse tier posts, or its time has passed
    held: bool = False  # a WARNING post or a reminder waits (snooze or quiet hours); nothing is marked done

    @property
    def is_noop(self) -> bool:
        return not (self.open_episode or self.post_tier or self.remind_alert_id or self.close_episode
                    or self.end_snooze)


def plan_episode(
    reading: Reading,
    episode_open: bool,
    posted: Sequence[PostedAlert],
    now: datetime,
    remind_after: timedelta,
    snooze: Optional[Snooze] = None,
    quiet: bool = False,
) -> Plan:
    """Decide what one check does for one SKU.

    - An episode is open while available <= warning level; it closes (recovery) once
      available rises above it. A later dip starts a new episode.
    - One alert per tier per episode; a move to a worse tier than any posted is an
      escalation and posts again. Improving within the episode posts nothing.
    - The highest posted alert, if unacknowledged, is reminded every `remind_after`.
      Lower tiers are superseded by it, so they are not reminded.

    Snooze and quiet hours only ever *hold* WARNING posts and reminders; CRITICAL and OUT OF
    STOCK always post. Held means not done and not marked done: the episode still opens (so
    a later CRITICAL is an escalation of it), and the same rules post the WARNING (with the
    numbers as of then) or send the due reminder at the first check after the hold lifts.
    So after a 1-day snooze, a SKU still low is heard about again; after quiet hours, the
    night's WARNINGs and reminders go out at the first check.

    - While `snooze` is active: no reminders, no WARNING post (a new episode's, or a
      WARNING repeat after a recovery). The snooze survives recoveries and new episodes.
    - A post of a tier worse than the snoozed one ends the snooze, timed or not: the seller
      snoozed the situation they saw, and a worse one is a new situation (its reminders
      follow as usual; they can snooze it again). A snooze whose time has passed is ignored
      and ended. Closing an episode never ends a snooze.
    - `quiet` (quiet hours now): no reminders and no WARNING post.
    """
    active = snooze is not None and snooze.active(now)
    end_snooze = snooze is not None and not active
    below_warning = reading.available <= reading.warning_level
    if not below_warning:
        return Plan(close_episode=episode_open, end_snooze=end_snooze)

    tier = evaluate_tier(reading.available, reading.on_order, reading.warning_level, reading.critical_level)
    worst_posted = max((alert.tier for alert in posted), default=Tier.OK)
    post_tier = tier if tier > worst_posted else None
    held = False
    if post_tier is Tier.WARNING and (active or quiet):
        post_tier, held = None, True
    if active and post_tier is not None and snooze is not None and post_tier > snooze.tier:
        end_snooze = True

    remind_alert_id = None
    if post_tier is None and posted:
        latest = max(posted, key=lambda alert: alert.tier)
        last_touch = latest.last_reminded_at or latest.posted_at
        if not latest.acked and now - last_touch >= remind_after:
            if active or quiet:
                held = True
            else:
                remind_alert_id = latest.alert_id

    return Plan(open_episode=not episode_open, post_tier=post_tier, remind_alert_id=remind_alert_id,
                end_snooze=end_snooze, held=held)


def is_late(eta: Optional[date], today: date) -> bool:
    """A reorder is late once its ETA has passed and the SKU has not recovered."""
    return eta is not None and eta < today
