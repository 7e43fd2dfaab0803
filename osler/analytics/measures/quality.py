"""Care-quality measures over the last 12 months (Epic: Healthy Planet's registry metrics; HEDIS-like).

* Diabetes — patients with an active diagnosis of type 2 diabetes (ICD-10-CM E11.*, SNOMED CT 44054006, as
  Synthea codes it): the share with an HbA1c (LOINC 4548-4) in the 12 months up to the day the measure is
  taken, and the share whose latest HbA1c there is under 8 % (no HbA1c counts as not under 8, as HEDIS does).
* Hypertension — patients with an active diagnosis of essential hypertension (ICD-10-CM I10, SNOMED CT
  38341003): the share whose latest blood pressure in those 12 months is under 140/90 mmHg (systolic 8480-6
  and diastolic 8462-4 of one reading).

The day defaults to the latest day of data, so that a historical population (Synthea) is measured at its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from osler.analytics.measures.base import MeasureResult, Window, latest_day

HBA1C = "4548-4"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"


@dataclass(frozen=True)
class CodeSet:
    """Diagnoses by code: ICD-10-CM codes starting with ``icd10_prefix``, or exactly the SNOMED CT ``snomed``."""

    icd10_prefix: str
    snomed: str

    def patients_sql(self) -> str:
        """SQL for the durable keys of patients with an active such diagnosis that started by the day ``$as_of``."""
        return f"""
            select distinct e.PatientDurableKey
            from DiagnosisEventFact as e
            join DiagnosisDim as dx using (DiagnosisKey)
            where e.IsActive and (e.StartDate is null or e.StartDate <= $as_of)
              and ((dx.CodeSet = 'ICD-10-CM' and dx.Code like '{self.icd10_prefix}%')
                   or (dx.CodeSet = 'SNOMED CT' and dx.Code = '{self.snomed}'))"""


DIABETES = CodeSet("E11", "44054006")
HYPERTENSION = CodeSet("I10", "38341003")


@dataclass(frozen=True)
class QualityRow:
    measure: str
    eligible: int  # patients in the denominator
    met: int  # patients meeting the measure
    rate: float | None  # met / eligible


def quality_measures(connection: duckdb.DuckDBPyConnection, *, as_of: date | None = None) -> MeasureResult[QualityRow]:
    """The three measures at ``as_of`` (the latest day of data by default), over the 12 months before it."""
    last = as_of or latest_day(connection)
    window = Window(_year_before(last) + timedelta(days=1), last)
    parameters = {"first": window.first, "as_of": window.last}
    diabetics, tested, controlled = connection.execute(f"""
        with eligible as ({DIABETES.patients_sql()}),
        latest as (
            select r.PatientDurableKey, arg_max(r.NumericValue, r.ResultInstant) as value
            from LabComponentResultFact as r
            join DateDim as day on day.DateKey = r.ResultDateKey
            where r.ComponentCode = '{HBA1C}' and r.NumericValue is not null
              and day.Date between $first and $as_of
            group by r.PatientDurableKey
        )
        select count(*), count(latest.value), count(*) filter (where latest.value < 8)
        from eligible left join latest using (PatientDurableKey)
    """, parameters).fetchone()  # type: ignore[misc]
    hypertensives, controlled_bp = connection.execute(f"""
        with eligible as ({HYPERTENSION.patients_sql()}),
        readings as (
            select v.PatientDurableKey, v.ObservationEpicId, max(v.TakenInstant) as taken,
                   max(v.NumericValue) filter (where v.Code = '{SYSTOLIC}') as systolic,
                   max(v.NumericValue) filter (where v.Code = '{DIASTOLIC}') as diastolic
            from FlowsheetValueFact as v
            join DateDim as day using (DateKey)
            where v.Code in ('{SYSTOLIC}', '{DIASTOLIC}')
              and day.Date between $first and $as_of
            group by v.PatientDurableKey, v.ObservationEpicId
            having systolic is not null and diastolic is not null
        ),
        latest as (
            select PatientDurableKey, arg_max(systolic < 140 and diastolic < 90, taken) as is_controlled
            from readings
            group by PatientDurableKey
        )
        select count(*), count(*) filter (where latest.is_controlled)
        from eligible left join latest using (PatientDurableKey)
    """, parameters).fetchone()  # type: ignore[misc]
    result: MeasureResult[QualityRow] = MeasureResult("Care quality (last 12 months)", window)
    result.rows = [
        _row("Diabetes: HbA1c in the last 12 months", diabetics, tested),
        _row("Diabetes: latest HbA1c < 8 %", diabetics, controlled),
        _row("Hypertension: latest BP < 140/90", hypertensives, controlled_bp),
    ]
    return result


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _row(measure: str, eligible: int, met: int) -> QualityRow:
    return QualityRow(measure, eligible, met, round(met / eligible, 4) if eligible else None)
