"""Cadence: weekly templates with exceptions → the concrete slot times of a range of days.

Pure functions, no I/O. A template is a list of ``WeeklyBlock``s in the clinic's wall-clock time
(from ``PractitionerRole.availableTime`` or ``Location.hoursOfOperation``); exceptions are UTC
intervals (``PractitionerRole.notAvailable``, department closures). Each block is cut into slots on
the department's grid; a slot that overlaps an exception is left out. Wall-clock times are turned
into UTC per day, so a 09:00 template stays 09:00 across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from osler.apps.scheduling.context import parse_instant

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FAR_PAST = datetime(1, 1, 2, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 30, tzinfo=UTC)


@dataclass(frozen=True)
class WeeklyBlock:
    days: frozenset[str]
    start_minute: int  # minutes after local midnight
    end_minute: int  # exclusive; 1440 = midnight at the end of the day


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime  # UTC
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def _minute(text: str | None, default: int) -> int:
    if not text:
        return default
    moment = time.fromisoformat(text)
    return moment.hour * 60 + moment.minute


def blocks_from_available_time(items: Iterable[dict[str, Any]]) -> list[WeeklyBlock]:
    """``PractitionerRole.availableTime`` → blocks."""
    return [WeeklyBlock(frozenset(item.get("daysOfWeek") or WEEKDAYS),
                        0 if item.get("allDay") else _minute(item.get("availableStartTime"), 0),
                        1440 if item.get("allDay") else _minute(item.get("availableEndTime"), 1440))
            for item in items]


def blocks_from_hours(items: Iterable[dict[str, Any]]) -> list[WeeklyBlock]:
    """``Location.hoursOfOperation`` → blocks."""
    return [WeeklyBlock(frozenset(item.get("daysOfWeek") or WEEKDAYS),
                        0 if item.get("allDay") else _minute(item.get("openingTime"), 0),
                        1440 if item.get("allDay") else _minute(item.get("closingTime"), 1440))
            for item in items]


def period_interval(period: dict[str, Any] | None) -> Interval:
    """A FHIR Period as an interval; an open end reaches to the far past or future."""
    period = period or {}
    start = parse_instant(period["start"]) if period.get("start") else FAR_PAST
    end = parse_instant(period["end"]) if period.get("end") else FAR_FUTURE
    return Interval(start, end)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def slot_times(zone: ZoneInfo, days: Iterable[date], blocks: list[WeeklyBlock], slot_minutes: int,
               exceptions: Iterable[Interval] = ()) -> list[Interval]:
    """The slots of ``days`` under ``blocks``, minus those touching an exception, in time order."""
    closed = sorted(exceptions)
    found: dict[datetime, Interval] = {}
    for day in days:
        weekday = WEEKDAYS[day.weekday()]
        midnight = datetime.combine(day, time(0))
        for block in blocks:
            if weekday not in block.days:
                continue
            for minute in range(block.start_minute, block.end_minute - slot_minutes + 1, slot_minutes):
                start = (midnight + timedelta(minutes=minute)).replace(tzinfo=zone).astimezone(UTC)
                end = (midnight + timedelta(minutes=minute + slot_minutes)).replace(tzinfo=zone).astimezone(UTC)
                if end <= start:  # the hour repeated when clocks go back: keep its first pass only
                    continue
                slot = Interval(start, end)
                if not any(slot.overlaps(gap) for gap in closed):
                    found.setdefault(start, slot)
    return sorted(found.values())
