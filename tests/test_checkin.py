"""Check-in: arrival (identity, eligibility, balance, copay, Encounter) and the visit's clock, on both
databases; the kiosk endpoint over HTTP; the journey end to end."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from osler.apps import checkin
from osler.apps import registration as prelude
from osler.apps import scheduling as cadence
from osler.chronicle.store import Chronicle
from osler.config import Settings, load_settings
from osler.fhir.outcome import Conflict, FhirError, NotFound
from osler.interfaces.fhir_api import create_app
from osler.interfaces.payers.simulator import PayerSimulator
from osler.synth.journey import SARAH, StoryClock, department_setup

SARAH_ID = checkin.Identity("Lopez", "Sarah", date(1984, 3, 12))


@dataclass
class Visit:
    clinic: cadence.Clinic
    clock: StoryClock
    settings: Settings
    gateway: PayerSimulator
    patient: str
    appointment: str
    room: str
    doctor: str


def book_sarah(chronicle: Chronicle, settings: Settings) -> Visit:
    clock = StoryClock(ZoneInfo(settings.clinic_timezone), date.today())
    clinic = cadence.Clinic(chronicle, ZoneInfo(settings.clinic_timezone), clock)
    gateway = PayerSimulator.from_file(None)
    view = cadence.set_up_department(clinic, department_setup())
    cadence.generate_slots(clinic, view.id, cadence.SlotGeneration(start=clinic.today(), end=clinic.today()))
    patient = prelude.register_patient(chronicle, prelude.PatientForm.model_validate(SARAH), settings=settings).patient
    prelude.add_coverage(chronicle, patient.res_id, prelude.CoverageForm.model_validate(
        {"payer_id": "acme-health", "member_id": "ACM100200555", "plan": "acme-ppo-gold", "relationship": "self"}))
    doctor = next(s for s in view.of_kind("provider") if s.code == "1245319599")
    option = cadence.find_availability(clinic, view.id, "annual-physical", clinic.today(), clinic.today(),
                                       provider_role=doctor.actor_id, limit=1)[0]
    appointment = cadence.book_appointment(clinic, cadence.BookingRequest(
        patient=patient.res_id, visit_type="annual-physical", slot=option.slot))
    visit = cadence.AppointmentView.of(appointment)
    clock.now = option.start - timedelta(minutes=10)
    assert visit.room_id and doctor.practitioner_id
    return Visit(clinic, clock, settings, gateway, patient.res_id, appointment.res_id, visit.room_id,
                 doctor.practitioner_id)


@pytest.fixture
def visit(db_url: str, tmp_path: Path) -> Iterator[Visit]:
    settings = load_settings(home=tmp_path, database_url=db_url, background_reactions=0)
    chronicle = Chronicle.from_settings(settings)
    yield book_sarah(chronicle, settings)
    chronicle.close()


def arrive(visit: Visit, identity: checkin.Identity = SARAH_ID) -> checkin.CheckInResult:
    return checkin.check_in(visit.clinic, visit.appointment, identity, gateway=visit.gateway, settings=visit.settings)


def count(chronicle: Chronicle, res_type: str) -> int:
    return chronicle.search(res_type, [("_summary", "count")]).total or 0


def test_check_in_flags_the_balance_and_opens_the_encounter(visit: Visit) -> None:
    prelude.post_to_account(visit.clinic.chronicle, visit.patient, Decimal("45.00"), kind="charge")
    result = arrive(visit)
    assert result.appointment.resource["status"] == "arrived"
    encounter = result.encounter.resource
    assert encounter["status"] == "arrived"
    assert encounter["appointment"][0]["reference"] == f"Appointment/{visit.appointment}"
    assert encounter["subject"]["reference"] == f"Patient/{visit.patient}"
    assert checkin.milestones(encounter)["arrived"] == cadence.context.instant(visit.clock.now)
    assert result.balance == Decimal("45.00") and result.copay_due == Decimal("25.00")
    assert len(result.flags) == 1 and result.flags[0].resource["code"]["coding"][0]["code"] == "outstanding-balance"
    assert result.eligibility is not None and result.eligibility.status == "active" and result.eligibility_reverified
    assert result.messages == ["You have an outstanding balance of $45.00.", "Your copay for today's visit is $25.00."]


def test_no_balance_no_flag_and_a_fresh_check_is_not_repeated(visit: Visit) -> None:
    prelude.check_eligibility(visit.clinic.chronicle, visit.patient, gateway=visit.gateway, settings=visit.settings)
    result = arrive(visit)
    assert result.flags == [] and result.balance == 0
    assert not result.eligibility_reverified


def test_double_check_in_is_409_even_when_simultaneous(visit: Visit) -> None:
    outcomes: list[object] = []

    def kiosk() -> None:
        try:
            outcomes.append(arrive(visit))
        except FhirError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=kiosk) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [o for o in outcomes if isinstance(o, checkin.CheckInResult)]
    lost = [o for o in outcomes if isinstance(o, FhirError)]
    assert len(won) == 1 and len(lost) == 3 and all(e.status == 409 for e in lost)
    assert count(visit.clinic.chronicle, "Encounter") == 1


def test_wrong_identity_is_refused_and_writes_nothing(visit: Visit) -> None:
    with pytest.raises(checkin.IdentityNotConfirmed) as refused:
        arrive(visit, checkin.Identity("Lopez", "Sarah", date(1984, 12, 3)))
    assert refused.value.status == 403
    assert visit.clinic.chronicle.read("Appointment", visit.appointment).resource["status"] == "booked"
    assert count(visit.clinic.chronicle, "Encounter") == 0


def test_not_today_and_unknown_appointments_are_refused(visit: Visit) -> None:
    visit.clock.advance(24 * 60)
    with pytest.raises(Conflict, match="not today"):
        arrive(visit)
    with pytest.raises(NotFound):
        checkin.check_in(visit.clinic, "no-such-appointment", SARAH_ID, gateway=visit.gateway,
                         settings=visit.settings)
    assert count(visit.clinic.chronicle, "Encounter") == 0


def test_the_visit_clock_and_its_order(visit: Visit) -> None:
    encounter = arrive(visit).encounter.res_id
    with pytest.raises(NotFound):
        checkin.room_patient(visit.clinic, encounter, "no-such-room")
    visit.clock.advance(5)
    checkin.room_patient(visit.clinic, encounter, visit.room)
    visit.clock.advance(7)
    checkin.mark_seen(visit.clinic, encounter, visit.doctor)
    visit.clock.advance(30)
    finished = checkin.check_out(visit.clinic, encounter)
    times = checkin.milestones(finished.resource)
    assert finished.resource["status"] == "finished"
    stamps = [cadence.context.parse_instant(times[k]) for k in ("arrived", "roomed", "seen", "checked_out")]
    assert [int((b - a).total_seconds() // 60) for a, b in itertools.pairwise(stamps)] == [5, 7, 30]
    with pytest.raises(Conflict):
        checkin.room_patient(visit.clinic, encounter, visit.room)
    with pytest.raises(Conflict, match="already checked out"):
        checkin.check_out(visit.clinic, encounter)


def test_kiosk_over_http(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, database_url=db_url, background_reactions=0)
    chronicle = Chronicle.from_settings(settings)
    visit = book_sarah(chronicle, settings)
    app = create_app(settings, chronicle)
    app.state.payer_gateway = visit.gateway
    # The API's clinic runs on real time: move the appointment to now for the kiosk to find it today.
    moved = chronicle.read("Appointment", visit.appointment).resource
    now = cadence.context.utc_now()
    moved.update(start=cadence.context.instant(now),
                 end=cadence.context.instant(now + timedelta(minutes=35)))
    chronicle.update("Appointment", visit.appointment, moved)
    with TestClient(app, raise_server_exceptions=False) as client:
        wrong = client.post("/api/checkin/kiosk", json={"family": "Lopez", "given": "Sarah",
                                                         "birth_date": "1984-03-13"})
        assert wrong.status_code == 404 and wrong.json()["resourceType"] == "OperationOutcome"
        done = client.post("/api/checkin/kiosk", json={"family": "Lopez", "given": "Sarah",
                                                        "birth_date": "1984-03-12"})
        assert done.status_code == 201, done.text
        body = done.json()
        assert body["appointment"] == visit.appointment and body["copay_due"] == "25.00"
        again = client.post(f"/api/checkin/appointments/{visit.appointment}/arrive",
                            json={"family": "Lopez", "given": "Sarah", "birth_date": "1984-03-12"})
        assert again.status_code == 409
        roomed = client.post(f"/api/checkin/encounters/{body['encounter']}/room", json={"room": visit.room})
        assert roomed.status_code == 200 and roomed.json()["roomed"]
        assert client.post(f"/api/checkin/encounters/{body['encounter']}/room",
                           json={"room": "bad id!"}).status_code == 400
    chronicle.close()


def test_osler_journey_runs_green(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "osler.cli", "journey"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OSLER_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "Sarah's journey went as expected." in done.stderr
    assert "outstanding balance of $45.00" in done.stderr
    for step in ("A migraine is diagnosed", "The lab results her specimens", "The pharmacy fills her prescription",
                 "Sarah reads her portal inbox"):
        assert re.search(rf"✔ \d+\. {step}", done.stderr), f"the journey did not pass: {step}"
    assert "result-released, rx-ready, visit-summary" in done.stderr
