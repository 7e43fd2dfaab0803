"""EpicCare Ambulatory (charting): reading back what was documented in an encounter (the chart review).

One call gathers the encounter's vitals, diagnoses (in rank order), notes, orders, level of service and
after-visit summaries, with the patient's current problem list, allergies and medication list — what
the chart shows a clinician and what the after-visit summary prints. Read only: a handful of searches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.level_of_service import level_of_service
from osler.apps.clinic import Clinic
from osler.chronicle.records import SYSTEM, Actor, Stored

SUMMARY_TYPE = "34133-9"  # LOINC Summary of episode note: the after-visit summary's document type
ORDER_TYPES = ("ServiceRequest", "MedicationRequest", "DeviceRequest")
MANY = ("_count", "500")


@dataclass
class Chart:
    encounter: Stored
    vitals: list[Stored] = field(default_factory=list)
    diagnoses: list[Stored] = field(default_factory=list)
    problems: list[Stored] = field(default_factory=list)
    allergies: list[Stored] = field(default_factory=list)
    medications: list[Stored] = field(default_factory=list)
    notes: list[Stored] = field(default_factory=list)
    orders: list[Stored] = field(default_factory=list)
    level_of_service: Stored | None = None
    summaries: list[Stored] = field(default_factory=list)

    @property
    def patient_id(self) -> str | None:
        return v.reference_id(self.encounter.resource.get("subject"), "Patient")

    def as_json(self) -> dict[str, Any]:
        def resources(items: list[Stored]) -> list[dict[str, Any]]:
            return [item.resource for item in items]

        return {"encounter": self.encounter.resource, "vitals": resources(self.vitals),
                "diagnoses": resources(self.diagnoses), "problems": resources(self.problems),
                "allergies": resources(self.allergies), "medications": resources(self.medications),
                "notes": resources(self.notes), "orders": resources(self.orders),
                "level_of_service": self.level_of_service.resource if self.level_of_service else None,
                "summaries": resources(self.summaries)}


def read_chart(clinic: Clinic, encounter_id: str, *, actor: Actor = SYSTEM) -> Chart:
    """What was documented in the encounter, and the patient's current lists."""
    chronicle = clinic.chronicle
    chart = Chart(chronicle.read("Encounter", encounter_id, actor=actor))
    patient = f"Patient/{chart.patient_id}"
    of_encounter = ("encounter", f"Encounter/{encounter_id}")

    def search(res_type: str, *params: tuple[str, str]) -> list[Stored]:
        return chronicle.search(res_type, [*params, MANY], actor=actor).matches

    chart.vitals = search("Observation", of_encounter, ("category", "vital-signs"))
    ranks = {entry["condition"].get("reference"): entry.get("rank", 99)
             for entry in chart.encounter.resource.get("diagnosis") or []}
    diagnoses = search("Condition", of_encounter, ("category", "encounter-diagnosis"))
    chart.diagnoses = sorted((c for c in diagnoses if f"Condition/{c.res_id}" in ranks),
                             key=lambda c: ranks[f"Condition/{c.res_id}"])
    chart.problems = search("Condition", ("patient", patient), ("category", "problem-list-item"),
                            ("clinical-status", "active,recurrence,relapse"))
    chart.allergies = search("AllergyIntolerance", ("patient", patient), ("clinical-status", "active"))
    chart.medications = search("MedicationStatement", ("patient", patient), ("status", "active"))
    documents = search("DocumentReference", of_encounter, ("status", "current"))
    chart.summaries = [d for d in documents if is_summary(d.resource)]
    chart.notes = [d for d in documents if not is_summary(d.resource)]
    chart.orders = [order for res_type in ORDER_TYPES for order in search(res_type, of_encounter)]
    chart.level_of_service = level_of_service(clinic, encounter_id, actor=actor)
    return chart


def is_summary(document: dict[str, Any]) -> bool:
    return v.first_code(document.get("type"), terminology.LOINC) == SUMMARY_TYPE
