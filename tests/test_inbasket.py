"""In Basket through its Python API, on SQLite and PostgreSQL: pools and delivery to their members,
read/done (one member's done is the pool's), inboxes for staff and patients, messages and replies,
the routing rules (care team pools, the fallback pool), out-of-office delegation, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from osler.apps import inbasket, lab
from osler.apps.clinic import Clinic
from osler.apps.inbasket import CARE_TEAM, DelegationSetup, MessageRequest, PoolSetup
from osler.apps.inbasket.vocabulary import DELEGATED_FROM_EXT
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import BadRequest, NotFound
from tests.test_lab import NORMAL_CBC, make_lab
from tests.test_scheduling_helpers import Clock


@dataclass
class Office:
    chronicle: Chronicle
    clinic: Clinic
    clock: Clock
    lopez: str  # the PCP, who leads her care team pool
    nurse: str
    covering: str
    outsider: str
    patient: str  # Lopez's patient
    orphan: str  # a patient without a primary care provider
    team: str  # Group/… of Lopez's care team

    def staff(self) -> str:
        return f"Practitioner/{self.chronicle.create({'resourceType': 'Practitioner'}).stored.res_id}"

    def task(self, owner: str, category: str = "refill-request", **extra: str) -> dict:
        return self.chronicle.create(inbasket.compose_task(
            self.clinic, category=category, owner=owner, description="Refill lisinopril 10 mg?", patient=self.patient,
            **extra)).stored.resource


@pytest.fixture
def office(chronicle: Chronicle) -> Iterator[Office]:
    world = make_lab(chronicle)
    create = chronicle.create

    def person(res_type: str, **fields: object) -> str:
        return f"{res_type}/{create({'resourceType': res_type, **fields}).stored.res_id}"

    lopez, nurse, covering, outsider = (person("Practitioner") for _ in range(4))
    patient = person("Patient", generalPractitioner=[{"reference": lopez}])
    orphan = person("Patient")
    team = inbasket.define_pool(world.clinic, PoolSetup(code="lopez-team", name="Dr. Lopez's care team",
                                                        members=[lopez, nurse], lead=lopez))
    yield Office(chronicle, world.clinic, world.clock, lopez, nurse, covering, outsider, patient, orphan,
                 f"Group/{team.res_id}")


def ids(box: inbasket.Inbox) -> list[str]:
    return [item.id for item in box.items]


# ----------------------------------------------------------------------------------- pools


def test_a_pool_is_a_group_defined_idempotently(office: Office) -> None:
    again = inbasket.define_pool(office.clinic, PoolSetup(code="lopez-team", name="Lopez team",
                                                          members=[office.lopez, office.nurse, office.covering],
                                                          lead=office.lopez))
    assert f"Group/{again.res_id}" == office.team and again.version == 2
    group = again.resource
    assert group["type"] == "practitioner" and group["identifier"] == [{"system": "urn:osler:inbasket:pool",
                                                                       "value": "lopez-team"}]
    assert [m["entity"]["reference"] for m in group["member"]] == [office.lopez, office.nurse, office.covering]
    assert [inbasket.pool_code(p) for p in inbasket.list_pools(office.clinic)] == ["lopez-team"]
    with pytest.raises(inbasket.UnknownReference):
        inbasket.define_pool(office.clinic, PoolSetup(code="x", name="x", members=["Practitioner/ghost"]))
    with pytest.raises(NotFound):
        inbasket.find_pool(office.clinic, "nope")


def test_a_pool_item_reaches_every_member_and_done_by_one_is_done_for_all(office: Office) -> None:
    task = office.task(office.team)
    for member in (office.lopez, office.nurse):
        box = inbasket.inbox(office.clinic, member)
        assert ids(box) == [task["id"]] and box.items[0].pool and box.counts == {"unread": 1, "read": 0, "done": 0}
    assert ids(inbasket.inbox(office.clinic, office.outsider)) == []
    with pytest.raises(inbasket.Forbidden):
        inbasket.mark_done(office.clinic, "Task", task["id"], by=office.outsider)
    read = inbasket.mark_read(office.clinic, "Task", task["id"], by=office.nurse)
    assert inbasket.InboxItem.of(read).state == "read"
    done = inbasket.mark_done(office.clinic, "Task", task["id"], by=office.nurse)
    assert done.resource["status"] == "completed" and inbasket.InboxItem.of(done).state == "done"
    assert inbasket.mark_read(office.clinic, "Task", task["id"]).version == done.version  # done stays done
    box = inbasket.inbox(office.clinic, office.lopez)
    assert box.counts == {"unread": 0, "read": 0, "done": 1} and box.items[0].state == "done"
    assert ids(inbasket.inbox(office.clinic, office.lopez, state="unread")) == []


def test_inbox_filters_sorts_and_serves_patients(office: Office) -> None:
    first = office.task(office.lopez)
    office.clock.moment += timedelta(minutes=5)
    message = inbasket.send_message(office.clinic, MessageRequest(
        sender=office.nurse, recipient=office.lopez, subject="Lunch?", text="Noon at the cafe?"))
    office.clock.moment += timedelta(minutes=5)
    to_patient = inbasket.send_message(office.clinic, MessageRequest(
        sender=office.lopez, recipient=office.patient, subject="Your labs", text="Please fast before your labs."))
    box = inbasket.inbox(office.clinic, office.lopez)
    assert ids(box) == [message.res_id, first["id"]]  # newest first; her own message to the patient is not hers
    assert [i.category for i in box.items] == ["staff-message", "refill-request"]
    assert ids(inbasket.inbox(office.clinic, office.lopez, category="refill-request")) == [first["id"]]
    portal = inbasket.inbox(office.clinic, office.patient)
    assert ids(portal) == [to_patient.res_id] and portal.items[0].category == "patient-message"
    assert portal.items[0].sender == office.lopez
    with pytest.raises(BadRequest):
        inbasket.inbox(office.clinic, office.lopez, state="archived")
    with pytest.raises(NotFound):
        inbasket.inbox(office.clinic, "Practitioner/ghost")


def test_a_lab_result_reaches_the_clinician_and_the_patient_portal(chronicle: Chronicle) -> None:
    world = make_lab(chronicle)
    filed = lab.file_results(world.clinic, world.received(), NORMAL_CBC)
    [review] = inbasket.inbox(world.clinic, world.doctor).items
    assert (review.type, review.category, review.about[0]) == ("Task", "result",
                                                               f"DiagnosticReport/{filed.report.res_id}")
    [released] = inbasket.inbox(world.clinic, world.patient).items
    assert released.category == "result-released" and released.state == "unread"


# ----------------------------------------------------------------------- messages, routing


def test_a_patient_message_to_her_care_team_goes_to_her_pcps_pool(office: Office) -> None:
    sent = inbasket.send_message(office.clinic, MessageRequest(
        sender=office.patient, recipient=CARE_TEAM, subject="Headache", text="My migraine is back."))
    assert sent.resource["recipient"] == [{"reference": office.team}]
    assert sent.resource["category"][0]["coding"][0]["code"] == "patient-message"
    assert ids(inbasket.inbox(office.clinic, office.nurse)) == [sent.res_id]
    # Naming her doctor also goes to the doctor's pool, where the nurse can triage it.
    named = inbasket.send_message(office.clinic, MessageRequest(
        sender=office.patient, recipient=office.lopez, subject="Refill", text="Out of pills."))
    assert named.resource["recipient"] == [{"reference": office.team}]


def test_the_care_team_falls_back_to_the_pcp_then_the_patient_message_pool(office: Office) -> None:
    solo = office.staff()
    patient = office.chronicle.create({"resourceType": "Patient",
                                       "generalPractitioner": [{"reference": solo}]}).stored.res_id
    sent = inbasket.send_message(office.clinic, MessageRequest(
        sender=f"Patient/{patient}", recipient=CARE_TEAM, subject="Hi", text="Question"))
    assert sent.resource["recipient"] == [{"reference": solo}]  # no pool of her own: straight to the PCP
    before = office.chronicle.last_sequence()
    with pytest.raises(inbasket.Unroutable):
        inbasket.send_message(office.clinic, MessageRequest(sender=office.orphan, recipient=CARE_TEAM,
                                                            subject="Hi", text="Anyone?"))
    assert office.chronicle.last_sequence() == before
    desk = inbasket.define_pool(office.clinic, PoolSetup(code="patient-messages", name="Front desk",
                                                         members=[office.nurse]))
    sent = inbasket.send_message(office.clinic, MessageRequest(sender=office.orphan, recipient=CARE_TEAM,
                                                               subject="Hi", text="Anyone?"))
    assert sent.resource["recipient"] == [{"reference": f"Group/{desk.res_id}"}]


def test_a_reply_goes_back_to_the_sender_and_closes_the_original(office: Office) -> None:
    question = inbasket.send_message(office.clinic, MessageRequest(
        sender=office.patient, recipient=CARE_TEAM, subject="Headache", text="Can I take ibuprofen?"))
    answer = inbasket.reply(office.clinic, question.res_id, office.nurse, "Yes, with food.")
    assert answer.resource["recipient"] == [{"reference": office.patient}]
    assert answer.resource["topic"]["text"] == "Re: Headache"
    assert answer.resource["inResponseTo"] == [{"reference": f"Communication/{question.res_id}"}]
    assert inbasket.InboxItem.of(office.chronicle.read("Communication", question.res_id)).state == "done"
    follow_up = inbasket.reply(office.clinic, answer.res_id, office.patient, "Thanks!")
    assert follow_up.resource["recipient"] == [{"reference": office.nurse}]  # the nurse leads no pool: to her
    with pytest.raises(inbasket.Forbidden):
        inbasket.reply(office.clinic, question.res_id, office.outsider, "Not mine to answer")


def test_refusals_write_nothing(office: Office) -> None:
    before = office.chronicle.last_sequence()
    with pytest.raises(inbasket.Forbidden):
        inbasket.send_message(office.clinic, MessageRequest(sender=office.patient, recipient=office.orphan,
                                                            subject="Hi", text="Hi"))
    with pytest.raises(inbasket.Forbidden):
        inbasket.send_message(office.clinic, MessageRequest(sender=office.patient, recipient=office.lopez,
                                                            subject="Hi", text="Hi", category="staff-message"))
    with pytest.raises(inbasket.UnknownReference):
        inbasket.send_message(office.clinic, MessageRequest(sender=office.nurse, recipient="Practitioner/ghost",
                                                            subject="Hi", text="Hi"))
    with pytest.raises(BadRequest):
        inbasket.send_message(office.clinic, MessageRequest(sender=office.nurse, recipient=CARE_TEAM,
                                                            subject="Hi", text="Hi"))
    with pytest.raises(NotFound):
        inbasket.mark_read(office.clinic, "Task", "ghost")
    assert office.chronicle.last_sequence() == before


# ------------------------------------------------------------------------------ delegation


def test_an_away_prescribers_items_go_to_the_covering_colleague(office: Office) -> None:
    prescriber = office.staff()
    back = office.clock.moment + timedelta(days=7)
    inbasket.set_delegation(office.clinic, DelegationSetup(practitioner=prescriber, covering=office.covering,
                                                           end=back))
    task = office.task(prescriber)
    assert task["owner"] == {"reference": office.covering}
    assert task["extension"] == [{"url": DELEGATED_FROM_EXT, "valueReference": {"reference": prescriber}}]
    assert ids(inbasket.inbox(office.clinic, office.covering)) == [task["id"]]
    assert inbasket.inbox(office.clinic, office.covering).items[0].delegated_from == prescriber
    inbasket.mark_done(office.clinic, "Task", task["id"], by=prescriber)  # back early, she may still act on it
    # Items to patients are never delegated; once the week is over, items reach the prescriber again.
    office.clock.moment = back
    assert office.task(prescriber)["owner"] == {"reference": prescriber}


def test_delegation_to_a_pool_follows_chains_and_ends(office: Office) -> None:
    away, also_away = office.staff(), office.staff()
    inbasket.set_delegation(office.clinic, DelegationSetup(practitioner=away, covering=also_away))
    inbasket.set_delegation(office.clinic, DelegationSetup(practitioner=also_away, covering=office.team))
    assert office.task(away, category="critical-result")["owner"] == {"reference": office.team}
    inbasket.set_delegation(office.clinic, DelegationSetup(practitioner=also_away, covering=away))  # a cycle
    assert office.task(away)["owner"] == {"reference": also_away}
    inbasket.end_delegation(office.clinic, away)
    assert office.task(away)["owner"] == {"reference": away}
    with pytest.raises(NotFound):
        inbasket.end_delegation(office.clinic, away)
    with pytest.raises(BadRequest):
        inbasket.set_delegation(office.clinic, DelegationSetup(practitioner=away, covering=away))
    with pytest.raises(inbasket.UnknownReference):
        inbasket.set_delegation(office.clinic, DelegationSetup(practitioner=away, covering="Practitioner/ghost"))


def test_a_critical_result_reaches_whoever_covers_for_the_ordering_clinician(chronicle: Chronicle) -> None:
    world = make_lab(chronicle)
    covering = f"Practitioner/{chronicle.create({'resourceType': 'Practitioner'}).stored.res_id}"
    inbasket.set_delegation(world.clinic, DelegationSetup(practitioner=world.doctor, covering=covering))
    filed = lab.file_results(world.clinic, world.received(), [lab.ResultValue(code="718-7", value=5, unit="g/dL")])
    assert filed.task is not None and filed.task.resource["owner"] == {"reference": covering}
    [item] = inbasket.inbox(world.clinic, covering).items
    assert (item.category, item.priority, item.delegated_from) == ("critical-result", "stat", world.doctor)
    released = filed.messages[0].resource
    assert released["recipient"] == [{"reference": world.patient}]
