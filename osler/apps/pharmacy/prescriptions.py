"""Willow: reading what the pharmacy works from — the prescription (``MedicationRequest``), its fill
Tasks and dispenses, and the patient's allergies and other medications. Reads only.

A prescription Willow can act on is an active order (``status`` active, ``intent`` order) sent to a
pharmacy (``dispenseRequest.performer``). Anything else is refused here, before any write: an unknown
id is 404, a cancelled, stopped or completed prescription 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from osler.apps.clinic import Clinic, parse_instant
from osler.apps.pharmacy import vocabulary as v
from osler.apps.pharmacy.errors import UnknownReference, WrongState
from osler.apps.pharmacy.formulary import Drug, formulary
from osler.apps.terminology import RXNORM
from osler.chronicle.records import Actor, Stored
from osler.fhir.outcome import NotFound

ALL = "1000"  # one page: a prescription's fills, a patient's allergies and medications are few
DISPENSE_COUNTED = "preparation,in-progress,completed,on-hold"
ACTIVE_STATEMENT = "active,intended"


@dataclass(frozen=True)
class Prescription:
    stored: Stored

    @property
    def id(self) -> str:
        return self.stored.res_id

    @property
    def resource(self) -> dict[str, Any]:
        return self.stored.resource

    @property
    def reference(self) -> str:
        return f"MedicationRequest/{self.id}"

    @property
    def patient(self) -> str:
        return self.resource["subject"]["reference"]

    @property
    def prescriber(self) -> str | None:
        return (self.resource.get("requester") or {}).get("reference")

    @property
    def pharmacy(self) -> str | None:
        return ((self.resource.get("dispenseRequest") or {}).get("performer") or {}).get("reference")

    @cached_property
    def drug_code(self) -> str | None:
        codes = medication_codes(self.resource)
        return codes[0] if codes else None

    @property
    def drug(self) -> Drug | None:
        return formulary().drug(self.drug_code) if self.drug_code else None

    @property
    def display(self) -> str:
        concept = self.resource.get("medicationCodeableConcept") or {}
        codings = concept.get("coding") or [{}]
        return concept.get("text") or codings[0].get("display") or "the prescribed medication"

    @property
    def fill_quantity(self) -> dict[str, Any] | None:
        return (self.resource.get("dispenseRequest") or {}).get("quantity")

    @property
    def refills_allowed(self) -> int:
        return int((self.resource.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed") or 0)

    def per_fill(self) -> Decimal | None:
        """One fill's quantity (None when the prescription states none)."""
        value = (self.fill_quantity or {}).get("value")
        return v.decimal(value) if value is not None else None

    def authorized_total(self) -> Decimal | None:
        """quantity * (1 + refills): everything the prescription allows dispensing over its life."""
        per_fill = self.per_fill()
        return per_fill * (1 + self.refills_allowed) if per_fill is not None else None

    def expired(self, clinic: Clinic) -> bool:
        end = ((self.resource.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("end")
        return end is not None and parse_instant(end if "T" in end else f"{end}T23:59:59Z") < clinic.now()


def load_prescription(clinic: Clinic, medication_request_id: str, *, actor: Actor,
                      require_active: bool = True) -> Prescription:
    """The prescription; 404 when unknown, 409 when it is not an active order (cancelled, stopped…)."""
    stored = clinic.chronicle.read("MedicationRequest", medication_request_id, actor=actor)
    prescription = Prescription(stored)
    status, intent = stored.resource.get("status"), stored.resource.get("intent")
    if require_active and status != "active":
        raise WrongState(f"MedicationRequest/{medication_request_id} is {status}: the pharmacy cannot act on it")
    if intent not in ("order", "original-order", "instance-order", "filler-order"):
        raise WrongState(f"MedicationRequest/{medication_request_id} is a {intent}, not an order to fill")
    if prescription.pharmacy is None or not prescription.pharmacy.startswith("Organization/"):
        raise WrongState(f"MedicationRequest/{medication_request_id} was not sent to a pharmacy "
                         "(dispenseRequest.performer)")
    return prescription


def medication_codes(resource: dict[str, Any]) -> list[str]:
    """The RxNorm codes of a MedicationRequest or MedicationStatement (its concept or contained Medication)."""
    concept = resource.get("medicationCodeableConcept")
    if concept is None:
        target = (resource.get("medicationReference") or {}).get("reference", "")
        contained = {f"#{item.get('id')}": item for item in resource.get("contained") or []}
        concept = (contained.get(target) or {}).get("code") or {}
    return [c["code"] for c in concept.get("coding") or [] if c.get("system") == RXNORM and c.get("code")]


def fill_tasks(clinic: Clinic, prescription: Prescription, *, actor: Actor) -> list[Stored]:
    """The prescription's fill Tasks, oldest first."""
    page = clinic.chronicle.search("Task", [("focus", prescription.reference), ("code", f"{v.TASK_CODE}|{v.FILL}"),
                                            ("_sort", "authored-on"), ("_count", ALL)], actor=actor)
    return page.matches


def open_fill(tasks: list[Stored]) -> Stored | None:
    return next((t for t in tasks if t.resource.get("status") in v.OPEN_TASK_STATUSES), None)


def current_fill(clinic: Clinic, prescription: Prescription, *, actor: Actor) -> tuple[Stored | None, int]:
    """The open fill Task (None when no fill is under way) and how many fills were started before it."""
    tasks = fill_tasks(clinic, prescription, actor=actor)
    task = open_fill(tasks)
    return task, len([t for t in tasks if t is not task and t.resource.get("status") != "cancelled"])


def dispensed(clinic: Clinic, prescription: Prescription, *, actor: Actor) -> Decimal:
    """How much has been dispensed against the prescription so far (every fill, not cancelled ones)."""
    page = clinic.chronicle.search("MedicationDispense", [("prescription", prescription.reference),
                                                          ("status", DISPENSE_COUNTED), ("_count", ALL)], actor=actor)
    return sum((v.decimal((d.resource.get("quantity") or {}).get("value", 0)) for d in page.matches), Decimal(0))


def active_allergies(clinic: Clinic, patient: str, *, actor: Actor) -> list[Stored]:
    """The patient's allergies and intolerances that count: not resolved, refuted or entered in error."""
    page = clinic.chronicle.search("AllergyIntolerance", [("patient", patient), ("_count", ALL)], actor=actor)
    return [a for a in page.matches if _codes_of(a.resource.get("clinicalStatus")) <= {"active"}
            and not _codes_of(a.resource.get("verificationStatus")) & {"refuted", "entered-in-error"}]


def active_medications(clinic: Clinic, prescription: Prescription, *, actor: Actor) -> list[Stored]:
    """The patient's other active prescriptions and medication-list entries; the prescription itself, the
    ones it renews (``priorPrescription``) and list entries recorded from them are left out."""
    own = {prescription.reference}
    prior = (prescription.resource.get("priorPrescription") or {}).get("reference")
    if prior:
        own.add(prior)
    requests = clinic.chronicle.search("MedicationRequest", [("patient", prescription.patient),
                                                             ("status", "active"), ("_count", ALL)], actor=actor)
    statements = clinic.chronicle.search("MedicationStatement", [("patient", prescription.patient),
                                                                 ("status", ACTIVE_STATEMENT), ("_count", ALL)],
                                         actor=actor)
    return [m for m in requests.matches + statements.matches
            if f"{m.res_type}/{m.res_id}" not in own and not own & _sources(m.resource)]


def require_party(clinic: Clinic, target: str, allowed: tuple[str, ...], *, what: str, actor: Actor) -> Stored:
    """The resource ``Type/id`` names, of one of the ``allowed`` types; 422 when it is not one."""
    res_type, _, res_id = target.partition("/")
    if res_type not in allowed or not res_id:
        raise UnknownReference(f"the {what} must be one of {', '.join(allowed)} as Type/id, not {target!r}")
    try:
        return clinic.chronicle.read(res_type, res_id, actor=actor)
    except NotFound:
        raise UnknownReference(f"the {what} {target} is not known") from None


def _codes_of(concept: dict[str, Any] | None) -> set[str]:
    return {c.get("code") for c in (concept or {}).get("coding") or []}


def _sources(statement: dict[str, Any]) -> set[str]:
    refs = (statement.get("basedOn") or []) + (statement.get("derivedFrom") or [])
    return {r.get("reference") for r in refs if r.get("reference")}
