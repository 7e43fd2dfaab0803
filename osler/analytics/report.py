"""The operations dashboard as one report: wait times, no-shows, utilization, care quality and signals,
as Rich tables (with a sparkline of the weekly waits) or JSON. ``osler analytics report`` prints it.
(Epic: the Radar dashboards over Caboodle.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from osler.analytics.measures import (
    MeasureResult,
    NoShowRow,
    QualityRow,
    SignalRow,
    UtilizationRow,
    WaitTimeRow,
    no_show_rate,
    quality_measures,
    signals,
    utilization,
    wait_times,
)

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class Dashboard:
    wait_times: MeasureResult[WaitTimeRow]
    no_shows: MeasureResult[NoShowRow]
    utilization: MeasureResult[UtilizationRow]
    quality: MeasureResult[QualityRow]
    signals: MeasureResult[SignalRow]

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name).as_json()
                for name in ("wait_times", "no_shows", "utilization", "quality", "signals")}


def build_dashboard(connection: duckdb.DuckDBPyConnection, *, department: str | None = None,
                    weeks: int | None = None, as_of: date | None = None) -> Dashboard:
    """Every measure over the same window: the last ``weeks`` weeks up to ``as_of`` (the latest day of data)."""
    scope: dict[str, Any] = {"department": department, "weeks": weeks, "as_of": as_of}
    return Dashboard(wait_times(connection, **scope), no_show_rate(connection, **scope),
                     utilization(connection, **scope), quality_measures(connection, as_of=as_of),
                     signals(connection, weeks=weeks, as_of=as_of))


def sparkline(values: list[float | None]) -> str:
    """One block character per value, scaled from the smallest to the largest; a space for a missing one."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return "".join(" " if v is None else SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def render(dashboard: Dashboard, console: Console) -> None:
    """Print the dashboard: one table per measure, with the weekly arrival → seen medians as a sparkline."""
    window = dashboard.wait_times.window
    console.print(f"[bold]Osler operations dashboard[/bold] — {window.first or 'all data'} to {window.last}",
                  highlight=False)
    _print(console, dashboard.wait_times, ["Department", "Week", "Visits", "A→R", "p90", "R→S", "p90", "A→S",
                                           "p90"],
           caption="medians and 90th percentiles in minutes: A arrived, R roomed, S seen by the provider")
    by_department: dict[str, list[float | None]] = {}
    for row in dashboard.wait_times.rows:
        by_department.setdefault(row.department, []).append(row.arrival_to_seen_median)
    for department, medians in by_department.items():
        present = [m for m in medians if m is not None]
        if present:
            console.print(f"  {department}: arrival→seen median by week {sparkline(medians)} "
                          f"({min(present):g}-{max(present):g} min)", highlight=False)
    _print(console, dashboard.no_shows, ["Department", "Week", "Appointments due", "No-shows", "Rate"],
           percent=("rate",))
    _print(console, dashboard.utilization, ["Department", "Week", "Available min", "Booked min", "Utilization"],
           percent=("utilization",))
    _print(console, dashboard.quality, ["Measure", "Eligible", "Met", "Rate"], percent=("rate",), labels=1)
    _print(console, dashboard.signals, ["Signal", "Group", "Count", "Median min", "p90 min"])


def _print(console: Console, measure: MeasureResult[Any], headers: list[str], *, percent: tuple[str, ...] = (),
           labels: int = 2, caption: str | None = None) -> None:
    """One measure as a table: its first ``labels`` columns are text, the others numbers."""
    if not measure.rows:
        console.print(f"{measure.title}: no data in this window", highlight=False)
        return
    table = Table(title=measure.title, title_justify="left", caption=caption, caption_justify="left")
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index < labels else "right", no_wrap=index < labels)
    for row in measure.rows:
        table.add_row(*(_cell(value, name in percent) for name, value in vars(row).items()))
    console.print(table)


def _cell(value: Any, as_percent: bool) -> str:
    if value is None:
        return "—"
    if as_percent:
        return f"{value:.1%}"
    return f"{value:g}" if isinstance(value, float) else str(value)
