"""Dashboard measures over the warehouse — wait times, no-shows, utilization, care quality, signals — with
answers worked out by hand from the clinic in tests/warehouse_population.py, the `osler analytics report`
command, and a smoke run over the Synthea warehouse when ../shared/data is present.

Medians and 90th percentiles interpolate linearly: for the sorted values x0..x(n-1), p90 sits at 0.9 (n-1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.measures import (
    NoShowRow,
    QualityRow,
    SignalRow,
    UtilizationRow,
    WaitTimeRow,
    WarehouseMissing,
    no_show_rate,
    open_warehouse,
    quality_measures,
    signals,
    utilization,
    wait_times,
)
from tests.warehouse_population import built_warehouse, synthea_warehouse


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> AnalyticsLayout:
    layout, report = built_warehouse(tmp_path_factory.mktemp("clinic"))
    assert report is not None and report.ok, report
    return layout


@pytest.fixture
def warehouse(clinic: AnalyticsLayout) -> Iterator[duckdb.DuckDBPyConnection]:
    with open_warehouse(clinic.warehouse) as connection:
        yield connection


def test_wait_times_by_department_and_week(warehouse: duckdb.DuckDBPyConnection) -> None:
    # FM, week 47: arrival→roomed 5, 10, 15, 20, 40 → median 15, p90 20 + 0.6 x 20 = 32; roomed→seen 10, 10, 5,
    # 30, 20 → median 10, p90 26; arrival→seen 15, 20, 20, 50, 60 → median 20, p90 56. CARD: 3 and 7, 12 and 8.
    last_week = wait_times(warehouse, weeks=1)
    assert (last_week.window.first, last_week.window.last) == (date(2026, 11, 16), date(2026, 11, 22))
    assert last_week.rows == [
        WaitTimeRow("Cardiology", "2026-W47", 2, 5.0, 6.6, 10.0, 11.6, 15.0, 15.0),
        WaitTimeRow("Family Medicine", "2026-W47", 5, 15.0, 32.0, 10.0, 26.0, 20.0, 56.0)]
    everything = wait_times(warehouse, department="FM")
    assert [(row.week, row.visits, row.arrival_to_seen_median) for row in everything.rows] == [
        ("2026-W46", 1, 12.0), ("2026-W47", 5, 20.0)]
    assert wait_times(warehouse, department="Family Medicine").rows == everything.rows
    assert [row.week for row in wait_times(warehouse, weeks=1, as_of=date(2026, 11, 15)).rows] == ["2026-W46"]
    assert wait_times(warehouse, department="Dermatology").rows == []


def test_no_show_rate_leaves_out_cancellations(warehouse: duckdb.DuckDBPyConnection) -> None:
    # FM week 47: five completed, one no-show, one cancelled (not due) → 1/6; CARD: two completed, one no-show.
    assert no_show_rate(warehouse, weeks=1).rows == [NoShowRow("Cardiology", "2026-W47", 3, 1, 0.3333),
                                                     NoShowRow("Family Medicine", "2026-W47", 6, 1, 0.1667)]


def test_utilization_is_booked_over_available_provider_minutes(warehouse: duckdb.DuckDBPyConnection) -> None:
    # FM: six 20-min slots, one blocked → 100 available, three booked → 60; CARD: four 30-min, one booked.
    assert utilization(warehouse, weeks=1).rows == [UtilizationRow("Cardiology", "2026-W47", 120.0, 30.0, 0.25),
                                                    UtilizationRow("Family Medicine", "2026-W47", 100.0, 60.0, 0.6)]


def test_quality_measures_at_the_latest_day_and_earlier(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Diabetics f09 f10 f11 m08 (E11.9) and m09 (SNOMED); f12's diabetes is resolved. In the 12 months to
    # 22 Nov: f09 7.2, f10 9.1, f11 latest 8.4, m09 7.0 tested (m08's is older) → 4/5; under 8: f09, m09 → 2/5.
    # Hypertensives f13 (latest 130/85), m10 (150/85), m11 (135/92), f07 (128/78), f08 (none in 12 months) → 2/5.
    measured = quality_measures(warehouse)
    assert (measured.window.first, measured.window.last) == (date(2025, 11, 23), date(2026, 11, 22))
    assert measured.rows == [QualityRow("Diabetes: HbA1c in the last 12 months", 5, 4, 0.8),
                             QualityRow("Diabetes: latest HbA1c < 8 %", 5, 2, 0.4),
                             QualityRow("Hypertension: latest BP < 140/90", 5, 2, 0.4)]
    # On 15 Oct: f09's test is yet to come and f11's latest is 7.5 (May); m08's (Oct 2025) is still out.
    earlier = quality_measures(warehouse, as_of=date(2026, 10, 15))
    assert [(row.eligible, row.met) for row in earlier.rows] == [(5, 3), (5, 2), (5, 2)]


def test_signals_in_basket_order_to_result_and_prescription_to_dispense(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Tasks 30, 60, 90 min (the open one and the waitlist offer left out) → median 60, p90 60 + 0.8 x 30 = 84;
    # orders 120 and 45 → 82.5, 112.5; prescriptions 240 and 60 → 150, 222.
    assert signals(warehouse, weeks=1).rows == [
        SignalRow("In-basket turnaround", "result", 3, 60.0, 84.0),
        SignalRow("Order → result", "Lab", 2, 82.5, 112.5),
        SignalRow("Prescription → dispense", "Prescription", 2, 150.0, 222.0)]
    assert signals(warehouse, weeks=1, as_of=date(2026, 11, 15)).rows == []


def test_results_serialize_to_json(warehouse: duckdb.DuckDBPyConnection) -> None:
    document = json.loads(json.dumps(no_show_rate(warehouse, weeks=1).as_json()))
    assert document["window"] == {"first": "2026-11-16", "last": "2026-11-22"}
    assert document["rows"][0] == {"department": "Cardiology", "week": "2026-W47", "appointments": 3, "no_shows": 1,
                                   "rate": 0.3333}


def test_an_unbuilt_warehouse_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissing, match="run `osler etl` first"), open_warehouse(tmp_path / "none.duckdb"):
        pass
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(WarehouseMissing, match="no star schema"), open_warehouse(tmp_path / "empty.duckdb"):
        pass


def osler(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osler.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OSLER_HOME": str(home), "COLUMNS": "120"})


def test_report_command_prints_tables_json_and_one_line_errors(clinic: AnalyticsLayout, tmp_path: Path) -> None:
    home = clinic.root.parent
    shown = osler("analytics", "report", "--weeks", "1", "--department", "FM", home=home)
    assert shown.returncode == 0, shown.stderr
    assert "2026-11-16 to 2026-11-22" in shown.stdout and "Family Medicine" in shown.stdout
    assert "Cardiology" not in shown.stdout and "16.7%" in shown.stdout and "60.0%" in shown.stdout
    assert "Diabetes: latest HbA1c < 8 %" in shown.stdout
    document = json.loads(osler("analytics", "report", "--json", home=home).stdout)
    assert [row["week"] for row in document["wait_times"]["rows"]] == ["2026-W47", "2026-W46", "2026-W47"]
    assert document["quality"]["rows"][2]["rate"] == 0.4
    for args, message in ((("--weeks", "0"), "--weeks must be at least 1"),
                          (("--as-of", "yesterday"), "--as-of 'yesterday' is not a date")):
        refused = osler("analytics", "report", *args, home=home)
        assert refused.returncode == 1 and message in refused.stderr and "Traceback" not in refused.stderr
    missing = osler("analytics", "report", home=tmp_path)
    assert missing.returncode == 1 and "run `osler etl` first" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_synthea_measures_are_plausible(synthea_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    layout, report = synthea_warehouse(synthea_dir, tmp_path_factory.mktemp("synthea"))
    assert report is not None and report.ok
    with open_warehouse(layout.warehouse) as connection:
        quality = {row.measure: row for row in quality_measures(connection).rows}
        # Synthea has no appointments, slots, tasks or dispenses: those measures are empty, not wrong.
        assert wait_times(connection).rows == [] and utilization(connection).rows == []
    diabetes = quality["Diabetes: HbA1c in the last 12 months"]
    hypertension = quality["Hypertension: latest BP < 140/90"]
    assert 0 < diabetes.eligible < 100 and 0 <= diabetes.met <= diabetes.eligible
    assert 0 < hypertension.eligible < 100 and 0 <= hypertension.met <= hypertension.eligible
    assert quality["Diabetes: latest HbA1c < 8 %"].met <= diabetes.met
