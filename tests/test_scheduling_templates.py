"""Cadence templates: weekly blocks and exceptions → slot times (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from osler.apps.scheduling.requests import DepartmentSetup, SlotGeneration, TimeOff, WeeklyHours
from osler.apps.scheduling.templates import (
    Interval,
    blocks_from_available_time,
    blocks_from_hours,
    days_between,
    period_interval,
    slot_times,
)

NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_weekly_blocks_are_cut_on_the_grid_on_their_weekdays_only() -> None:
    blocks = blocks_from_available_time([{"daysOfWeek": ["mon", "wed"], "availableStartTime": "09:00:00",
                                          "availableEndTime": "10:00:00"}])
    # 2030-03-04 is a Monday; Tuesday has no block.
    slots = slot_times(NEW_YORK, days_between(date(2030, 3, 4), date(2030, 3, 6)), blocks, 20)
    assert [s.start for s in slots] == [utc("2030-03-04T14:00"), utc("2030-03-04T14:20"), utc("2030-03-04T14:40"),
                                        utc("2030-03-06T14:00"), utc("2030-03-06T14:20"), utc("2030-03-06T14:40")]
    assert all((s.end - s.start).seconds == 1200 for s in slots)


def test_wall_clock_times_hold_across_daylight_saving_changes() -> None:
    blocks = blocks_from_hours([{"daysOfWeek": ["sat", "sun", "mon"], "openingTime": "09:00:00",
                                 "closingTime": "09:30:00"}])
    # US clocks spring forward on Sunday 2030-03-10: 09:00 is 14:00Z before and 13:00Z after.
    slots = slot_times(NEW_YORK, days_between(date(2030, 3, 9), date(2030, 3, 11)), blocks, 30)
    assert [s.start for s in slots] == [utc("2030-03-09T14:00"), utc("2030-03-10T13:00"), utc("2030-03-11T13:00")]


def test_exceptions_remove_every_slot_they_touch_and_all_day_blocks_cover_the_day() -> None:
    blocks = blocks_from_available_time([{"daysOfWeek": ["mon"], "allDay": True}])
    lunch = period_interval({"start": "2030-03-04T17:10:00Z", "end": "2030-03-04T18:00:00Z"})
    slots = slot_times(NEW_YORK, [date(2030, 3, 4)], blocks, 30, [lunch])
    assert len(slots) == 48 - 2  # 17:00-17:30 and 17:30-18:00 (UTC) are touched
    assert Interval(utc("2030-03-04T17:00"), utc("2030-03-04T17:30")) not in slots
    open_ended = period_interval({"start": "2030-03-04T20:00:00Z"})
    assert max(s.end for s in slot_times(NEW_YORK, [date(2030, 3, 4)], blocks, 30, [open_ended])) == \
        utc("2030-03-04T20:00")


def test_request_models_refuse_bad_shapes() -> None:
    hours = [WeeklyHours(days=["mon"], start="09:00", end="12:00")]
    with pytest.raises(ValidationError, match="not after start"):
        WeeklyHours(days=["mon"], start="12:00", end="09:00")
    with pytest.raises(ValidationError, match="slot grid"):
        DepartmentSetup(code="D", name="D", slot_minutes=15, hours=[WeeklyHours(days=["mon"], start="09:10",
                                                                                end="12:00")])
    with pytest.raises(ValidationError, match="appears twice"):
        DepartmentSetup(code="D", name="D", hours=hours, rooms=[{"code": "R", "name": "A"}, {"code": "R", "name": "B"}])
    with pytest.raises(ValidationError, match="String should match pattern"):
        DepartmentSetup(code="a,b", name="D", hours=hours)
    with pytest.raises(ValidationError, match="timezone"):
        TimeOff(start="2030-03-04T09:00:00", end="2030-03-04T10:00:00")
    with pytest.raises(ValidationError, match="not after start"):
        TimeOff(start="2030-03-04T10:00:00Z", end="2030-03-04T09:00:00Z")
    with pytest.raises(ValidationError, match="before start"):
        SlotGeneration(start=date(2030, 3, 5), end=date(2030, 3, 4))
