"""Cadence: the errors scheduling raises, and the shared ``Clinic`` context and time helpers it uses
(defined in ``osler.apps.clinic``, re-exported here for scheduling's modules)."""

from __future__ import annotations

from osler.apps.clinic import Clinic, compact, instant, parse_instant, utc_now
from osler.apps.errors import Forbidden, UnknownReference, WrongState
from osler.fhir.outcome import Conflict, FhirError

__all__ = ["Clinic", "Forbidden", "NotBookable", "SlotTaken", "UnknownReference", "WrongState", "compact",
           "instant", "parse_instant", "utc_now"]


# ------------------------------------------------------------------------------------ errors


class SlotTaken(Conflict):
    """The slot (or the time it needs) was booked by someone else first (409)."""

    code = "conflict"


class NotBookable(FhirError):
    """A well-formed request that scheduling rules refuse, e.g. a slot in the past (422)."""

    status = 422
    code = "business-rule"

