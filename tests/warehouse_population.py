"""A hand-built clinic whose warehouse answers are known: the extract's Parquet parts are written directly
(with chosen ``last_updated`` times, so that a patient's versions fall on different days), then dbt builds
the warehouse. Shared by the warehouse, measures and cohort tests; built once per test session.

Two departments in ISO week 2026-W47 (16-22 November) — Family Medicine (FM) and Cardiology (CARD) —
with their slots, appointments and visit clocks; 27 patients (14 female, 12 male, 1 other) in known age
bands; diabetics with HbA1c results, hypertensives with blood pressures; in-basket tasks, orders with
results and prescriptions with dispenses. The expected figures are worked out in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.parts import PARQUET_SCHEMA
from osler.analytics.pipeline import run_etl
from osler.analytics.transform import TransformReport, build
from osler.chronicle.bulk_load import LoadReport, find_files, load_files_parallel
from osler.chronicle.store import Chronicle

INDEX_DAY = "2026-11-22"  # the latest day of data (a Sunday)
CADENCE = "urn:osler:cadence"
ICD10, SNOMED, LOINC = "http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct", "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
INBASKET_CATEGORY = "urn:osler:inbasket:category"

# (id, gender, birth year): ages on 2026-11-22 fall in the bands 0-17, 18-34, 35-49, 50-64, 65-79.
BIRTH_YEARS = {"0-17": 2015, "18-34": 2000, "35-49": 1985, "50-64": 1970, "65-79": 1955}
PATIENTS = (
    [("f00", "female", "0-17")] + [(f"f0{n}", "female", "18-34") for n in range(1, 7)]
    + [("f07", "female", "35-49"), ("f08", "female", "35-49")]
    + [(f"f{n:02}", "female", "50-64") for n in range(9, 13)] + [("f13", "female", "65-79")]
    + [("m00", "male", "0-17")] + [(f"m0{n}", "male", "18-34") for n in range(1, 7)] + [("m07", "male", "35-49")]
    + [(f"m{n:02}", "male", "50-64") for n in range(8, 12)]
    + [("o00", "other", "18-34")]
)


def ref(res_type: str, res_id: str) -> dict[str, str]:
    return {"reference": f"{res_type}/{res_id}"}


def concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], **({"text": text} if text else {})}


def at(day: str, clock: str) -> str:
    return f"{day}T{clock}:00Z"


def patient(res_id: str, gender: str, band: str, *, city: str = "Boston", phone: str = "555-0100") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": res_id, "gender": gender,
            "birthDate": f"{BIRTH_YEARS[band]}-06-01", "name": [{"family": f"Test{res_id}", "given": ["Pat"]}],
            "identifier": [{"system": "urn:osler:mrn", "value": f"MRN-{res_id}"}],
            "telecom": [{"system": "phone", "value": phone}],
            "address": [{"city": city, "state": "MA", "postalCode": "02115"}]}


def clinic() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [{"resourceType": "Organization", "id": "org", "name": "Osler Clinic"}]
    for code, name, doctor in (("FM", "Family Medicine", "doc-fm"), ("CARD", "Cardiology", "doc-card")):
        dept = f"dept-{code.lower()}"
        resources += [
            {"resourceType": "Location", "id": dept, "name": name, "managingOrganization": ref("Organization", "org"),
             "identifier": [{"system": f"{CADENCE}:department-location", "value": code}]},
            {"resourceType": "Location", "id": f"{dept}-room", "name": f"{name} room 1",
             "partOf": ref("Location", dept),
             "physicalType": {"coding": [{"code": "ro"}]}},
            {"resourceType": "Practitioner", "id": doctor, "name": [{"family": f"Doctor{code}", "given": ["Ann"]}]},
            {"resourceType": "Schedule", "id": f"sched-{code}", "active": True,
             "meta": {"tag": [{"system": f"{CADENCE}:department", "code": code},
                              {"system": f"{CADENCE}:schedule-kind", "code": "provider"}]},
             "actor": [ref("Practitioner", doctor)]},
        ]
    # Slots: FM six of 20 min (3 booked, 2 free, 1 blocked); CARD four of 30 min (1 booked, 3 free); and a room's
    # slot, which is no provider's time.
    for n, status in enumerate(["busy", "busy", "busy", "free", "free", "busy-unavailable"]):
        resources.append(slot(f"slot-fm-{n}", "sched-FM", "2026-11-17", 9 * 60 + 20 * n, 20, status))
    for n, status in enumerate(["busy", "free", "free", "free"]):
        resources.append(slot(f"slot-card-{n}", "sched-CARD", "2026-11-18", 9 * 60 + 30 * n, 30, status))
    resources.append({"resourceType": "Schedule", "id": "sched-room", "actor": [ref("Location", "dept-fm-room")],
                      "meta": {"tag": [{"system": f"{CADENCE}:department", "code": "FM"},
                                       {"system": f"{CADENCE}:schedule-kind", "code": "room"}]}})
    resources.append(slot("slot-room", "sched-room", "2026-11-17", 9 * 60, 60, "busy"))
    return resources


def slot(res_id: str, schedule: str, day: str, start_minute: int, minutes: int, status: str) -> dict[str, Any]:
    def clock(minute: int) -> str:
        return f"{minute // 60:02}:{minute % 60:02}"
    return {"resourceType": "Slot", "id": res_id, "schedule": ref("Schedule", schedule), "status": status,
            "start": at(day, clock(start_minute)), "end": at(day, clock(start_minute + minutes))}


# Visits: (appointment id, patient, department code, day, status, arrival, minutes arrival→roomed, roomed→seen).
VISITS = [
    ("fm1", "f01", "FM", "2026-11-16", "fulfilled", "09:00", 5, 10),
    ("fm2", "f02", "FM", "2026-11-17", "fulfilled", "09:00", 10, 10),
    ("fm3", "f03", "FM", "2026-11-17", "fulfilled", "10:00", 15, 5),
    ("fm4", "f04", "FM", "2026-11-18", "fulfilled", "09:00", 20, 30),
    ("fm5", "f05", "FM", "2026-11-19", "fulfilled", "09:00", 40, 20),
    ("fm6", "f06", "FM", "2026-11-19", "noshow", None, 0, 0),
    ("fm7", "m01", "FM", "2026-11-20", "cancelled", None, 0, 0),
    ("fm0", "m02", "FM", "2026-11-10", "fulfilled", "09:00", 8, 4),  # the week before (2026-W46)
    ("card1", "m03", "CARD", "2026-11-18", "fulfilled", "09:00", 3, 12),
    ("card2", "m04", "CARD", "2026-11-18", "fulfilled", "09:30", 7, 8),
    ("card3", "m05", "CARD", "2026-11-18", "noshow", None, 0, 0),
]


def plus(day: str, clock: str, minutes: int) -> str:
    return (datetime.fromisoformat(at(day, clock)) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


DIAGNOSIS_LIST = [{"condition": ref("Condition", "dx-cough"), "rank": 2},
                  {"condition": ref("Condition", "dx-uri"), "rank": 1}]


def visits() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for appt, pat, code, day, status, arrival, to_room, to_seen in VISITS:
        dept, doctor = f"dept-{code.lower()}", f"doc-{code.lower()}"
        resources.append({"resourceType": "Appointment", "id": appt, "status": status,
                          "start": at(day, arrival or "09:00"), "end": plus(day, arrival or "09:00", 20),
                          "participant": [{"actor": ref("Patient", pat), "status": "accepted"},
                                          {"actor": ref("Practitioner", doctor), "status": "accepted"},
                                          {"actor": ref("Location", dept), "status": "accepted"}]})
        if arrival is None:
            continue
        roomed, seen = plus(day, arrival, to_room), plus(day, arrival, to_room + to_seen)
        resources.append({
            "resourceType": "Encounter", "id": f"enc-{appt}", "status": "finished", "class": {"code": "AMB"},
            "subject": ref("Patient", pat), "appointment": [ref("Appointment", appt)],
            "statusHistory": [{"status": "arrived", "period": {"start": at(day, arrival), "end": roomed}}],
            "location": [{"location": ref("Location", f"{dept}-room"), "period": {"start": roomed}}],
            "participant": [{"individual": ref("Practitioner", doctor), "period": {"start": seen}}],
            "period": {"start": at(day, arrival), "end": plus(day, arrival, to_room + to_seen + 15)},
            **({"diagnosis": DIAGNOSIS_LIST} if appt == "fm1" else {})})
    return resources


def condition(res_id: str, pat: str, system: str, code: str, *, active: bool = True,
              encounter: str | None = None) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": res_id, "subject": ref("Patient", pat), "code": concept(system, code),
            "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                      "active" if active else "resolved"),
            "onsetDateTime": "2020-01-01T00:00:00Z",
            **({} if active else {"abatementDateTime": "2021-01-01T00:00:00Z"}),
            **({"encounter": ref("Encounter", encounter)} if encounter else {})}


def hba1c(res_id: str, pat: str, day: str, value: float) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": res_id, "status": "final", "subject": ref("Patient", pat),
            "category": [concept("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
            "code": concept(LOINC, "4548-4", "Hemoglobin A1c"), "effectiveDateTime": at(day, "08:00"),
            "valueQuantity": {"value": value, "unit": "%"}}


def blood_pressure(res_id: str, pat: str, day: str, systolic: int, diastolic: int) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": res_id, "status": "final", "subject": ref("Patient", pat),
            "category": [concept("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs")],
            "code": concept(LOINC, "85354-9", "Blood pressure"), "effectiveDateTime": at(day, "09:00"),
            "component": [{"code": concept(LOINC, "8480-6"), "valueQuantity": {"value": systolic, "unit": "mm[Hg]"}},
                          {"code": concept(LOINC, "8462-4"), "valueQuantity": {"value": diastolic, "unit": "mm[Hg]"}}]}


def chronic_care() -> list[dict[str, Any]]:
    """Diabetes: f09, f10, f11, m08 (E11.9) and m09 (SNOMED 44054006) are active, f12's is resolved.
    Hypertension: f13, m10, m11, f08 (I10) and f07 (SNOMED 38341003)."""
    resources = [condition(f"dm-{p}", p, ICD10, "E11.9") for p in ("f09", "f10", "f11", "m08")]
    resources += [condition("dm-m09", "m09", SNOMED, "44054006"),
                  condition("dm-f12", "f12", ICD10, "E11.9", active=False)]
    resources += [condition(f"htn-{p}", p, ICD10, "I10") for p in ("f13", "m10", "m11", "f08")]
    resources.append(condition("htn-f07", "f07", SNOMED, "38341003"))
    resources += [
        hba1c("a1c-f09", "f09", INDEX_DAY, 7.2),  # tested, under 8
        hba1c("a1c-f10", "f10", "2026-10-01", 9.1),  # tested, not under 8
        hba1c("a1c-f11-old", "f11", "2026-05-20", 7.5), hba1c("a1c-f11", "f11", "2026-10-20", 8.4),  # latest 8.4
        hba1c("a1c-m08", "m08", "2025-10-01", 6.5),  # more than 12 months ago: not tested
        hba1c("a1c-m09", "m09", "2026-08-01", 7.0),  # tested, under 8
        blood_pressure("bp-f13-old", "f13", "2026-03-01", 150, 95),
        blood_pressure("bp-f13", "f13", "2026-09-01", 130, 85),
        blood_pressure("bp-m10-old", "m10", "2026-03-01", 120, 80),
        blood_pressure("bp-m10", "m10", "2026-09-01", 150, 85),
        blood_pressure("bp-m11", "m11", "2026-09-01", 135, 92),
        blood_pressure("bp-f07", "f07", "2026-09-01", 128, 78),
        blood_pressure("bp-f08", "f08", "2025-06-01", 120, 70),  # more than 12 months ago
        blood_pressure("bp-f01", "f01", "2026-05-01", 118, 76),  # f01 lived in Somerville then (PatientDim)
    ]
    return resources


def diagnoses() -> list[dict[str, Any]]:
    """f01's visit lists two diagnoses (J06.9 ranked 1, R05.9 ranked 2); a third Condition (Z00.00) is filed
    under the visit without being listed: it ranks 3."""
    return [
        condition("dx-cough", "f01", ICD10, "R05.9", encounter="enc-fm1"),
        condition("dx-uri", "f01", ICD10, "J06.9", encounter="enc-fm1"),
        condition("dx-exam", "f01", ICD10, "Z00.00", encounter="enc-fm1"),
    ]


def work() -> list[dict[str, Any]]:
    """In-basket tasks (30, 60, 90 min; one still open; a waitlist offer), orders resulted in 120 and 45 min,
    prescriptions dispensed in 240 and 60 min."""
    def task(res_id: str, code_system: str, code: str, status: str, minutes: int) -> dict[str, Any]:
        return {"resourceType": "Task", "id": res_id, "status": status, "intent": "order",
                "code": concept(code_system, code), "for": ref("Patient", "f02"),
                "authoredOn": at("2026-11-18", "08:00"), "lastModified": plus("2026-11-18", "08:00", minutes)}

    def order(res_id: str, start: str, minutes: int) -> list[dict[str, Any]]:
        return [{"resourceType": "ServiceRequest", "id": res_id, "status": "completed", "intent": "order",
                 "subject": ref("Patient", "f03"), "code": concept(LOINC, "2345-7", "Glucose"),
                 "category": [concept(SNOMED, "108252007")], "authoredOn": at("2026-11-19", start)},
                {"resourceType": "DiagnosticReport", "id": f"{res_id}-report", "status": "final",
                 "subject": ref("Patient", "f03"), "basedOn": [ref("ServiceRequest", res_id)],
                 "code": concept(LOINC, "2345-7", "Glucose"), "issued": plus("2026-11-19", start, minutes),
                 "result": [ref("Observation", f"{res_id}-glucose")]},
                {"resourceType": "Observation", "id": f"{res_id}-glucose", "status": "final",
                 "subject": ref("Patient", "f03"), "code": concept(LOINC, "2345-7", "Glucose"),
                 "valueQuantity": {"value": 95, "unit": "mg/dL"}, "referenceRange": [{"low": {"value": 70},
                                                                                       "high": {"value": 99}}],
                 "effectiveDateTime": at("2026-11-19", start), "issued": plus("2026-11-19", start, minutes)}]

    def prescription(res_id: str, pat: str, code: str, start: str, minutes: int) -> list[dict[str, Any]]:
        return [{"resourceType": "MedicationRequest", "id": res_id, "status": "active", "intent": "order",
                 "subject": ref("Patient", pat), "requester": ref("Practitioner", "doc-fm"),
                 "medicationCodeableConcept": concept(RXNORM, code), "authoredOn": at("2026-11-20", start)},
                {"resourceType": "MedicationDispense", "id": f"{res_id}-fill", "status": "completed",
                 "subject": ref("Patient", pat), "authorizingPrescription": [ref("MedicationRequest", res_id)],
                 "whenHandedOver": plus("2026-11-20", start, minutes)}]

    return [
        task("task-1", INBASKET_CATEGORY, "result", "completed", 30),
        task("task-2", INBASKET_CATEGORY, "result", "completed", 60),
        task("task-3", INBASKET_CATEGORY, "result", "completed", 90),
        task("task-open", INBASKET_CATEGORY, "result", "requested", 5),
        task("offer", CADENCE, "waitlist-offer", "completed", 10),
        *order("order-1", "08:00", 120), *order("order-2", "09:00", 45),
        *prescription("rx-metformin", "m08", "860975", "10:00", 240),
        *prescription("rx-lisinopril", "f13", "314076", "12:00", 60),
    ]


# f01's history across nightly runs (day, city, phone): the city is tracked (type-2), the phone is not; two
# changes on 10 March keep the day's last; the phone change on 1 June adds no row.
F01_HISTORY = [("2026-01-05", "Boston", "555-0100"), ("2026-03-10", "Cambridge", "555-0100"),
               ("2026-03-10", "Somerville", "555-0100"), ("2026-06-01", "Somerville", "555-0199"),
               ("2026-08-01", "Boston", "555-0199")]


def versions() -> Iterator[tuple[dict[str, Any], int, str]]:
    """Every (resource, version, last_updated) the parts hold."""
    for res_id, gender, band in PATIENTS:
        if res_id == "f01":
            for number, (day, city, phone) in enumerate(F01_HISTORY, start=1):
                yield patient(res_id, gender, band, city=city, phone=phone), number, at(day, f"{8 + number:02}:00")
        else:
            yield patient(res_id, gender, band), 1, at("2026-01-05", "08:00")
    for resource in [*clinic(), *visits(), *chronic_care(), *diagnoses(), *work()]:
        yield resource, 1, at("2026-01-05", "08:00")


def write_parts(layout: AnalyticsLayout) -> None:
    """One part per resource type (and per version of f01, as successive nightly runs would have written)."""
    by_part: dict[tuple[str, int], list[tuple[dict[str, Any], int, str]]] = {}
    for resource, version, updated in versions():
        by_part.setdefault((resource["resourceType"], version), []).append((resource, version, updated))
    for seq, ((res_type, run), rows) in enumerate(sorted(by_part.items()), start=1):
        folder = layout.extract_dir("parquet") / res_type
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pydict({
            "res_id": [r["id"] for r, _, _ in rows], "version": [v for _, v, _ in rows],
            "last_updated": [datetime.fromisoformat(u) for _, _, u in rows], "deleted": [False] * len(rows),
            "seq": [seq] * len(rows), "resource": [orjson.dumps(r).decode() for r, _, _ in rows]},
            schema=PARQUET_SCHEMA)
        pq.write_table(table, folder / f"part-{run:06}-{seq:06}.parquet")


_built: dict[str, tuple[AnalyticsLayout, TransformReport | None]] = {}


def built_warehouse(root: Path) -> tuple[AnalyticsLayout, TransformReport | None]:
    """The population's warehouse, built once per session under ``root`` (the first caller's folder)."""
    if "clinic" not in _built:
        layout = AnalyticsLayout.under(root)
        write_parts(layout)
        _built["clinic"] = layout, build(layout)
    return _built["clinic"]


def synthea_warehouse(bundles: Path, root: Path) -> tuple[AnalyticsLayout, TransformReport | None]:
    """The 100 Synthea bundles loaded into a Chronicle and through ``run_etl``, once per session."""
    if "synthea" not in _built:
        database_url = f"sqlite:///{root / 'osler.db'}"
        chronicle = Chronicle.open(database_url)
        loaded = LoadReport()
        load_files_parallel(chronicle, database_url, find_files([bundles]), loaded, jobs=2)
        assert loaded.failures == []
        layout = AnalyticsLayout.under(root)
        try:
            _built["synthea"] = layout, run_etl(chronicle, layout).transform
        finally:
            chronicle.close()
    return _built["synthea"]
