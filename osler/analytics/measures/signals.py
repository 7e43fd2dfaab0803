"""Operational signals: how long work waits, in minutes (Epic: Signal / the provider efficiency reports).

* In-basket turnaround — an in-basket Task (its code in Osler's in-basket categories) from ``authoredOn``
  to ``lastModified`` when it was completed, by category.
* Order → result — a ServiceRequest's ``authoredOn`` to its DiagnosticReport's ``issued`` (ORDER_PROC), by
  order type. Results that arrived without an order (Synthea's) have no order time and are left out.
* Prescription → dispense — a MedicationRequest's ``authoredOn`` to its first MedicationDispense
  ``whenHandedOver`` (MedicationOrderFact).

Median and 90th percentile per signal and group, over the events that ended in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from osler.analytics.measures.base import MeasureResult, Window, quantiles, rounded

INBASKET_CATEGORY = "urn:osler:inbasket:category"  # osler.apps.inbasket.vocabulary.CATEGORY


@dataclass(frozen=True)
class SignalRow:
    signal: str
    group: str
    count: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class Signal:
    """Where a signal's events are: their group, start and end instants, and the rows (``from … where …``)."""

    name: str
    group: str
    started: str
    ended: str
    rows: str


SIGNALS = (
    Signal("In-basket turnaround", "code", "authored_at", "last_modified_at",
           f"from staging.stg_fhir__task where code_system = '{INBASKET_CATEGORY}' and status = 'completed'"),
    Signal("Order → result", "ORDER_TYPE", "ORDERING_DATE", "RESULT_TIME",
           "from reporting.ORDER_PROC where ORDER_SOURCE = 'ServiceRequest'"),
    Signal("Prescription → dispense", "'Prescription'", "OrderedInstant", "FirstDispensedInstant",
           "from MedicationOrderFact"),
)


def signals(connection: duckdb.DuckDBPyConnection, *, weeks: int | None = None,
            as_of: date | None = None) -> MeasureResult[SignalRow]:
    """Each signal's median and 90th percentile by group, for what ended in the last ``weeks`` weeks."""
    window = Window.of(connection, weeks=weeks, as_of=as_of)
    result: MeasureResult[SignalRow] = MeasureResult("Signals (minutes)", window)
    for signal in SIGNALS:
        rows = connection.execute(f"""
            select coalesce(cast(grouping as varchar), '(none)'), {quantiles('minutes')}
            from (
                select {signal.group} as grouping,
                       date_diff('second', {signal.started}, {signal.ended}) / 60.0 as minutes,
                       cast(timezone('UTC', {signal.ended}) as date) as ended_on
                {signal.rows}
            ) as events
            where minutes is not null and ended_on between ? and ?
            group by grouping
            order by 1
        """, list(window.bounds())).fetchall()
        result.rows += [SignalRow(signal.name, group, count, rounded(median), rounded(p90))
                        for group, count, median, p90 in rows]
    return result
