"""Willow: the errors the pharmacy raises — each an OperationOutcome with its HTTP status."""

from __future__ import annotations

from osler.fhir.outcome import Conflict, FhirError


class WrongState(Conflict):
    """The prescription or fill is not in a state that allows the action, e.g. dispensing before
    verification or refilling a stopped prescription (409)."""

    code = "business-rule"


class VerificationRefused(Conflict):
    """Verification found hard stops and no pharmacist override was given (409); one issue per problem."""

    code = "business-rule"


class DispenseRefused(FhirError):
    """A well-formed dispense the prescription does not allow: more than prescribed, a quantity of
    zero, an expired lot (422)."""

    status = 422
    code = "business-rule"


class UnknownReference(FhirError):
    """The request names a pharmacist, prescriber or requester that does not exist (422)."""

    status = 422
    code = "not-found"


class Forbidden(FhirError):
    """Someone other than the one the work item is addressed to tried to act on it (403)."""

    status = 403
    code = "forbidden"
