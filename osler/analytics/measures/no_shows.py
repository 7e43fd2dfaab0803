"""No-show rate by department and ISO week (Epic: Cadence's no-show reports).

Of the appointments that came due — completed, arrived or no-show; cancelled and still-scheduled ones
are left out — the share the patient did not come to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from osler.analytics.measures.base import MeasureResult, Window


@dataclass(frozen=True)
class NoShowRow:
    department: str
    week: str
    appointments: int  # came due: completed, arrived or no-show
    no_shows: int
    rate: float  # no_shows / appointments


def no_show_rate(connection: duckdb.DuckDBPyConnection, *, department: str | None = None, weeks: int | None = None,
                 as_of: date | None = None) -> MeasureResult[NoShowRow]:
    """The no-show rate per department and week in the window (see ``wait_times`` for the arguments)."""
    window = Window.of(connection, weeks=weeks, as_of=as_of)
    rows = connection.execute("""
        select d.DepartmentName, day.IsoWeekName, count(*), count(*) filter (where a.IsNoShow)
        from AppointmentFact as a
        join DepartmentDim as d using (DepartmentKey)
        join DateDim as day on day.DateKey = a.AppointmentDateKey
        where a.AppointmentStatus in ('Completed', 'Arrived', 'No Show') and day.Date between ? and ?
          and (cast(? as varchar) is null or ? in (d.DepartmentName, d.DepartmentAbbreviation, d.DepartmentEpicId))
        group by d.DepartmentName, day.IsoWeekName
        order by d.DepartmentName, day.IsoWeekName
    """, [*window.bounds(), department, department]).fetchall()
    result: MeasureResult[NoShowRow] = MeasureResult("No-show rate", window)
    result.rows = [NoShowRow(name, week, due, missed, round(missed / due, 4)) for name, week, due, missed in rows]
    return result
