"""Shared set-up for the Cadence tests (no tests here): a small department on a fixed clock.

The department "CARD" works on a 15-minute grid, Monday to Friday 08:00-17:00 (America/New_York):

* P1 and P3 see patients 09:00-12:00 and offer every visit type; P2 09:00-12:00, FU15 and TELE15 only;
* exam rooms R1 and R2, one ECG cart;
* visit types FU15 (15 min, patients may book it), NEW30 (30 min), ECG30 (30 min + the ECG cart),
  TELE15 (15 min, no room).

The clock stands on Monday 2030-03-04 06:00 local (11:00Z); slots are generated for Mon-Wed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from osler.apps.scheduling import (
    Clinic,
    DepartmentSetup,
    DepartmentView,
    SlotGeneration,
    generate_slots,
    set_up_department,
)
from osler.chronicle.records import Actor
from osler.chronicle.store import Chronicle

MONDAY = date(2030, 3, 4)
WEDNESDAY = date(2030, 3, 6)
STAFF = Actor("scheduler@clinic", "TREAT")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def setup_request(**changes: object) -> DepartmentSetup:
    morning = [{"days": WEEKDAYS, "start": "09:00", "end": "12:00"}]
    body: dict = {
        "code": "CARD", "name": "Cardiology", "slot_minutes": 15,
        "hours": [{"days": WEEKDAYS, "start": "08:00", "end": "17:00"}],
        "providers": [
            {"code": "P1", "family": "Osler", "given": ["William"], "hours": morning},
            {"code": "P2", "family": "Halsted", "hours": morning, "visit_types": ["FU15", "TELE15"]},
            {"code": "P3", "family": "Kelly", "hours": morning},
        ],
        "rooms": [{"code": "R1", "name": "Exam 1"}, {"code": "R2", "name": "Exam 2"}],
        "devices": [{"code": "ECG1", "name": "ECG cart", "type": "ecg"}],
        "visit_types": [
            {"code": "FU15", "name": "Follow-up", "minutes": 15, "patient_bookable": True},
            {"code": "NEW30", "name": "New patient", "minutes": 30},
            {"code": "ECG30", "name": "ECG visit", "minutes": 30, "equipment": ["ecg"]},
            {"code": "TELE15", "name": "Video visit", "minutes": 15, "room_type": None, "patient_bookable": True},
        ],
    }
    body.update(changes)
    return DepartmentSetup.model_validate(body)


class Clock:
    """A settable clock for ``Clinic``."""

    def __init__(self, now: datetime) -> None:
        self.moment = now

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class Cadence:
    chronicle: Chronicle
    clinic: Clinic
    clock: Clock
    dept: DepartmentView
    patients: list[str] = field(default_factory=list)

    def role(self, code: str) -> str:
        return next(s.actor_id for s in self.dept.of_kind("provider") if s.code == code)

    def schedule(self, code: str) -> str:
        return next(s.id for s in self.dept.schedules if s.code == code)

    def slot(self, code: str, local: str) -> dict:
        """The Slot of provider/room/device ``code`` starting at ``local`` ("2030-03-04T09:00")."""
        start = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
        found = self.chronicle.search("Slot", [("schedule", f"Schedule/{self.schedule(code)}"),
                                               ("start", start.strftime("%Y-%m-%dT%H:%M:%SZ"))]).matches
        assert len(found) == 1, (code, local, len(found))
        return {"id": found[0].res_id, **found[0].resource}

    def count(self, res_type: str, *params: tuple[str, str]) -> int:
        return self.chronicle.search(res_type, [*params, ("_summary", "count")]).total or 0


@pytest.fixture
def cadence(db_url: str) -> Iterator[Cadence]:
    chronicle = Chronicle.open(db_url)
    clock = Clock(datetime(2030, 3, 4, 11, 0, tzinfo=UTC))
    clinic = Clinic(chronicle, ZoneInfo("America/New_York"), clock)
    dept = set_up_department(clinic, setup_request(), actor=STAFF)
    generate_slots(clinic, dept.id, SlotGeneration(start=MONDAY, end=WEDNESDAY), actor=STAFF)
    patients = [chronicle.create({"resourceType": "Patient", "name": [{"family": f"Patient{n}"}]}).stored.res_id
                for n in range(3)]
    yield Cadence(chronicle, clinic, clock, dept, patients)
    chronicle.close()
