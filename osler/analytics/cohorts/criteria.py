"""A cohort's criteria (Epic: SlicerDicer's population criteria) and the SQL that finds its patients.

Every criterion narrows the population; together they must all hold. Ages are whole years at the index
date (the latest day of data unless given); diagnoses match by code prefix in any code set (``E11``
matches ``E11.9``); a lab criterion needs one result of the LOINC code within the range; medications
match RxNorm codes exactly; the encounter range needs an encounter between the dates (and limits the
encounters counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

SEXES = ("Female", "Male", "Other", "Unknown")


@dataclass(frozen=True)
class LabRange:
    """At least one result of ``loinc`` from ``low`` to ``high`` (both included; either end open)."""

    loinc: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Cohort:
    age_min: int | None = None
    age_max: int | None = None
    sex: str | None = None  # female, male, other, unknown (any case)
    diagnosis_codes: tuple[str, ...] = ()  # prefixes; any of them
    labs: tuple[LabRange, ...] = ()  # all of them
    medication_codes: tuple[str, ...] = ()  # RxNorm; any of them
    encounter_from: date | None = None
    encounter_to: date | None = None
    index_date: date | None = None

    def __post_init__(self) -> None:
        if self.sex is not None and self.sex.capitalize() not in SEXES:
            raise ValueError(f"unknown sex {self.sex!r}: use one of {', '.join(s.lower() for s in SEXES)}")
        if None not in (self.age_min, self.age_max) and self.age_min > self.age_max:  # type: ignore[operator]
            raise ValueError("the minimum age is above the maximum age")

    def patients_sql(self, index_date: date) -> tuple[str, list[Any]]:
        """SQL selecting the cohort's patients — ``DurableKey``, ``Sex``, ``StateOrProvince`` and ``Age`` at
        ``index_date`` from their current PatientDim row — and its parameters."""
        conditions: list[str] = ["true"]
        parameters: list[Any] = [index_date]
        if self.age_min is not None:
            conditions.append("Age >= ?")
            parameters.append(self.age_min)
        if self.age_max is not None:
            conditions.append("Age <= ?")
            parameters.append(self.age_max)
        if self.sex is not None:
            conditions.append("Sex = ?")
            parameters.append(self.sex.capitalize())
        if self.diagnosis_codes:
            prefixes = " or ".join(["starts_with(dx.Code, ?)"] * len(self.diagnosis_codes))
            conditions.append("DurableKey in (select e.PatientDurableKey from DiagnosisEventFact as e "
                              f"join DiagnosisDim as dx using (DiagnosisKey) where {prefixes})")
            parameters += self.diagnosis_codes
        for lab in self.labs:
            conditions.append("DurableKey in (select PatientDurableKey from LabComponentResultFact "
                              "where ComponentCode = ? and NumericValue >= coalesce(?, NumericValue) "
                              "and NumericValue <= coalesce(?, NumericValue))")
            parameters += [lab.loinc, lab.low, lab.high]
        if self.medication_codes:
            conditions.append("DurableKey in (select PatientDurableKey from MedicationOrderFact "
                              f"where MedicationCode in ({', '.join('?' * len(self.medication_codes))}))")
            parameters += self.medication_codes
        if self.encounter_from is not None or self.encounter_to is not None:
            conditions.append(f"DurableKey in (select PatientDurableKey from ({self.encounters_sql()}))")
            parameters += self.encounter_range()
        sql = f"""
            select * from (
                select DurableKey, Sex, coalesce(StateOrProvince, '(none)') as StateOrProvince,
                       cast(date_part('year', age(cast(? as date), BirthDate)) as integer) as Age
                from PatientDim
                where IsCurrent
            ) as patients
            where {' and '.join(conditions)}"""
        return sql, parameters

    def encounters_sql(self) -> str:
        """SQL of the encounters in the encounter range (every one when it is open); ``encounter_range()``
        gives its parameters."""
        return """
            select e.EncounterKey, e.PatientDurableKey, e.DepartmentKey, day.Date
            from EncounterFact as e
            left join DateDim as day using (DateKey)
            where (cast(? as date) is null or day.Date >= ?) and (cast(? as date) is null or day.Date <= ?)"""

    def encounter_range(self) -> list[date | None]:
        return [self.encounter_from, self.encounter_from, self.encounter_to, self.encounter_to]
