"""Scheduling utilization by department and ISO week: booked provider slot minutes / available slot minutes.

Available = the provider slots open to booking (free or busy); booked = the busy ones; blocked time
(busy-unavailable) counts as neither (ProviderSlotFact). Epic: Cadence's template utilization report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from osler.analytics.measures.base import MeasureResult, Window


@dataclass(frozen=True)
class UtilizationRow:
    department: str
    week: str
    available_minutes: float
    booked_minutes: float
    utilization: float | None  # booked / available; None with nothing available


def utilization(connection: duckdb.DuckDBPyConnection, *, department: str | None = None, weeks: int | None = None,
                as_of: date | None = None) -> MeasureResult[UtilizationRow]:
    """Slot utilization per department and week in the window (see ``wait_times`` for the arguments)."""
    window = Window.of(connection, weeks=weeks, as_of=as_of)
    rows = connection.execute("""
        select d.DepartmentName, day.IsoWeekName,
               coalesce(sum(s.LengthInMinutes) filter (where s.IsAvailable), 0),
               coalesce(sum(s.LengthInMinutes) filter (where s.IsBooked), 0)
        from ProviderSlotFact as s
        join DepartmentDim as d using (DepartmentKey)
        join DateDim as day on day.DateKey = s.DateKey
        where day.Date between ? and ?
          and (cast(? as varchar) is null or ? in (d.DepartmentName, d.DepartmentAbbreviation, d.DepartmentEpicId))
        group by d.DepartmentName, day.IsoWeekName
        order by d.DepartmentName, day.IsoWeekName
    """, [*window.bounds(), department, department]).fetchall()
    result: MeasureResult[UtilizationRow] = MeasureResult("Scheduling utilization", window)
    result.rows = [UtilizationRow(name, week, float(available), float(booked),
                                  round(booked / available, 4) if available else None)
                   for name, week, available, booked in rows]
    return result
