"""Willow: the pharmacy's work queue (Epic: the Willow Ambulatory fill queue).

What is waiting at a pharmacy: every active order sent to it (``MedicationRequest?intended-dispenser=
Organization/<pharmacy>&status=active&intent=order``) that has not been filled yet — *to verify* — and
every fill under way (its fill Task's state: to verify for a refill, verified, dispensed, ready).
Fills that were picked up are listed too when ``include_completed`` asks for them. Two searches
(prescriptions, then their fill Tasks), no per-prescription reads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from osler.apps.clinic import Clinic
from osler.apps.pharmacy import vocabulary as v
from osler.apps.pharmacy.fills import dispense_id, fill_number
from osler.apps.pharmacy.prescriptions import ALL, Prescription
from osler.chronicle.records import SYSTEM, Actor, Stored

CHUNK = 100  # prescriptions per Task search (the focus values travel in one parameter)


@dataclass(frozen=True)
class QueueItem:
    medication_request: str
    patient: str
    drug: str
    state: str
    fill: int
    authored_on: str | None
    task: str | None
    dispense: str | None

    def as_json(self) -> dict[str, Any]:
        return {"medication_request": self.medication_request, "patient": self.patient, "drug": self.drug,
                "state": self.state, "state_display": v.STATES[self.state][0], "fill": self.fill,
                "authored_on": self.authored_on, "task": self.task, "dispense": self.dispense}


def queue(clinic: Clinic, pharmacy_id: str, *, include_completed: bool = False,
          actor: Actor = SYSTEM) -> list[QueueItem]:
    """The pharmacy's prescriptions with their state, oldest first; 404 for an unknown pharmacy."""
    clinic.chronicle.read("Organization", pharmacy_id, actor=actor)
    orders = clinic.chronicle.search("MedicationRequest", [
        ("intended-dispenser", f"Organization/{pharmacy_id}"), ("status", "active"), ("intent", "order"),
        ("_sort", "authoredon"), ("_count", ALL)], actor=actor).matches
    tasks = _fill_tasks(clinic, [o.res_id for o in orders], actor=actor)
    items = []
    for order in orders:
        prescription = Prescription(order)
        fills = tasks.get(order.res_id, [])
        if not fills:
            items.append(_item(prescription, "to-verify", None))
        for task in fills:
            state = v.state_of(task.resource)
            if state in v.STATES and (state != "picked-up" or include_completed):
                items.append(_item(prescription, state, task))
    return items


def _fill_tasks(clinic: Clinic, order_ids: list[str], *, actor: Actor) -> dict[str, list[Stored]]:
    by_order: dict[str, list[Stored]] = defaultdict(list)
    for start in range(0, len(order_ids), CHUNK):
        focus = ",".join(f"MedicationRequest/{i}" for i in order_ids[start:start + CHUNK])
        page = clinic.chronicle.search("Task", [("focus", focus), ("code", f"{v.TASK_CODE}|{v.FILL}"),
                                                ("_sort", "authored-on"), ("_count", ALL)], actor=actor)
        for task in page.matches:
            order = v.reference_id(task.resource.get("focus"), "MedicationRequest")
            if order is not None and task.resource.get("status") != "cancelled":
                by_order[order].append(task)
    return by_order


def _item(prescription: Prescription, state: str, task: Stored | None) -> QueueItem:
    return QueueItem(prescription.id, prescription.patient, prescription.display, state,
                     fill_number(task.resource) if task else 1, prescription.resource.get("authoredOn"),
                     task.res_id if task else None, dispense_id(task.resource) if task else None)
