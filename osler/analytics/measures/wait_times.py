"""Patient wait times by department and ISO week: arrival → roomed → seen by the provider, in minutes.

Median and 90th percentile of each leg over the appointments whose patient arrived (AppointmentFact's
durations). Epic: the Ambulatory Operations dashboard's "Arrival to Roomed" and "Roomed to Provider".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from osler.analytics.measures.base import MeasureResult, Window, quantiles, rounded


@dataclass(frozen=True)
class WaitTimeRow:
    department: str
    week: str  # ISO week, e.g. 2026-W47
    visits: int  # appointments with an arrival time
    arrival_to_roomed_median: float | None
    arrival_to_roomed_p90: float | None
    roomed_to_seen_median: float | None
    roomed_to_seen_p90: float | None
    arrival_to_seen_median: float | None
    arrival_to_seen_p90: float | None


def wait_times(connection: duckdb.DuckDBPyConnection, *, department: str | None = None, weeks: int | None = None,
               as_of: date | None = None) -> MeasureResult[WaitTimeRow]:
    """Wait times per department and week, in the last ``weeks`` weeks (all when None) of ``department``
    (its name, abbreviation or id; every department when None)."""
    window = Window.of(connection, weeks=weeks, as_of=as_of)
    rows = connection.execute(f"""
        select d.DepartmentName, day.IsoWeekName, count(*),
               {quantiles('a.ArrivalToRoomedMinutes')}, {quantiles('a.RoomedToSeenMinutes')},
               {quantiles('a.ArrivalToSeenMinutes')}
        from AppointmentFact as a
        join DepartmentDim as d using (DepartmentKey)
        join DateDim as day on day.DateKey = a.AppointmentDateKey
        where a.ArrivalInstant is not null and day.Date between ? and ?
          and (cast(? as varchar) is null or ? in (d.DepartmentName, d.DepartmentAbbreviation, d.DepartmentEpicId))
        group by d.DepartmentName, day.IsoWeekName
        order by d.DepartmentName, day.IsoWeekName
    """, [*window.bounds(), department, department]).fetchall()
    result: MeasureResult[WaitTimeRow] = MeasureResult("Wait times (minutes)", window)
    for name, week, visits, *legs in rows:
        # legs: (count, median, p90) for arrival→roomed, roomed→seen, arrival→seen
        result.rows.append(WaitTimeRow(name, week, visits, rounded(legs[1]), rounded(legs[2]), rounded(legs[4]),
                                       rounded(legs[5]), rounded(legs[7]), rounded(legs[8])))
    return result
