"""Quiet hours and snooze choices, as pure functions (no Slack, no database).

Quiet hours (`QUIET_HOURS=22-08`, read in `TZ`) hold WARNING alerts and reminders; the
decision itself is `bot.core.tiers.plan_episode(..., quiet=...)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Optional

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class QuietHours:
    """A daily window in local time, [start, end) in minutes after midnight; it may wrap midnight."""

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


_CLOCK = r"(\d{1,2})(?::(\d{2}))?"
_WINDOW = re.compile(rf"{_CLOCK}\s*-\s*{_CLOCK}")


def _minute(hour: str, minute: Optional[str]) -> Optional[int]:
    h, m = int(hour), int(minute or 0)
    if h == 24 and m == 0:
        return 0
    return h * 60 + m if h < 24 and m < 60 else None


def parse_quiet_hours(text: str) -> Optional[QuietHours]:
    """`22-08` or `22:30-07:00` (local start-end; may wrap midnight); empty -> None (off).

    Raises ValueError with a short reason for anything else (and for an empty window, 08-08).
    """
    text = (text or "").strip()
    if not text:
        return None
    match = _WINDOW.fullmatch(text)
    if not match:
        raise ValueError("use start-end hours, e.g. 22-08 or 22:30-07:00")
    start, end = _minute(*match.group(1, 2)), _minute(*match.group(3, 4))
    if start is None or end is None:
        raise ValueError("hours are 0-23 and minutes 0-59")
    if start == end:
        raise ValueError("start and end are the same time")
    return QuietHours(start, end)


def _local(now_utc: datetime, tz: tzinfo) -> datetime:
    return now_utc.astimezone(tz)


def in_quiet_hours(now_utc: datetime, quiet: Optional[QuietHours], tz: tzinfo) -> bool:
    """Whether `now_utc` falls inside the quiet hours as read on a wall clock in `tz`."""
    if quiet is None:
        return False
    local = _local(now_utc, tz)
    return quiet.contains(local.hour * 60 + local.minute)


def quiet_ends_at(now_utc: datetime, quiet: Optional[QuietHours], tz: tzinfo) -> Optional[datetime]:
    """When the current quiet hours end (aware, in UTC's offset of `now_utc`); None when not quiet now."""
    if not in_quiet_hours(now_utc, quiet, tz):
        return None
    assert quiet is not None
    local = _local(now_utc, tz)
    day = local.date()
    if quiet.start > quiet.end and local.hour * 60 + local.minute >= quiet.start:
        day += timedelta(days=1)  # wrapped: before midnight, the window ends tomorrow morning
    end = datetime.combine(day, time(quiet.end // 60, quiet.end % 60), tzinfo=tz)
    return end.astimezone(now_utc.tzinfo)


# ---- snooze choices (the alert's Snooze menu) ---------------------------------------------------

SNOOZE_CHOICES = ("1d", "1w", "worse")
_SNOOZE_LENGTH = {"1d": timedelta(days=1), "1w": timedelta(weeks=1)}
_ID_MAX = 2 ** 31 - 1  # alert ids are database integers


def parse_snooze_value(value: object) -> Optional[tuple[int, str]]:
    """`"<alert_id>:1d"` -> (alert_id, "1d"); None for anything else (tampered, or an older version's)."""
    if not isinstance(value, str) or value.count(":") != 1:
        return None
    alert_id, choice = value.split(":")
    if not re.fullmatch(r"[0-9]{1,10}", alert_id) or choice not in SNOOZE_CHOICES:
        return None
    number = int(alert_id)
    return (number, choice) if 0 < number <= _ID_MAX else None


def snooze_until(choice: str, now: datetime) -> Optional[datetime]:
    """The end of a snooze chosen now; None for "until it gets worse"."""
    return now + _SNOOZE_LENGTH[choice] if choice in _SNOOZE_LENGTH else None
