"""Willow: the code systems, states and small FHIR shapes the pharmacy writes.

A prescription's pharmacy work is a ``Task`` per fill (``code`` = ``FILL``); its Willow state is the
Task's ``businessStatus`` and, coarser, its FHIR ``status``. Problems found at verification are
``DetectedIssue``s coded with the HL7 v3 alert codes where one exists and always with Willow's own
``ISSUE`` code, which says exactly which check fired.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

WILLOW = "urn:osler:pharmacy"
TASK_CODE = f"{WILLOW}:task"
STATE = f"{WILLOW}:state"
TASK_PARAMETER = f"{WILLOW}:task-parameter"
ISSUE = f"{WILLOW}:issue"
REFILL_DECISION = f"{WILLOW}:refill-decision"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
UCUM = "http://unitsofmeasure.org"

FILL = "fill"
FILL_CONCEPT = {"coding": [{"system": TASK_CODE, "code": FILL, "display": "Prescription fill"}]}

# Willow state → (display, the fill Task's FHIR status)
STATES: dict[str, tuple[str, str]] = {
    "to-verify": ("To verify", "requested"),
    "verified": ("Verified", "accepted"),
    "dispensed": ("Dispensed", "in-progress"),
    "ready": ("Ready for pickup", "in-progress"),
    "picked-up": ("Picked up", "completed"),
}
OPEN_TASK_STATUSES = ("requested", "accepted", "in-progress")

# Willow issue code → (display, the HL7 v3 ActCode alert it is a kind of, if any)
ISSUES: dict[str, tuple[str, tuple[str, str] | None]] = {
    "allergy-ingredient": ("Allergy to an ingredient", ("ALGY", "Allergy Alert")),
    "allergy-class": ("Allergy to the drug's class", ("ALGY", "Allergy Alert")),
    "allergy-cross-sensitivity": ("Possible cross-sensitivity", ("ALGY", "Allergy Alert")),
    "duplicate-ingredient": ("Same ingredient already prescribed", ("DUPTHPY", "Duplicate Therapy Alert")),
    "duplicate-class": ("Same drug class already prescribed", ("DUPTHPY", "Duplicate Therapy Alert")),
    "dose-single": ("Single dose above the maximum", ("DOSEH", "High Dose Alert")),
    "dose-daily": ("Daily dose above the maximum", ("DOSEH", "High Dose Alert")),
    "dose-unit": ("Dose unit does not fit the drug", None),
    "dose-unchecked": ("Dose could not be checked", None),
    "unknown-drug": ("Drug not in the formulary", None),
}

# HL7 v3 ActPharmacySupplyType: the first fill of a prescription and its refills
FIRST_FILL = {"system": V3_ACT_CODE, "code": "FF", "display": "First Fill"}
REFILL = {"system": V3_ACT_CODE, "code": "RF", "display": "Refill"}


def state_concept(state: str) -> dict[str, Any]:
    return {"coding": [{"system": STATE, "code": state, "display": STATES[state][0]}], "text": STATES[state][0]}


def decision_concept(decision: str) -> dict[str, Any]:
    """The prescriber's answer to a refill request: approved or denied."""
    return {"coding": [{"system": REFILL_DECISION, "code": decision, "display": decision.capitalize()}],
            "text": decision.capitalize()}


def state_of(task: dict[str, Any]) -> str | None:
    for coding in (task.get("businessStatus") or {}).get("coding") or []:
        if coding.get("system") == STATE:
            return coding.get("code")
    return None


def issue_concept(kind: str) -> dict[str, Any]:
    display, alert = ISSUES[kind]
    codings = [{"system": V3_ACT_CODE, "code": alert[0], "display": alert[1]}] if alert else []
    return {"coding": [*codings, {"system": ISSUE, "code": kind, "display": display}], "text": display}


def parameter(name: str, **value: Any) -> dict[str, Any]:
    """A Task input/output: ``parameter("fill-number", valueInteger=2)``."""
    return {"type": {"coding": [{"system": TASK_PARAMETER, "code": name}], "text": name}, **value}


def parameters(task: dict[str, Any], field: str, name: str) -> list[dict[str, Any]]:
    return [item for item in task.get(field) or []
            if any(c.get("system") == TASK_PARAMETER and c.get("code") == name
                   for c in (item.get("type") or {}).get("coding") or [])]


def reference(target: str, display: str | None = None) -> dict[str, str]:
    return {"reference": target, **({"display": display} if display else {})}


def reference_id(value: dict[str, Any] | None, res_type: str) -> str | None:
    """``Patient/7`` in ``{"reference": "Patient/7"}`` → ``7`` (None for another type or no reference)."""
    target = (value or {}).get("reference") or ""
    prefix = f"{res_type}/"
    return target[len(prefix):] if target.startswith(prefix) else None


def number(value: Decimal) -> int | float:
    """A Decimal as the JSON number FHIR stores (integers stay integers)."""
    return int(value) if value == value.to_integral_value() else float(value)


def decimal(value: Any) -> Decimal:
    return Decimal(str(value))
