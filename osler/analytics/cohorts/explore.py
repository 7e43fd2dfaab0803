"""The cohort explorer (Epic: SlicerDicer): a cohort's patients, encounters or mean lab value, sliced by one
dimension (or two: rows by ``slice_by``, columns by ``then_by``), with small-cell suppression.

A patient is in exactly one slice of each dimension — their sex, age band and state at the index date, and
for the encounter dimensions (department, year) the department and year of their latest encounter in the
range — so that every table adds up to its totals and complementary suppression holds. Encounters are
sliced by their own department and year. ``mean_lab(<LOINC>)`` averages each patient's latest value of
that lab up to the index date; a mean over 1 to 10 patients is shown as ``<11``.

Counts are suppressed (see ``suppression``) unless the caller asks for ``allow_small_cells=True`` — for
internal quality assurance only — and then the raw counts come back too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from osler.analytics.cohorts.criteria import Cohort
from osler.analytics.cohorts.suppression import SMALLEST_SHOWN, Line, Mark, suppress
from osler.analytics.measures.base import latest_day

AGE_BANDS = ((0, 17), (18, 34), (35, 49), (50, 64), (65, 79), (80, None))


def _age_band_sql() -> str:
    """SQL naming a patient's age band ("18-34", "80+"); "(none)" without a birth date."""
    cases = [f"when Age between {low} and {high} then '{low}-{high}'" if high is not None
             else f"when Age >= {low} then '{low}+'" for low, high in AGE_BANDS]
    return f"case {' '.join(cases)} else '(none)' end"


# A dimension: its SQL over the unit (a patient, or an encounter with its patient's columns).
DIMENSIONS = {
    "sex": "Sex",
    "age_band": _age_band_sql(),
    "state": "StateOrProvince",
    "department": "coalesce(DepartmentName, '(none)')",
    "year": "coalesce(cast(year(Date) as varchar), '(none)')",
}
MEAN_LAB = re.compile(r"^mean_lab\(([0-9A-Za-z-]+)\)$")
TOTAL = "Total"


@dataclass
class CohortTable:
    """A sliced cohort: ``display`` is what may be shown (the last row and, two-way, the last column are the
    totals); ``raw`` holds the unsuppressed values only when the caller allowed small cells."""

    measure: str
    slice_by: str
    then_by: str | None
    row_labels: list[str]
    column_labels: list[str]
    display: list[list[str]]
    raw: list[list[float | int | None]] | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"measure": self.measure, "slice_by": self.slice_by, "then_by": self.then_by,
                                 "rows": self.row_labels, "columns": self.column_labels, "display": self.display,
                                 "notes": self.notes}
        if self.raw is not None:
            shown["raw"] = self.raw
        return shown


def explore(connection: duckdb.DuckDBPyConnection, cohort: Cohort, slice_by: str = "sex", *,
            then_by: str | None = None, measure: str = "patients", allow_small_cells: bool = False) -> CohortTable:
    """The cohort's ``measure`` (``patients``, ``encounters`` or ``mean_lab(<LOINC>)``) by ``slice_by``
    (and ``then_by``): one of sex, age_band, state, department, year."""
    for dimension in (slice_by, then_by):
        if dimension is not None and dimension not in DIMENSIONS:
            raise ValueError(f"unknown slice {dimension!r}: use one of {', '.join(DIMENSIONS)}")
    lab = MEAN_LAB.match(measure)
    if measure not in ("patients", "encounters") and lab is None:
        raise ValueError(f"unknown measure {measure!r}: use patients, encounters or mean_lab(<LOINC>)")
    index_date = cohort.index_date or latest_day(connection)
    units_sql, parameters = _units(cohort, index_date, measure, lab.group(1) if lab else None)
    columns_sql = DIMENSIONS[then_by] if then_by else f"'{measure}'"
    rows = connection.execute(f"""
        select {DIMENSIONS[slice_by]} as row_label, {columns_sql} as column_label, count(*), sum(value)
        from ({units_sql}) as units
        group by all
    """, parameters).fetchall()
    row_labels = sorted({row[0] for row in rows})
    column_labels = sorted({row[1] for row in rows}) if then_by else [measure]
    counts = {(row[0], row[1]): (int(row[2]), float(row[3]) if row[3] is not None else 0.0) for row in rows}
    if lab is None:
        return _count_table(measure, slice_by, then_by, row_labels, column_labels, counts, allow_small_cells)
    return _mean_table(measure, slice_by, then_by, row_labels, column_labels, counts, allow_small_cells)


def _units(cohort: Cohort, index_date: Any, measure: str, loinc: str | None) -> tuple[str, list[Any]]:
    """SQL of what is counted — one row per patient, or per encounter — with the dimensions' columns and a
    ``value`` (1, or the patient's latest lab value)."""
    patients_sql, parameters = cohort.patients_sql(index_date)
    encounters_sql = cohort.encounters_sql()
    if measure == "encounters":
        sql = f"""
            select p.*, d.DepartmentName, e.Date, 1 as value
            from ({patients_sql}) as p
            join ({encounters_sql}) as e on e.PatientDurableKey = p.DurableKey
            left join DepartmentDim as d using (DepartmentKey)"""
        return sql, [*parameters, *cohort.encounter_range()]
    latest_encounter = f"""
        select PatientDurableKey as DurableKey, arg_max(DepartmentKey, Date) as DepartmentKey, max(Date) as Date
        from ({encounters_sql}) as e
        group by PatientDurableKey"""
    value, lab_join, lab_parameters = "1", "", []
    if loinc is not None:
        value = "lab.value"
        lab_join = """
            join (select r.PatientDurableKey as DurableKey, arg_max(r.NumericValue, r.ResultInstant) as value
                  from LabComponentResultFact as r
                  join DateDim as day on day.DateKey = r.ResultDateKey
                  where r.ComponentCode = ? and r.NumericValue is not null and day.Date <= ?
                  group by r.PatientDurableKey) as lab using (DurableKey)"""
        lab_parameters = [loinc, index_date]
    sql = f"""
        select p.*, d.DepartmentName, e.Date, {value} as value
        from ({patients_sql}) as p
        left join ({latest_encounter}) as e using (DurableKey)
        left join DepartmentDim as d on d.DepartmentKey = e.DepartmentKey
        {lab_join}"""
    return sql, [*parameters, *cohort.encounter_range(), *lab_parameters]


def _count_table(measure: str, slice_by: str, then_by: str | None, row_labels: list[str], column_labels: list[str],
                 counts: dict[tuple[str, str], tuple[int, float]], allow_small_cells: bool) -> CohortTable:
    grid = [[counts.get((r, c), (0, 0.0))[0] for c in column_labels] for r in row_labels]
    values, lines, shape = table_entries(grid, two_way=then_by is not None)
    marks = suppress(values, lines)
    shown = [str(value) if mark is Mark.SHOWN else mark.value for value, mark in zip(values, marks, strict=True)]
    width = len(shape[0])
    display = [[shown[entry] for entry in row] for row in shape]
    raw: list[list[float | int | None]] | None = [[values[entry] for entry in row] for row in shape] \
        if allow_small_cells else None
    columns = [*column_labels, TOTAL] if width > len(column_labels) else column_labels
    notes = [f"<11: a count from 1 to {SMALLEST_SHOWN - 1}",
             "*: hidden so that a small count cannot be worked out from the totals"]
    return CohortTable(measure, slice_by, then_by, [*row_labels, TOTAL], columns, display, raw, notes)


def table_entries(grid: list[list[int]], *, two_way: bool) -> tuple[list[int], list[Line], list[list[int]]]:
    """The entries of ``grid`` with its totals, the lines (sums) the shown table makes public, and where each
    entry sits in the shown table. One-way (a single column): the cells and a grand total, one line.
    Two-way: a total column and a total row; every row and every column is a line."""
    if not two_way:
        values = [row[0] for row in grid] + [sum(row[0] for row in grid)]
        cells = tuple(range(len(grid)))
        return values, [Line(cells, len(grid))], [[entry] for entry in range(len(values))]
    with_totals = [[*row, sum(row)] for row in grid]
    with_totals.append([sum(column) for column in zip(*with_totals, strict=True)])
    width = len(with_totals[0])
    values = [value for row in with_totals for value in row]
    shape = [[r * width + c for c in range(width)] for r in range(len(with_totals))]
    lines = [Line(tuple(row[:-1]), row[-1]) for row in shape]
    lines += [Line(tuple(shape[r][c] for r in range(len(shape) - 1)), shape[-1][c]) for c in range(width)]
    return values, lines, shape


def _mean_table(measure: str, slice_by: str, then_by: str | None, row_labels: list[str], column_labels: list[str],
                counts: dict[tuple[str, str], tuple[int, float]], allow_small_cells: bool) -> CohortTable:
    def mean(patients: int, total: float) -> tuple[str, float | None]:
        """What to show (— with no patient, <11 with 1 to 10) and the raw mean."""
        if patients == 0:
            return "—", None
        value = round(total / patients, 2)
        return ("<11" if patients < SMALLEST_SHOWN else f"{value:g}"), value

    cells = [[counts.get((r, c), (0, 0.0)) for c in column_labels] for r in row_labels]
    grid = [[*row, _sum_pairs(row)] for row in cells] if then_by else [list(row) for row in cells]
    grid.append([_sum_pairs(column) for column in zip(*grid, strict=True)])
    display = [[mean(*pair)[0] for pair in row] for row in grid]
    raw: list[list[float | int | None]] | None = [[mean(*pair)[1] for pair in row] for row in grid] \
        if allow_small_cells else None
    columns = [*column_labels, TOTAL] if then_by else column_labels
    notes = [f"<11: a mean over 1 to {SMALLEST_SHOWN - 1} patients is not shown"]
    return CohortTable(measure, slice_by, then_by, [*row_labels, TOTAL], columns, display, raw, notes)


def _sum_pairs(pairs: Any) -> tuple[int, float]:
    pairs = list(pairs)
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
