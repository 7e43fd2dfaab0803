"""The cohort explorer: criteria, slicing, and small-cell suppression that no shown table can undo.

The suppression is audited by brute force: every table is seen as an attacker sees it (a ``<11`` cell is 1..10,
a ``*`` cell at least 11, the totals as shown) and, for each hidden entry, a search looks for a second
table consistent with everything shown in which that entry differs. Hand-worked tables from the clinic in
tests/warehouse_population.py check the criteria; a smoke run covers the Synthea warehouse when present.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osler.analytics.cohorts import Cohort, LabRange, Line, Mark, explore, suppress
from osler.analytics.cohorts.explore import table_entries
from osler.analytics.layout import AnalyticsLayout
from osler.analytics.measures import open_warehouse
from tests.warehouse_population import built_warehouse, synthea_warehouse

# ---------------------------------------------------------------------------------------------------------------
# The brute-force audit


def domains(values: list[int], marks: list[Mark]) -> list[range]:
    """What the attacker knows of each entry; a ``*`` is bounded by twice the grand total (the search only
    needs room for a second solution, so a tighter bound makes the audit stricter, never laxer)."""
    ceiling = 2 * max(values) + 20
    return [range(v, v + 1) if m is Mark.SHOWN else range(1, 11) if m is Mark.SMALL else range(11, ceiling + 1)
            for v, m in zip(values, marks, strict=True)]


def consistent(assigned: dict[int, int], lines: list[Line], options: list[range]) -> dict[int, int] | None:
    """``assigned`` with every entry a line then determines filled in; None on a contradiction (a line that
    is wrong, or that cannot add up whatever its open entries take)."""
    assigned = dict(assigned)

    def span(entry: int) -> tuple[int, int]:
        return (assigned[entry], assigned[entry]) if entry in assigned else (options[entry][0], options[entry][-1])

    changed = True
    while changed:
        changed = False
        for line in lines:
            missing = [m for m in (*line.parts, line.total) if m not in assigned]
            if len(missing) > 1:
                parts_low, parts_high = sum(span(p)[0] for p in line.parts), sum(span(p)[1] for p in line.parts)
                total_low, total_high = span(line.total)
                if parts_low > total_high or parts_high < total_low:
                    return None
                continue
            parts = sum(assigned.get(p, 0) for p in line.parts)
            if not missing:
                if parts != assigned[line.total]:
                    return None
                continue
            entry = missing[0]
            value = parts if entry == line.total else assigned[line.total] - parts
            if value not in options[entry]:
                return None
            assigned[entry], changed = value, True
    return assigned


def solvable(assigned: dict[int, int], lines: list[Line], options: list[range]) -> bool:
    """Whether some table agrees with ``assigned`` and everything shown (depth-first, propagating lines)."""
    filled = consistent(assigned, lines, options)
    if filled is None:
        return False
    free = [e for e in range(len(options)) if e not in filled]
    if not free:
        return True
    entry = min(free, key=lambda e: len(options[e]))
    return any(solvable({**filled, entry: value}, lines, options) for value in options[entry])


def recoverable(values: list[int], marks: list[Mark], lines: list[Line]) -> list[int]:
    """The hidden entries whose exact value follows from what is shown."""
    options = domains(values, marks)
    shown = {e: v for e, (v, m) in enumerate(zip(values, marks, strict=True)) if m is Mark.SHOWN}
    assert solvable(shown, lines, options), "the true table must be consistent with its display"
    return [e for e, mark in enumerate(marks) if mark is not Mark.SHOWN
            and not any(solvable({**shown, e: other}, lines, options)
                        for other in sorted(options[e], key=lambda o: abs(o - values[e])) if other != values[e])]


def shown(values: list[int], marks: list[Mark]) -> list[str]:
    return [str(v) if m is Mark.SHOWN else m.value for v, m in zip(values, marks, strict=True)]


def one_way(cells: list[int]) -> tuple[list[int], list[Line]]:
    values, lines, _ = table_entries([[c] for c in cells], two_way=False)
    return values, lines


# ---------------------------------------------------------------------------------------------------------------
# Suppression


@pytest.mark.parametrize(("cells", "expected"), [
    ([14, 12, 1], ["14", "*", "<11", "27"]),  # the lone small cell's complement is the next smallest
    ([1, 11], ["<11", "*", "*"]),  # 1 + 11 = 12 would give both away: the total goes too
    ([1, 1, 50], ["<11", "<11", "*", "52"]),  # two small cells summing to 2 are both 1
    ([3, 4, 50, 60], ["<11", "<11", "50", "60", "117"]),  # 3 + 4 = 7: each could be 1 to 6
    ([5, 0, 0], ["<11", "0", "0", "<11"]),
    ([0, 0], ["0", "0", "0"]),
    ([25, 30], ["25", "30", "55"]),
])
def test_one_way_tables_by_hand(cells: list[int], expected: list[str]) -> None:
    values, lines = one_way(cells)
    marks = suppress(values, lines)
    assert shown(values, marks) == expected
    assert recoverable(values, marks, lines) == []


def test_the_audit_catches_a_table_suppressed_without_complements() -> None:
    values, lines = one_way([14, 12, 1])
    primary_only = [Mark.SMALL if 1 <= v <= 10 else Mark.SHOWN for v in values]
    assert recoverable(values, primary_only, lines) == [2]  # 27 - 14 - 12 = 1
    two_way_values, two_way_lines, _ = table_entries([[1, 11], [12, 13]], two_way=True)
    naive = [Mark.SMALL if 1 <= v <= 10 else Mark.SHOWN for v in two_way_values]
    naive[1] = Mark.COMPLEMENT  # the next smallest in its row, but the column still tells
    assert 0 in recoverable(two_way_values, naive, two_way_lines)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=6))
def test_no_one_way_table_reveals_a_small_count(cells: list[int]) -> None:
    values, lines = one_way(cells)
    marks = suppress(values, lines)
    assert all(m is not Mark.SHOWN for v, m in zip(values, marks, strict=True) if 1 <= v <= 10)
    assert recoverable(values, marks, lines) == []


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=2, max_value=3).flatmap(lambda width: st.lists(
    st.lists(st.integers(min_value=0, max_value=25), min_size=width, max_size=width), min_size=2, max_size=3)))
def test_no_two_way_table_reveals_a_small_count(grid: list[list[int]]) -> None:
    values, lines, _ = table_entries(grid, two_way=True)
    marks = suppress(values, lines)
    assert all(m is not Mark.SHOWN for v, m in zip(values, marks, strict=True) if 1 <= v <= 10)
    assert recoverable(values, marks, lines) == []


# ---------------------------------------------------------------------------------------------------------------
# The explorer over the clinic: 27 patients — by band 0-17: 2, 18-34: 13, 35-49: 3, 50-64: 8, 65-79: 1


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> AnalyticsLayout:
    layout, report = built_warehouse(tmp_path_factory.mktemp("clinic"))
    assert report is not None and report.ok, report
    return layout


@pytest.fixture
def warehouse(clinic: AnalyticsLayout) -> Iterator[duckdb.DuckDBPyConnection]:
    with open_warehouse(clinic.warehouse) as connection:
        yield connection


def raw_counts(warehouse: duckdb.DuckDBPyConnection, cohort: Cohort, slice_by: str = "sex", **options: str) -> dict:
    table = explore(warehouse, cohort, slice_by, allow_small_cells=True, **options)
    assert table.raw is not None
    return {label: row[0] for label, row in zip(table.row_labels, table.raw, strict=True)}


def test_slices_are_suppressed_and_raw_counts_need_permission(warehouse: duckdb.DuckDBPyConnection) -> None:
    by_sex = explore(warehouse, Cohort(), "sex")
    assert (by_sex.row_labels, by_sex.display, by_sex.raw) == (
        ["Female", "Male", "Other", "Total"], [["14"], ["*"], ["<11"], ["27"]], None)
    by_age = explore(warehouse, Cohort(), "age_band")
    assert by_age.row_labels == ["0-17", "18-34", "35-49", "50-64", "65-79", "Total"]
    assert by_age.display == [["<11"], ["13"], ["<11"], ["<11"], ["<11"], ["27"]]
    assert raw_counts(warehouse, Cohort(), "age_band") == {
        "0-17": 2, "18-34": 13, "35-49": 3, "50-64": 8, "65-79": 1, "Total": 27}


def test_criteria_narrow_the_population(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert raw_counts(warehouse, Cohort(sex="female", diagnosis_codes=("E11",))) == {"Female": 4, "Total": 4}
    assert raw_counts(warehouse, Cohort(diagnosis_codes=("E11", "44054006")))["Total"] == 6
    assert raw_counts(warehouse, Cohort(labs=(LabRange("4548-4", 8, 10),)))["Total"] == 2  # f10 9.1, f11 8.4
    assert raw_counts(warehouse, Cohort(labs=(LabRange("4548-4", high=7.0),)))["Total"] == 2  # m08 6.5, m09 7.0
    assert raw_counts(warehouse, Cohort(medication_codes=("860975",))) == {"Male": 1, "Total": 1}
    assert raw_counts(warehouse, Cohort(age_min=18, age_max=34))["Total"] == 13
    assert raw_counts(warehouse, Cohort(age_min=50))["Total"] == 9
    assert raw_counts(warehouse, Cohort(age_min=50, index_date=date(2020, 1, 1)))["Total"] == 1  # f13 at 64
    week = Cohort(encounter_from=date(2026, 11, 16), encounter_to=date(2026, 11, 22))
    assert raw_counts(warehouse, week, "department", measure="encounters") == {
        "Cardiology": 2, "Family Medicine": 5, "Total": 7}
    assert raw_counts(warehouse, Cohort(sex="male"), "department") == {
        "(none)": 9, "Cardiology": 2, "Family Medicine": 1, "Total": 12}  # m02's visit was in FM
    assert raw_counts(warehouse, Cohort(), "year", measure="encounters") == {"2026": 8, "Total": 8}


def test_mean_lab_shows_no_mean_of_fewer_than_eleven(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Latest HbA1c: f09 7.2, f10 9.1, f11 8.4 (women, mean 8.23); m08 6.5, m09 7.0 (men, 6.75); all 7.64.
    table = explore(warehouse, Cohort(), "sex", measure="mean_lab(4548-4)", allow_small_cells=True)
    assert table.display == [["<11"], ["<11"], ["<11"]]
    assert table.raw == [[8.23], [6.75], [7.64]]


def test_two_way_table_of_the_clinic_cannot_be_undone(warehouse: duckdb.DuckDBPyConnection) -> None:
    table = explore(warehouse, Cohort(), "sex", then_by="age_band", allow_small_cells=True)
    assert table.raw is not None and table.raw[-1][-1] == 27
    assert table.column_labels == ["0-17", "18-34", "35-49", "50-64", "65-79", "Total"]
    values = [int(v) for row in table.raw for v in row]  # type: ignore[arg-type]
    _, lines, _ = table_entries([[int(v) for v in row[:-1]] for row in table.raw[:-1]], two_way=True)  # type: ignore[arg-type]
    marks = [Mark.SHOWN if cell.isdigit() else Mark(cell) for row in table.display for cell in row]
    assert all(m is not Mark.SHOWN for v, m in zip(values, marks, strict=True) if 1 <= v <= 10)
    assert recoverable(values, marks, lines) == []


def test_unknown_slices_measures_and_criteria_are_refused(warehouse: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="unknown slice 'race'"):
        explore(warehouse, Cohort(), "race")
    with pytest.raises(ValueError, match="unknown measure 'median'"):
        explore(warehouse, Cohort(), measure="median")
    with pytest.raises(ValueError, match="unknown sex 'f'"):
        Cohort(sex="f")


def osler(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osler.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OSLER_HOME": str(home), "COLUMNS": "120"})


def test_cohort_command_prints_a_suppressed_table(clinic: AnalyticsLayout) -> None:
    home = clinic.root.parent
    result = osler("analytics", "cohort", "--sex", "female", "--diagnosis", "E11", "--slice", "age_band", home=home)
    assert result.returncode == 0, result.stderr
    assert "50-64" in result.stdout and "<11" in result.stdout and " 4 " not in result.stdout
    wrong = osler("analytics", "cohort", "--slice", "race", home=home)
    assert wrong.returncode == 1 and "unknown slice 'race'" in wrong.stderr and "Traceback" not in wrong.stderr
    bad_lab = osler("analytics", "cohort", "--lab", "4548-4:high", home=home)
    assert bad_lab.returncode == 1 and "is not LOINC[:LOW[:HIGH]]" in bad_lab.stderr


def test_synthea_cohorts_are_non_empty_and_suppressed(synthea_dir: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    layout, report = synthea_warehouse(synthea_dir, tmp_path_factory.mktemp("synthea"))
    assert report is not None and report.ok
    with open_warehouse(layout.warehouse) as connection:
        everyone = explore(connection, Cohort(), "sex", allow_small_cells=True)
        assert everyone.raw is not None and everyone.raw[-1] == [100]
        diabetics = explore(connection, Cohort(diagnosis_codes=("44054006",)), "age_band", allow_small_cells=True)
        assert diabetics.raw is not None and 0 < diabetics.raw[-1][0] < 100  # type: ignore[operator]
        assert all(cell in ("<11", "*") for row in diabetics.display for cell in row
                   if not cell.isdigit() or 1 <= int(cell) <= 10)
        encounters = explore(connection, Cohort(), "year", measure="encounters")
        assert int(encounters.display[-1][0]) > 1000  # the total of every encounter is no small cell
