"""The errors every application raises alike — each an OperationOutcome with its HTTP status.

Application-specific errors (a slot taken, a signed note edited, a dispense refused…) live with their
application and subclass these or ``osler.fhir.outcome``'s.
"""

from __future__ import annotations

from osler.fhir.outcome import Conflict, FhirError


class Forbidden(FhirError):
    """The caller may not do this: a patient acting on someone else's record, a clinician acting on an
    item not addressed to them (403)."""

    status = 403
    code = "forbidden"


class UnknownReference(FhirError):
    """The request names a patient, practitioner, order or other record that does not exist (422): the
    request's mistake, unlike an unknown id in the URL path (404)."""

    status = 422
    code = "not-found"


class WrongState(Conflict):
    """The record's status does not allow the action, e.g. cancelling a fulfilled visit or dispensing
    before verification (409)."""

    code = "business-rule"
