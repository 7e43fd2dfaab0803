"""``osler analytics report`` and ``osler analytics cohort``: the dashboard and the cohort explorer on the console.

Results go to stdout (Rich tables, or JSON with ``--json``); a user mistake or a warehouse that has not been
built is one line on stderr and exit 1.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import orjson
import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from osler.analytics.cohorts import CohortTable, LabRange

report_app = typer.Typer(add_completion=False)
errors = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def fail(message: str) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=1)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")
        raise  # unreachable: fail exits


def _lab(value: str) -> LabRange:
    from osler.analytics.cohorts import LabRange

    loinc, _, bounds = value.partition(":")
    low, _, high = bounds.partition(":")
    try:
        return LabRange(loinc, float(low) if low else None, float(high) if high else None)
    except ValueError:
        fail(f"--lab {value!r} is not LOINC[:LOW[:HIGH]] (e.g. 4548-4:7:10)")
        raise  # unreachable: fail exits


def _warehouse_path() -> str:
    from osler.analytics.layout import AnalyticsLayout
    from osler.config import load_settings

    return str(AnalyticsLayout.under(load_settings().home).warehouse)


def _print_json(document: object) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@report_app.command("report")
def report(
    department: str = typer.Option(None, "--department", help="One department: its name, abbreviation or id."),
    weeks: int = typer.Option(None, "--weeks", help="The last N ISO weeks of data [default: all]."),
    as_of: str = typer.Option(None, "--as-of", help="Measure as of this day (YYYY-MM-DD) [default: latest data]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Print the dashboard: wait times, no-show rate, utilization, care quality and signals."""
    from pathlib import Path

    from osler.analytics.measures import WarehouseMissing, open_warehouse
    from osler.analytics.report import build_dashboard, render

    if weeks is not None and weeks < 1:
        fail("--weeks must be at least 1")
    day = _day(as_of, "--as-of")
    try:
        with open_warehouse(Path(_warehouse_path())) as connection:
            dashboard = build_dashboard(connection, department=department, weeks=weeks, as_of=day)
    except WarehouseMissing as error:
        fail(str(error))
    if as_json:
        _print_json(dashboard.as_json())
    else:
        render(dashboard, out)


@report_app.command("cohort")
def cohort(
    slice_by: str = typer.Option("sex", "--slice", help="Rows: sex, age_band, state, department or year."),
    then_by: str = typer.Option(None, "--by", help="Columns, for a two-way table (same choices as --slice)."),
    measure: str = typer.Option("patients", "--measure", help="patients, encounters or mean_lab(<LOINC>)."),
    sex: str = typer.Option(None, "--sex", help="female, male, other or unknown."),
    age_min: int = typer.Option(None, "--age-min", help="Youngest age (years) at the index date."),
    age_max: int = typer.Option(None, "--age-max", help="Oldest age (years) at the index date."),
    diagnosis: list[str] = typer.Option([], "--diagnosis", help="Diagnosis code prefix (ICD-10-CM or SNOMED CT)."),
    lab: list[str] = typer.Option([], "--lab", help="LOINC[:LOW[:HIGH]]: a result in the range."),
    medication: list[str] = typer.Option([], "--medication", help="RxNorm code of a medication ordered."),
    encounter_from: str = typer.Option(None, "--from", help="An encounter on or after this day (YYYY-MM-DD)."),
    encounter_to: str = typer.Option(None, "--to", help="An encounter on or before this day (YYYY-MM-DD)."),
    index_date: str = typer.Option(None, "--index-date", help="Ages are taken on this day [default: latest data]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Slice a cohort by a dimension; counts from 1 to 10 are suppressed (<11), with their complements (*)."""
    from pathlib import Path

    from osler.analytics.cohorts import Cohort, explore
    from osler.analytics.measures import WarehouseMissing, open_warehouse

    try:
        criteria = Cohort(age_min=age_min, age_max=age_max, sex=sex, diagnosis_codes=tuple(diagnosis),
                          labs=tuple(_lab(value) for value in lab), medication_codes=tuple(medication),
                          encounter_from=_day(encounter_from, "--from"), encounter_to=_day(encounter_to, "--to"),
                          index_date=_day(index_date, "--index-date"))
        with open_warehouse(Path(_warehouse_path())) as connection:
            table = explore(connection, criteria, slice_by, then_by=then_by, measure=measure)
    except (ValueError, WarehouseMissing) as error:
        fail(str(error))
    if as_json:
        _print_json(table.as_json())
    else:
        _print_cohort(table)


def _print_cohort(table: CohortTable) -> None:
    title = f"{table.measure} by {table.slice_by}" + (f" and {table.then_by}" if table.then_by else "")
    shown = Table(title=title, title_justify="left")
    shown.add_column(table.slice_by)
    for column in table.column_labels:
        shown.add_column(column, justify="right")
    for label, cells in zip(table.row_labels, table.display, strict=True):
        shown.add_row(label, *cells, style="bold" if label == table.row_labels[-1] else None)
    out.print(shown)
    for note in table.notes:
        out.print(note, highlight=False)
