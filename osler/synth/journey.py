"""Sarah's journey: the scripted story of one patient through Osler, checked at every step.

Front office (this module; the visit is in ``visit``, the story's order in ``chapters``): the clinic
is set up; Sarah registers (and a second registration at another desk finds her instead of creating
a duplicate), her insurance is confirmed with the payer, she books an annual physical with her doctor
and a free exam room, and checks in at the kiosk, where she is told about an outstanding balance and
her copay; then she is roomed.

The story runs on its own clock — the next weekday at 08:00 in the clinic's zone — so it plays the
same on any day and at any hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from osler.apps import checkin
from osler.apps import registration as prelude
from osler.apps import scheduling as cadence
from osler.apps.registration.payer_port import PayerGateway
from osler.apps.scheduling.context import parse_instant
from osler.chronicle.records import Actor
from osler.chronicle.store import Chronicle
from osler.config import Settings
from osler.synth.steps import Step, StepResult, expect

FRONT_DESK = Actor("desk.olsen", "registration")
SCHEDULER = Actor("sched.ruiz", "scheduling")
KIOSK = Actor("kiosk-1", "check-in")
MA = Actor("ma.baker", "treatment")
SARAH = {"family": "Lopez", "given": "Sarah", "birth_date": "1984-03-12", "sex": "female",
         "phone": "(555) 210-4477", "email": "sarah.lopez@example.org",
         "address": {"line": ["41 Linden Avenue"], "city": "Springfield", "state": "MA", "postal_code": "01103"},
         "ssn_last_four": "4821"}
PRIOR_BALANCE = Decimal("45.00")


class StoryClock:
    """A clock the story moves forward by hand, starting at a weekday 08:00 in the clinic's zone."""

    def __init__(self, zone: ZoneInfo, today: date) -> None:
        day = today + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        self.now = datetime.combine(day, time(8, 0), tzinfo=zone).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)


def department_setup() -> cadence.DepartmentSetup:
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    return cadence.DepartmentSetup.model_validate({
        "code": "fammed", "name": "Family Medicine", "slot_minutes": 15,
        "hours": [{"days": weekdays, "start": "08:00", "end": "17:00"}],
        "providers": [
            {"code": "1245319599", "family": "Grey", "given": ["Meredith"],
             "hours": [{"days": weekdays, "start": "08:30", "end": "12:00"},
                       {"days": weekdays, "start": "13:00", "end": "16:30"}]},
            {"code": "1679576722", "family": "Shepherd", "given": ["Derek"],
             "hours": [{"days": weekdays, "start": "09:00", "end": "16:00"}]},
        ],
        "rooms": [{"code": "exam-1", "name": "Exam 1"}, {"code": "exam-2", "name": "Exam 2"}],
        "visit_types": [{"code": "annual-physical", "name": "Annual physical", "minutes": 30,
                         "patient_bookable": True},
                        {"code": "sick-visit", "name": "Sick visit", "minutes": 15, "patient_bookable": True}],
    })


def front_office_steps(chronicle: Chronicle, settings: Settings, gateway: PayerGateway,
                       clock: StoryClock) -> list[Step]:
    clinic = cadence.Clinic(chronicle, ZoneInfo(settings.clinic_timezone), clock)

    def set_up_clinic(state: dict[str, Any]) -> StepResult:
        view = cadence.set_up_department(clinic, department_setup(), actor=SCHEDULER)
        day = clinic.today()
        horizon = cadence.SlotGeneration(start=day, end=day + timedelta(days=13))
        report = cadence.generate_slots(clinic, view.id, horizon, actor=SCHEDULER)
        doctor = next(s for s in view.of_kind("provider") if s.code == "1245319599")
        state.update(department=view.id, doctor_role=doctor.actor_id, doctor=doctor.practitioner_id)
        expect(report.created > 0, "no slots were generated for the clinic")
        records = [chronicle.read("Organization", view.id), chronicle.read("PractitionerRole", doctor.actor_id)]
        return StepResult(f"Family Medicine with Dr. Grey, Dr. Shepherd and 2 exam rooms; {report.created} slots "
                          f"over two weeks from {day}", records)

    def register(state: dict[str, Any]) -> StepResult:
        result = prelude.register_patient(chronicle, prelude.PatientForm.model_validate(SARAH), settings=settings,
                                          actor=FRONT_DESK)
        expect(result.outcome == "created", f"Sarah should be a new patient, registration said {result.outcome}")
        expect(result.mrn, "Sarah got no MRN")
        state.update(patient=result.patient.res_id, mrn=result.mrn)
        return StepResult(f"Sarah Lopez registered with MRN {result.mrn}", [result.patient])

    def register_again(state: dict[str, Any]) -> StepResult:
        again = {**SARAH, "given": "Sara", "phone": "555-210-4477"}  # a typo at another desk
        result = prelude.register_patient(chronicle, prelude.PatientForm.model_validate(again), settings=settings,
                                          actor=FRONT_DESK)
        expect(result.outcome == "existing" and result.patient.res_id == state["patient"],
               f"a second registration of Sarah must find her, not create a record (said {result.outcome})")
        return StepResult("a second desk typing \"Sara\" found her existing record — no duplicate", [])

    def insurance(state: dict[str, Any]) -> StepResult:
        form = prelude.CoverageForm.model_validate({"payer_id": "acme-health", "member_id": "ACM100200555",
                                                    "plan": "acme-ppo-gold", "plan_name": "Acme PPO Gold",
                                                    "relationship": "self", "start": "2022-01-01"})
        added = prelude.add_coverage(chronicle, state["patient"], form, actor=FRONT_DESK)
        check = prelude.check_eligibility(chronicle, state["patient"], gateway=gateway, settings=settings,
                                          actor=FRONT_DESK)
        expect(check.status == "active", f"Acme should confirm Sarah's coverage, it said {check.status}")
        prelude.post_to_account(chronicle, state["patient"], PRIOR_BALANCE, kind="charge", actor=FRONT_DESK)
        records = [added.coverage, chronicle.read("CoverageEligibilityRequest", check.request_id)]
        if check.response_id:
            records.append(chronicle.read("CoverageEligibilityResponse", check.response_id))
        return StepResult(f"Acme PPO Gold active, copay ${check.copays.get('gpvisit', Decimal(0)):.2f}; "
                          f"${PRIOR_BALANCE} left from a past visit on her account", records)

    def book(state: dict[str, Any]) -> StepResult:
        options = cadence.find_availability(clinic, state["department"], "annual-physical", clinic.today(),
                                            clinic.today(), provider_role=state["doctor_role"], limit=5,
                                            actor=SCHEDULER)
        expect(options, "Dr. Grey has no free time today for an annual physical")
        chosen = options[0]
        appointment = cadence.book_appointment(clinic, cadence.BookingRequest(
            patient=state["patient"], visit_type="annual-physical", slot=chosen.slot), actor=SCHEDULER)
        view = cadence.AppointmentView.of(appointment)
        expect(view.status == "booked", f"the appointment should be booked, it is {view.status}")
        expect(view.room_id, "the appointment took no exam room")
        state.update(appointment=appointment.res_id, room=view.room_id, start=view.start)
        local = view.start.astimezone(clinic.zone) if view.start else None
        return StepResult(f"annual physical with Dr. Grey at {local:%H:%M} in {view.room_name}", [appointment])

    def kiosk(state: dict[str, Any]) -> StepResult:
        clock.now = state["start"] - timedelta(minutes=10)
        result = checkin.check_in(clinic, state["appointment"], checkin.Identity("Lopez", "Sarah", date(1984, 3, 12)),
                                  gateway=gateway, settings=settings, actor=KIOSK)
        expect(result.encounter.resource["status"] == "arrived", "no Encounter was opened at arrival")
        expect(result.balance == PRIOR_BALANCE, f"the kiosk should see ${PRIOR_BALANCE} owed, saw {result.balance}")
        expect(result.flags, "the outstanding balance was not flagged for the desk")
        expect(any("outstanding balance" in m for m in result.messages), "Sarah was not told about her balance")
        state["encounter"] = result.encounter.res_id
        return StepResult("checked in; the kiosk said: " + " ".join(result.messages),
                          [result.appointment, result.encounter, *result.flags])

    def roomed(state: dict[str, Any]) -> StepResult:
        clock.advance(12)
        stored = checkin.room_patient(clinic, state["encounter"], state["room"], actor=MA)
        times = checkin.milestones(stored.resource)
        expect(times["arrived"] and times["roomed"], "arrival and rooming times are not on the Encounter")

        def local(moment: str | None) -> str:
            return f"{parse_instant(moment or '').astimezone(clinic.zone):%H:%M}"

        return StepResult(f"arrived {local(times['arrived'])}, roomed {local(times['roomed'])} in the clinic's time",
                          [stored])

    return [Step("The clinic opens its schedule", set_up_clinic), Step("Sarah registers", register),
            Step("Another desk registers her again", register_again),
            Step("Her insurance is confirmed", insurance), Step("She books an annual physical", book),
            Step("She checks in at the kiosk", kiosk), Step("She is roomed", roomed)]

