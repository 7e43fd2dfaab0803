"""Prelude: possible-duplicate work items — staff decide whether a new record and an old one are one person.

Registration opens one FHIR ``Task`` per (new patient, existing candidate) pair it scores as
*probable*: ``code`` = ``WORK_ITEM_SYSTEM|possible-duplicate-patient``, ``status`` requested,
``focus`` and ``for`` = the new patient, ``input`` = the candidate (Reference), the score (decimal)
and the match grade (code). Resolving it completes the Task with an ``output`` resolution:

* ``not-duplicate`` — nothing else changes;
* ``duplicate`` — the new record is retired in favour of the older one: ``active`` false and a
  ``replaced-by`` link on it, a ``replaces`` link on the survivor (the FHIR way to record a merge).

Both write in one transaction with ``If-Match`` on every resource: two clerks resolving the same
item cannot both win (the second gets 409). Moving the retired record's coverage and account onto
the survivor is not done here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from osler.apps.registration.candidates import PatientMatch
from osler.apps.registration.codes import DUPLICATE_REVIEW_SYSTEM, POSSIBLE_DUPLICATE, WORK_ITEM_SYSTEM, concept
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.fhir.instants import format_instant, now_us
from osler.fhir.outcome import BadRequest, Conflict, NotFound, VersionConflict

Resolution = Literal["duplicate", "not-duplicate"]
TASK_CODE = f"{WORK_ITEM_SYSTEM}|{POSSIBLE_DUPLICATE}"


@dataclass(frozen=True)
class DuplicateReview:
    task_id: str
    status: str  # requested | completed
    patient_id: str  # the record registration just created
    candidate_id: str  # the existing record it may duplicate
    score: float
    grade: str
    authored_on: str
    resolution: str | None
    version: int


def _input(code: str, **value: Any) -> dict[str, Any]:
    return {"type": concept(DUPLICATE_REVIEW_SYSTEM, code), **value}


def duplicate_review_task(patient_ref: str, match: PatientMatch) -> dict[str, Any]:
    """The work item for one candidate (``patient_ref`` may be a ``urn:uuid:`` inside a transaction)."""
    now = format_instant(now_us())
    return {"resourceType": "Task", "status": "requested", "intent": "order", "priority": "routine",
            "code": concept(WORK_ITEM_SYSTEM, POSSIBLE_DUPLICATE, "Possible duplicate patient record"),
            "description": "Registration found an existing record that may be the same person: "
                           "mark it a duplicate (the new record is retired) or not a duplicate.",
            "focus": {"reference": patient_ref}, "for": {"reference": patient_ref},
            "authoredOn": now, "lastModified": now,
            "input": [_input("candidate", valueReference={"reference": f"Patient/{match.patient_id}"}),
                      _input("score", valueDecimal=match.score), _input("match-grade", valueCode=match.grade)]}


def _typed_value(items: list[dict[str, Any]], code: str, key: str) -> Any:
    for item in items:
        if any(c.get("code") == code for c in item.get("type", {}).get("coding") or []):
            return item.get(key)
    return None


def review_of(stored: Stored) -> DuplicateReview:
    task = stored.resource
    inputs, outputs = task.get("input") or [], task.get("output") or []
    candidate = (_typed_value(inputs, "candidate", "valueReference") or {}).get("reference", "")
    score = float(_typed_value(inputs, "score", "valueDecimal") or 0)
    return DuplicateReview(stored.res_id, task.get("status", ""),
                           task.get("focus", {}).get("reference", "").removeprefix("Patient/"),
                           candidate.removeprefix("Patient/"), score,
                           _typed_value(inputs, "match-grade", "valueCode") or "", task.get("authoredOn", ""),
                           _typed_value(outputs, "resolution", "valueCode"), stored.version)


def list_duplicate_reviews(chronicle: Chronicle, *, status: str | None = "requested", actor: Actor = SYSTEM,
                           count: int = 100) -> list[DuplicateReview]:
    """Possible-duplicate work items, newest first (``status`` None: open and resolved alike)."""
    params = [("code", TASK_CODE), ("_sort", "-authored-on"), ("_count", str(count))]
    if status:
        params.append(("status", status))
    return [review_of(stored) for stored in chronicle.search("Task", params, actor=actor).matches]


def _put(stored: Stored, resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "request": {"method": "PUT", "url": f"{stored.res_type}/{stored.res_id}",
                                              "ifMatch": stored.etag}}


def _linked(patient: dict[str, Any], other_id: str, link_type: str) -> dict[str, Any]:
    links = [link for link in patient.get("link") or [] if link.get("other", {}).get("reference") !=
             f"Patient/{other_id}"]
    return {**patient, "link": [*links, {"other": {"reference": f"Patient/{other_id}"}, "type": link_type}]}


def resolve_duplicate(chronicle: Chronicle, task_id: str, resolution: Resolution, *, actor: Actor = SYSTEM,
                      note: str | None = None) -> DuplicateReview:
    """Record staff's decision on a work item; Conflict (409) if it was already resolved."""
    if resolution not in ("duplicate", "not-duplicate"):
        raise BadRequest("resolution must be duplicate or not-duplicate")
    stored = chronicle.read("Task", task_id, actor=actor)
    if TASK_CODE.split("|")[1] not in {c.get("code") for c in stored.resource.get("code", {}).get("coding") or []}:
        raise NotFound(f"Task/{task_id} is not a possible-duplicate work item")
    review = review_of(stored)
    if review.status != "requested":
        raise Conflict(f"Task/{task_id} was already resolved ({review.resolution or review.status})")
    now = format_instant(now_us())
    task = {**stored.resource, "status": "completed", "lastModified": now,
            "businessStatus": {"text": "duplicate: merged" if resolution == "duplicate" else "not a duplicate"},
            "output": [{"type": concept(DUPLICATE_REVIEW_SYSTEM, "resolution"), "valueCode": resolution}]}
    if note:
        task["note"] = [*(stored.resource.get("note") or []), {"text": note, "time": now}]
    entries = [_put(stored, task)]
    if resolution == "duplicate":
        retired = chronicle.read("Patient", review.patient_id, actor=actor)
        survivor = chronicle.read("Patient", review.candidate_id, actor=actor)
        entries.append(_put(retired, {**_linked(retired.resource, review.candidate_id, "replaced-by"),
                                      "active": False}))
        entries.append(_put(survivor, _linked(survivor.resource, review.patient_id, "replaces")))
    try:
        results = chronicle.transact(entries, actor=actor)
    except VersionConflict:
        raise Conflict(f"Task/{task_id} or its patients changed meanwhile (resolved by someone else?): "
                       "read it again") from None
    assert results[0].stored is not None
    return review_of(results[0].stored)
