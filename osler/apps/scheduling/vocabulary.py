"""Cadence: the code systems, identifiers, tags and extensions it writes into FHIR resources.

Everything Cadence stores is plain FHIR R4; these are the few markers it adds, in one place so that
readers of the data (check-in, analytics, the portal) and Cadence itself agree on them.

Tags (``meta.tag``) are workflow markers, not clinical data:

* ``urn:osler:cadence:department|<DEPT>`` on Schedules, Appointments and waitlist entries;
* ``urn:osler:cadence:schedule-kind|provider|room|device`` and
  ``urn:osler:cadence:resource-type|<type>`` (rooms and devices) on Schedules;
* ``urn:osler:cadence:provider-hour|<DEPT>/<YYYY-MM-DD>T<HH>`` on provider Slots and
  ``urn:osler:cadence:resource-hour|<DEPT>/<YYYY-MM-DD>T<HH>`` on room/device Slots: the clinic-local
  hour the slot starts in. They are the availability search's driving key: ``Slot?_tag=…&status=free``
  reads one department-hour from the token index instead of every future Slot, which is what a date
  search scans (its index covers one side of a range only). Measured on 82,000 Slots: 10 ms for a
  department-day of 1,300 slots this way against 190 to 280 ms for ``start=ge…&start=lt…``; by the
  hour, a search for the first free times reads a few hundred rows instead of a whole day.

Codes (departments, providers, rooms, devices, visit types) are restricted to ``CODE_PATTERN`` so
that they can sit inside tags and comma-separated search values unescaped.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

CADENCE = "urn:osler:cadence"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
CODE_RE = re.compile(CODE_PATTERN)

# Identifier systems (business keys that make setup and slot generation idempotent).
DEPARTMENT_ID = f"{CADENCE}:department"
DEPARTMENT_LOCATION_ID = f"{CADENCE}:department-location"
PROVIDER_ID = f"{CADENCE}:provider"
PROVIDER_ROLE_ID = f"{CADENCE}:provider-role"
ROOM_ID = f"{CADENCE}:room"
DEVICE_ID = f"{CADENCE}:device"
SCHEDULE_ID = f"{CADENCE}:schedule"
SLOT_ID = f"{CADENCE}:slot"
VISIT_TYPE = f"{CADENCE}:visit-type"  # identifier system and code system of visit types
OFFER_ID = f"{CADENCE}:waitlist-offer"

# Tag systems.
DEPARTMENT_TAG = f"{CADENCE}:department"
SCHEDULE_KIND_TAG = f"{CADENCE}:schedule-kind"
RESOURCE_TYPE_TAG = f"{CADENCE}:resource-type"
PROVIDER_HOUR_TAG = f"{CADENCE}:provider-hour"
RESOURCE_HOUR_TAG = f"{CADENCE}:resource-hour"

# Extensions.
EXTENSION_BASE = "http://osler.dev/fhir/StructureDefinition"
SLOT_MINUTES_EXT = f"{EXTENSION_BASE}/cadence-slot-minutes"  # Schedule: the slot length of its grid
ROOM_TYPE_EXT = f"{EXTENSION_BASE}/cadence-room-type"  # ActivityDefinition: the kind of room a visit needs
CLOSURE_EXT = f"{EXTENSION_BASE}/cadence-closure"  # department Location: a closed Period (holiday)

# Visit types open to patient self-scheduling carry this useContext (searchable as ``context``).
USAGE_CONTEXT_TYPE = "http://terminology.hl7.org/CodeSystem/usage-context-type"
SELF_SCHEDULING = {"system": CADENCE, "code": "patient-self-scheduling"}

TASK_CODE = {"system": CADENCE, "code": "waitlist-offer", "display": "Offer of an appointment slot"}
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
CANCEL_REASON = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"

PROVIDER, ROOM, DEVICE = "provider", "room", "device"


def tag(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def tag_code(resource: dict[str, Any], system: str) -> str | None:
    """The code of ``resource``'s first tag in ``system``."""
    for item in (resource.get("meta") or {}).get("tag") or []:
        if item.get("system") == system:
            return item.get("code")
    return None


def hour_tag(kind: str, department: str, day: date, hour: int) -> dict[str, str]:
    """The availability key of a Slot: its department and the clinic-local hour it starts in."""
    system = PROVIDER_HOUR_TAG if kind == PROVIDER else RESOURCE_HOUR_TAG
    return tag(system, f"{department}/{day.isoformat()}T{hour:02d}")


def identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def identifier_value(resource: dict[str, Any], system: str) -> str | None:
    for item in resource.get("identifier") or []:
        if item.get("system") == system:
            return item.get("value")
    return None


def reference(res_type: str, res_id: str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{res_type}/{res_id}"}
    if display:
        ref["display"] = display
    return ref


def reference_id(ref: dict[str, Any] | None, res_type: str) -> str | None:
    """The id of a relative ``Type/id`` reference of type ``res_type``, else None."""
    text = (ref or {}).get("reference") or ""
    kind, _, res_id = text.partition("/")
    return res_id if kind == res_type and res_id else None


def extension_value(resource: dict[str, Any], url: str, key: str) -> Any:
    for item in resource.get("extension") or []:
        if item.get("url") == url:
            return item.get(key)
    return None


def visit_type_code(resource: dict[str, Any]) -> str | None:
    """The visit type code of an Appointment or waitlist entry (its serviceType in VISIT_TYPE)."""
    for concept in resource.get("serviceType") or []:
        for coding in concept.get("coding") or []:
            if coding.get("system") == VISIT_TYPE:
                return coding.get("code")
    return None


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}
