"""Willow: the errors the pharmacy raises — each an OperationOutcome with its HTTP status."""

from __future__ import annotations

from osler.apps.errors import Forbidden, UnknownReference, WrongState  # noqa: F401 — re-exported as this application's errors
from osler.fhir.outcome import Conflict, FhirError


class VerificationRefused(Conflict):
    """Verification found hard stops and no pharmacist override was given (409); one issue per problem."""

    code = "business-rule"


class DispenseRefused(FhirError):
    """A well-formed dispense the prescription does not allow: more than prescribed, a quantity of
    zero, an expired lot (422)."""

    status = 422
    code = "business-rule"


