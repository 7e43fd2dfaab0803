"""Check-in: a patient arrives (kiosk or front desk).

Her identity is confirmed against the record (name and birth date), her coverage re-verified when
the last eligibility check is older than ``eligibility_max_age_days``, an outstanding balance on
her guarantor account is flagged (a FHIR ``Flag`` the desk sees) together with the copay due, and
in one transaction the Appointment becomes ``arrived`` and an Encounter is opened with the arrival
time. Two kiosks checking the same appointment in at once: one wins, the other gets 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from osler.apps.registration import (
    EligibilityCheck,
    IdentityCheck,
    check_eligibility,
    copay_for_visit,
    last_eligibility,
    outstanding_balance,
    verify_identity,
)
from osler.apps.registration.payer_port import PayerGateway
from osler.apps.scheduling import Clinic
from osler.apps.scheduling.context import WrongState, instant
from osler.apps.scheduling.visits import AppointmentView
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.config import Settings
from osler.fhir.outcome import Conflict, FhirError, NotFound, VersionConflict

ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                   "display": "ambulatory"}
BALANCE_FLAG = {"system": "http://osler.health/fhir/CodeSystem/front-desk-flag", "code": "outstanding-balance",
                "display": "Outstanding balance"}
FLAG_CATEGORY = {"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "admin",
                 "display": "Administrative"}
PRIMARY_PERFORMER = {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PPRF"}


class AlreadyCheckedIn(Conflict):
    pass


class IdentityNotConfirmed(FhirError):
    status = 403
    code = "security"


@dataclass(frozen=True)
class Identity:
    """What the patient types at the kiosk or tells the desk."""

    family: str
    given: str
    birth_date: date


@dataclass
class CheckInResult:
    appointment: Stored
    encounter: Stored
    identity: IdentityCheck
    eligibility: EligibilityCheck | None
    eligibility_reverified: bool
    balance: Decimal
    copay_due: Decimal | None
    flags: list[Stored] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        """What the desk (or kiosk screen) tells the patient."""
        said = []
        if self.balance > 0:
            said.append(f"You have an outstanding balance of ${self.balance:.2f}.")
        if self.copay_due:
            said.append(f"Your copay for today's visit is ${self.copay_due:.2f}.")
        if self.eligibility is not None and self.eligibility.status not in ("active", "pending"):
            said.append("We could not confirm your insurance; please see the front desk.")
        return said


def _fresh_eligibility(clinic: Clinic, patient_id: str, gateway: PayerGateway, settings: Settings,
                       actor: Actor) -> tuple[EligibilityCheck | None, bool]:
    """The last eligibility check, re-run first when it is missing or older than the configured age."""
    last = last_eligibility(clinic.chronicle, patient_id, actor=actor)
    oldest_allowed = clinic.now() - timedelta(days=settings.eligibility_max_age_days)
    if last is not None and last.checked_at >= oldest_allowed and last.status != "pending":
        return last, False
    try:
        return check_eligibility(clinic.chronicle, patient_id, gateway=gateway, settings=settings, actor=actor), True
    except NotFound:  # no coverage on file: a self-pay visit, not a reason to refuse check-in
        return last, False


def _encounter(view: AppointmentView, moment: str) -> dict[str, Any]:
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "arrived",
        "class": ENCOUNTER_CLASS,
        "subject": {"reference": f"Patient/{view.patient_id}"},
        "appointment": [{"reference": f"Appointment/{view.id}"}],
        "period": {"start": moment},
        "statusHistory": [{"status": "arrived", "period": {"start": moment}}],
    }
    if view.visit_type:
        encounter["serviceType"] = {"text": view.visit_type}
    if view.practitioner_id:
        encounter["participant"] = [{"type": [{"coding": [PRIMARY_PERFORMER]}],
                                     "individual": {"reference": f"Practitioner/{view.practitioner_id}"}}]
    return encounter


def _balance_flag(patient_id: str, balance: Decimal, moment: str) -> dict[str, Any]:
    return {"resourceType": "Flag", "status": "active", "category": [{"coding": [FLAG_CATEGORY]}],
            "code": {"coding": [BALANCE_FLAG], "text": f"Outstanding balance ${balance:.2f}"},
            "subject": {"reference": f"Patient/{patient_id}"}, "period": {"start": moment},
            "encounter": {"reference": "urn:uuid:encounter"}}


def check_in(clinic: Clinic, appointment_id: str, identity: Identity, *, gateway: PayerGateway,
             settings: Settings, copay_kind: str = "gpvisit", actor: Actor = SYSTEM) -> CheckInResult:
    """Check the patient of ``appointment_id`` in; see the module docstring for what that does."""
    chronicle = clinic.chronicle
    current = chronicle.read("Appointment", appointment_id, actor=actor)
    view = AppointmentView.of(current)
    if view.status in ("arrived", "checked-in", "fulfilled"):
        raise AlreadyCheckedIn(f"Appointment/{appointment_id} is already checked in ({view.status})")
    if view.status != "booked":
        raise WrongState(f"Appointment/{appointment_id} is {view.status}: only a booked visit can be checked in")
    if view.start is None or clinic.local_day(view.start) != clinic.today():
        day = clinic.local_day(view.start) if view.start else "no date"
        raise WrongState(f"Appointment/{appointment_id} is on {day}, not today: it cannot be checked in now")
    if view.patient_id is None:
        raise WrongState(f"Appointment/{appointment_id} has no patient")
    confirmed = verify_identity(chronicle, view.patient_id, family=identity.family, given=identity.given,
                                birth_date=identity.birth_date, actor=actor)
    if not confirmed.verified:
        raise IdentityNotConfirmed("we could not confirm who you are from your name and birth date; "
                                   "please see the front desk")
    eligibility, reverified = _fresh_eligibility(clinic, view.patient_id, gateway, settings, actor)
    balance = outstanding_balance(chronicle, view.patient_id, actor=actor)
    copay = copay_for_visit(chronicle, view.patient_id, copay_kind, actor=actor)

    moment = instant(clinic.now())
    entries = [
        {"resource": {**current.resource, "status": "arrived"},
         "request": {"method": "PUT", "url": f"Appointment/{appointment_id}", "ifMatch": current.etag}},
        {"fullUrl": "urn:uuid:encounter", "resource": _encounter(view, moment),
         "request": {"method": "POST", "url": "Encounter"}},
    ]
    if balance > 0:
        entries.append({"resource": _balance_flag(view.patient_id, balance, moment),
                        "request": {"method": "POST", "url": "Flag"}})
    try:
        results = chronicle.transact(entries, actor=actor)
    except VersionConflict:
        raise AlreadyCheckedIn(f"Appointment/{appointment_id} was checked in or changed meanwhile") from None
    appointment, encounter, *flags = [result.stored for result in results if result.stored is not None]
    return CheckInResult(appointment=appointment, encounter=encounter, identity=confirmed, eligibility=eligibility,
                         eligibility_reverified=reverified, balance=balance, copay_due=copay, flags=flags)
