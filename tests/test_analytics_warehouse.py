"""The warehouse (Caboodle-like star schema): dimensions with durable keys and a type-2 PatientDim, facts keyed
to them, and the dbt tests on every model — over a hand-built clinic with known answers
(tests/warehouse_population.py) and, when ../shared/data is present, the 100 Synthea patients.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.measures import open_warehouse
from tests.warehouse_population import built_warehouse, synthea_warehouse

OPEN_END = date(9999, 12, 31)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> AnalyticsLayout:
    layout, report = built_warehouse(tmp_path_factory.mktemp("clinic"))
    assert report is not None and report.ok, report
    assert report.tests_warned == 0 and report.rejects == 0
    return layout


def rows(layout: AnalyticsLayout, sql: str) -> list[tuple]:
    with open_warehouse(layout.warehouse) as connection:
        return connection.execute(sql).fetchall()


def test_every_table_of_the_star_schema_has_the_rows_of_the_clinic(clinic: AnalyticsLayout) -> None:
    counts = {name: rows(clinic, f"select count(*) from {name}")[0][0] for name in (
        "PatientDim", "ProviderDim", "DepartmentDim", "DiagnosisDim", "EncounterFact", "AppointmentFact",
        "LabComponentResultFact", "FlowsheetValueFact", "MedicationOrderFact", "DiagnosisEventFact",
        "DiagnosisBridge", "ProviderSlotFact")}
    assert counts == {
        "PatientDim": 29,  # 27 patients, f01 with three versions
        "ProviderDim": 3, "DepartmentDim": 3,  # two of each, and the *Unspecified row
        "DiagnosisDim": 7,  # E11.9, 44054006, I10, 38341003, R05.9, J06.9, Z00.00
        "EncounterFact": 8, "AppointmentFact": 11,
        "LabComponentResultFact": 8,  # six HbA1c and two glucose results
        "FlowsheetValueFact": 16,  # eight blood pressures, systolic and diastolic apart
        "MedicationOrderFact": 2, "DiagnosisEventFact": 14, "DiagnosisBridge": 3,
        "ProviderSlotFact": 10,  # the room's slot is no provider's time
    }
    assert rows(clinic, "select min(Date), max(Date), count(*) = count(distinct DateKey) from DateDim") == [
        (date(2020, 1, 1), date(2026, 11, 22), True)]
    assert rows(clinic, "select DateKey, IsoWeekName, DayName, IsWeekend from DateDim where Date = '2026-11-22'") == [
        (20261122, "2026-W47", "Sunday", True)]


def test_patient_dim_keeps_type_2_history_of_tracked_attributes_only(clinic: AnalyticsLayout) -> None:
    # f01 moved Boston → Cambridge → Somerville on 10 March (the day's last state wins), changed phone on 1 June
    # (not tracked: no new row) and moved back to Boston on 1 August.
    history = rows(clinic, "select City, StartDate, EndDate, IsCurrent, PrimaryMrn from PatientDim "
                           "where PatientEpicId = 'f01' order by StartDate")
    assert history == [("Boston", date(2026, 1, 5), date(2026, 3, 10), False, "MRN-f01"),
                       ("Somerville", date(2026, 3, 10), date(2026, 8, 1), False, "MRN-f01"),
                       ("Boston", date(2026, 8, 1), OPEN_END, True, "MRN-f01")]
    assert rows(clinic, "select count(distinct DurableKey), count(*) filter (where IsCurrent) from PatientDim") == [
        (27, 27)]
    # A fact points at the version current on its day; before the history starts, at the first version.
    keyed = rows(clinic, """
        select fact, p.City, p.StartDate from (
            select 'blood pressure, May' as fact, PatientKey from FlowsheetValueFact where ObservationEpicId = 'bp-f01'
            union all select 'visit, November', PatientKey from AppointmentFact where AppointmentEpicId = 'fm1'
            union all select 'diagnosis, 2020', PatientKey from DiagnosisEventFact where ConditionEpicId = 'dx-uri'
        ) join PatientDim as p using (PatientKey) group by all order by fact""")
    assert keyed == [("blood pressure, May", "Somerville", date(2026, 3, 10)),
                     ("diagnosis, 2020", "Boston", date(2026, 1, 5)),
                     ("visit, November", "Boston", date(2026, 8, 1))]


def test_the_type_2_test_fails_on_overlapping_ranges_and_two_current_rows(clinic: AnalyticsLayout) -> None:
    compiled = next((clinic.dbt_target / "compiled").rglob("type2_history_PatientDim*.sql")).read_text()
    with duckdb.connect() as connection:
        connection.execute("create table broken (DurableKey int, StartDate date, EndDate date, IsCurrent bool)")
        connection.execute("""insert into broken values
            (1, '2026-01-01', '2026-03-01', false), (1, '2026-03-01', '9999-12-31', true),  -- good
            (2, '2026-01-01', '2026-05-01', false), (2, '2026-03-01', '9999-12-31', true),  -- overlap
            (3, '2026-01-01', '9999-12-31', true), (3, '2026-02-01', '9999-12-31', true)   -- two current""")
        test_sql = compiled.replace(next(part for part in compiled.split() if "PatientDim" in part), "broken")
        assert sorted({key for key, _ in connection.execute(test_sql).fetchall()}) == [2, 3]


def test_appointment_fact_measures_the_waits_and_keys_every_dimension(clinic: AnalyticsLayout) -> None:
    assert rows(clinic, """
        select a.AppointmentEpicId, d.DepartmentName, pr.Name, a.AppointmentStatus, a.ArrivalToRoomedMinutes,
               a.RoomedToSeenMinutes, a.ArrivalToSeenMinutes, a.AppointmentDateKey, a.EncounterKey is not null
        from AppointmentFact as a join DepartmentDim as d using (DepartmentKey)
        join ProviderDim as pr using (ProviderKey)
        where a.AppointmentEpicId in ('fm4', 'fm6', 'card1') order by 1""") == [
        ("card1", "Cardiology", "DOCTORCARD, ANN", "Completed", 3.0, 12.0, 15.0, 20261118, True),
        ("fm4", "Family Medicine", "DOCTORFM, ANN", "Completed", 20.0, 30.0, 50.0, 20261118, True),
        ("fm6", "Family Medicine", "DOCTORFM, ANN", "No Show", None, None, None, 20261119, False)]


def test_other_facts_carry_their_durations_ranks_and_flags(clinic: AnalyticsLayout) -> None:
    assert rows(clinic, "select dx.Code, b.DiagnosisRank, b.IsPrimary from DiagnosisBridge as b "
                        "join DiagnosisDim as dx using (DiagnosisKey) order by b.DiagnosisRank") == [
        ("J06.9", 1, True), ("R05.9", 2, False), ("Z00.00", 3, False)]
    assert rows(clinic, "select MedicationOrderEpicId, MedicationCode, OrderToDispenseMinutes, DispenseCount "
                        "from MedicationOrderFact order by 1") == [
        ("rx-lisinopril", "314076", 60.0, 1), ("rx-metformin", "860975", 240.0, 1)]
    assert rows(clinic, "select OrderEpicId, OrderToResultMinutes, ReferenceLow, ReferenceHigh, IsAbnormal "
                        "from LabComponentResultFact where ComponentCode = '2345-7' order by 1") == [
        ("order-1", 120.0, 70.0, 99.0, False), ("order-2", 45.0, 70.0, 99.0, False)]
    assert rows(clinic, "select dx.CodeSet, e.IsActive from DiagnosisEventFact as e join DiagnosisDim as dx "
                        "using (DiagnosisKey) where e.ConditionEpicId in ('dm-f12', 'dm-m09') order by 1") == [
        ("ICD-10-CM", False), ("SNOMED CT", True)]
    assert rows(clinic, "select SlotStatus, sum(LengthInMinutes), bool_and(IsAvailable), bool_and(IsBooked) "
                        "from ProviderSlotFact join DepartmentDim using (DepartmentKey) "
                        "where DepartmentAbbreviation = 'FM' group by 1 order by 1") == [
        ("busy", 60.0, True, True), ("busy-unavailable", 20.0, False, False), ("free", 40.0, True, False)]


def test_synthea_warehouse_matches_the_reporting_tables(synthea_dir: Path,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    layout, report = synthea_warehouse(synthea_dir, tmp_path_factory.mktemp("synthea"))
    assert report is not None and report.ok, report.failures
    with open_warehouse(layout.warehouse) as connection:
        def one(sql: str) -> object:
            return connection.execute(sql).fetchone()[0]  # type: ignore[index]

        assert one("select count(*) from PatientDim where IsCurrent") == 100
        assert one("select count(*) from reporting.PATIENT") == 100
        assert one("select count(*) from EncounterFact") == one("select count(*) from reporting.PAT_ENC")
        assert one("select count(*) from MedicationOrderFact") == one("select count(*) from reporting.ORDER_MED")
        assert one("select count(*) from DiagnosisEventFact") == one("select count(*) from staging.stg_fhir__condition")
        assert one("select count(*) from LabComponentResultFact where ComponentCode = '4548-4'") > 0
        assert one("select count(*) from FlowsheetValueFact where Code = '8480-6'") > 0
        assert one("select count(*) from DiagnosisBridge where IsPrimary") > 0
        assert one("select min(LengthInMinutes) >= 0 from EncounterFact") is True
