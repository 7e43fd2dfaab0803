"""Cadence: the errors scheduling raises, and the shared ``Clinic`` context and time helpers it uses
(defined in ``osler.apps.clinic``, re-exported here for scheduling's modules)."""

from __future__ import annotations

from osler.apps.clinic import Clinic, compact, instant, parse_instant, utc_now
from osler.fhir.outcome import Conflict, FhirError

__all__ = ["Clinic", "Forbidden", "NotBookable", "SlotTaken", "UnknownReference", "WrongState", "compact",
           "instant", "parse_instant", "utc_now"]


# ------------------------------------------------------------------------------------ errors


class Forbidden(FhirError):
    """A patient acting for themselves asked for something that is not theirs to do (403)."""

    status = 403
    code = "forbidden"


class UnknownReference(FhirError):
    """The request names a patient, provider, department, visit type or slot that does not exist (422)."""

    status = 422
    code = "not-found"


class SlotTaken(Conflict):
    """The slot (or the time it needs) was booked by someone else first (409)."""

    code = "conflict"


class NotBookable(FhirError):
    """A well-formed request that scheduling rules refuse, e.g. a slot in the past (422)."""

    status = 422
    code = "business-rule"


class WrongState(Conflict):
    """The appointment's status does not allow the action, e.g. cancelling a fulfilled visit (409)."""

    code = "business-rule"
