"""Prelude: registering a patient — MRN, demographics, contacts, address — without a second record for a
known person; and finding or verifying a registered patient (what check-in needs).

``register_patient`` scores the registration against candidates from the search index
(``candidates.match_patients``) before writing anything:

* a *certain* match (see ``matching``) → the existing patient is returned, nothing is written;
* *probable* matches → the patient is created together with one possible-duplicate work item per
  match (``duplicates``), so staff decide;
* otherwise → the patient is created.

The Patient, its guarantor Account and the work items are written in one transaction: all or
nothing. The MRN is unique through a conditional create on it; should a freshly drawn MRN already be
taken, the transaction is rolled back (checked inside it) and another MRN is drawn.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import Connection

from osler.apps.registration.accounts import account_resource
from osler.apps.registration.candidates import PatientMatch, match_patients
from osler.apps.registration.codes import SSN_LAST4_SYSTEM, V2_CONTACT_ROLE, V2_IDENTIFIER_TYPE, concept
from osler.apps.registration.duplicates import duplicate_review_task
from osler.apps.registration.forms import ContactForm, PatientForm
from osler.apps.registration.matching import DEFAULT_THRESHOLDS, Thresholds, compare, person_of
from osler.apps.registration.mrn import new_mrn
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.chronicle.transactions import EntryResult
from osler.config import Settings
from osler.fhir.outcome import Conflict
from osler.fhir.validation import validate_resource

MRN_ATTEMPTS = 5
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONTACT_ROLES = {"emergency": (V2_CONTACT_ROLE, "C", "Emergency Contact"),
                 "next-of-kin": (V2_CONTACT_ROLE, "N", "Next-of-Kin"),
                 "guardian": (V3_ROLE_CODE, "GUARD", "guardian"),
                 "other": (V2_CONTACT_ROLE, "O", "Other")}

Outcome = Literal["created", "possible-duplicate", "existing"]


@dataclass(frozen=True)
class Registration:
    """What registration did: created a patient (maybe with work items) or found the existing one."""

    outcome: Outcome
    patient: Stored
    mrn: str | None
    matches: list[PatientMatch] = field(default_factory=list)  # candidates at probable or better
    work_items: list[Stored] = field(default_factory=list)  # possible-duplicate Tasks opened
    account: Stored | None = None  # the guarantor account opened with a new patient


@dataclass(frozen=True)
class IdentityCheck:
    """Whether the person in front of the desk is the patient on record (name and birth date)."""

    verified: bool
    score: float
    mismatched: list[str]  # fields that did not agree exactly: family, given, birth_date


def _contact(contact: ContactForm) -> dict[str, Any]:
    system, code, display = CONTACT_ROLES[contact.role]
    relationship = [concept(system, code, display)]
    if contact.relation:
        relationship.append({"text": contact.relation})
    return {"relationship": relationship, "name": {"family": contact.family, "given": [contact.given]},
            "telecom": [{"system": "phone", "value": contact.phone}]}


def patient_resource(form: PatientForm, *, mrn: str, mrn_system: str) -> dict[str, Any]:
    """The FHIR Patient a registration form describes."""
    identifiers: list[dict[str, Any]] = [{"use": "usual", "type": concept(V2_IDENTIFIER_TYPE, "MR",
                                                                          "Medical record number"),
                                          "system": mrn_system, "value": mrn}]
    if form.ssn_last_four:
        identifiers.append({"use": "secondary", "system": SSN_LAST4_SYSTEM, "value": form.ssn_last_four})
    telecom = [{"system": "phone", "value": number, "use": use}
               for number, use in ((form.phone, "home"), (form.mobile_phone, "mobile")) if number]
    if form.email:
        telecom.append({"system": "email", "value": form.email})
    patient: dict[str, Any] = {
        "resourceType": "Patient", "identifier": identifiers, "active": True,
        "name": [{"use": "official", "family": form.family,
                  "given": [form.given, *([form.middle] if form.middle else [])]}],
        "gender": form.sex, "birthDate": form.birth_date.isoformat()}
    if telecom:
        patient["telecom"] = telecom
    if form.address:
        address = form.address
        patient["address"] = [{"use": address.use, "line": address.line, "city": address.city,
                               "state": address.state.upper(), "postalCode": address.postal_code, "country": "US"}]
    if form.contacts:
        patient["contact"] = [_contact(contact) for contact in form.contacts]
    return patient


def mrn_of(patient: dict[str, Any], mrn_system: str) -> str | None:
    return next((i.get("value") for i in patient.get("identifier") or [] if i.get("system") == mrn_system), None)


class _MrnTaken(Exception):
    """The drawn MRN belongs to someone else: roll the registration transaction back and draw again."""


def _create_all(chronicle: Chronicle, patient: dict[str, Any], review: list[PatientMatch], mrn_system: str,
                actor: Actor) -> tuple[str, list[EntryResult]]:
    for _ in range(MRN_ATTEMPTS):
        mrn = new_mrn()
        draft = {**patient, "identifier": [{**patient["identifier"][0], "value": mrn}, *patient["identifier"][1:]]}
        criteria = urlencode({"identifier": f"{mrn_system}|{mrn}"})
        patient_urn = f"urn:uuid:{uuid.uuid4()}"
        entries = [{"fullUrl": patient_urn, "resource": draft,
                    "request": {"method": "POST", "url": "Patient", "ifNoneExist": criteria}},
                   {"resource": account_resource(patient_urn), "request": {"method": "POST", "url": "Account"}}]
        entries += [{"resource": duplicate_review_task(patient_urn, match),
                     "request": {"method": "POST", "url": "Task"}} for match in review]

        def ours_was_created(conn: Connection, criteria: str = criteria, draft: dict[str, Any] = draft) -> None:
            # ifNoneExist hands back the MRN's existing owner instead of creating: then the account and
            # work items would hang off a stranger, so undo everything.
            holder = chronicle.conditional_match(conn, "Patient", criteria)
            if holder is None or {k: v for k, v in holder.resource.items() if k not in ("id", "meta")} != draft:
                raise _MrnTaken

        try:
            results = chronicle.transact(entries, actor=actor, also_in_transaction=ours_was_created)
        except _MrnTaken:
            continue
        return mrn, results
    raise Conflict("could not draw an unused MRN; try again")


def register_patient(chronicle: Chronicle, form: PatientForm, *, settings: Settings, actor: Actor = SYSTEM,
                     thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Registration:
    """Register a patient unless they are already known; see the module docstring for the rules."""
    draft = patient_resource(form, mrn="0", mrn_system=settings.mrn_system)
    validate_resource(draft)  # fail before searching, not in the middle of the transaction
    matches = match_patients(chronicle, draft, actor=actor, thresholds=thresholds, minimum_grade="probable")
    if matches and matches[0].grade == "certain":
        best = matches[0]
        return Registration("existing", best.stored, mrn_of(best.stored.resource, settings.mrn_system), matches)
    review = [m for m in matches if m.score >= thresholds.review]
    mrn, results = _create_all(chronicle, draft, review, settings.mrn_system, actor)
    patient, account, tasks = results[0].stored, results[1].stored, [r.stored for r in results[2:]]
    assert patient is not None
    return Registration("possible-duplicate" if tasks else "created", patient, mrn, matches,
                        [t for t in tasks if t is not None], account)


def find_patient_by_mrn(chronicle: Chronicle, mrn: str, *, settings: Settings, actor: Actor = SYSTEM) -> Stored | None:
    page = chronicle.search("Patient", [("identifier", f"{settings.mrn_system}|{mrn}")], actor=actor)
    return page.matches[0] if page.matches else None


def search_patients(chronicle: Chronicle, *, family: str, given: str, birth_date: date | None = None,
                    phone: str | None = None, actor: Actor = SYSTEM, minimum_grade: str = "possible",
                    count: int = 10) -> list[PatientMatch]:
    """Patients like the one described (a kiosk or front-desk lookup), best first."""
    wanted: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}]}
    if birth_date:
        wanted["birthDate"] = birth_date.isoformat()
    if phone:
        wanted["telecom"] = [{"system": "phone", "value": phone}]
    return match_patients(chronicle, wanted, actor=actor, minimum_grade=minimum_grade, count=count)


def verify_identity(chronicle: Chronicle, patient_id: str, *, family: str, given: str, birth_date: date,
                    actor: Actor = SYSTEM) -> IdentityCheck:
    """The two-identifier check (name and birth date) against the record; NotFound for an unknown patient.

    Verified when the birth date is exact and both names agree allowing a typo or a nickname.
    """
    stored = chronicle.read("Patient", patient_id, actor=actor)
    claimed = person_of({"name": [{"family": family, "given": [given]}], "birthDate": birth_date.isoformat()})
    comparison = compare(claimed, person_of(stored.resource))
    similarities = comparison.similarities
    mismatched = [name for name in ("family", "given", "birth_date") if similarities.get(name, 0.0) < 1.0]
    verified = (similarities.get("birth_date") == 1.0 and similarities.get("family", 0.0) >= 0.9
                and similarities.get("given", 0.0) >= 0.9)
    return IdentityCheck(verified, comparison.score, mismatched)
