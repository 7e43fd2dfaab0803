"""OperationOutcome helpers and the errors that carry one.

Every failure a client can cause is a ``FhirError`` with an HTTP status, a FHIR issue code and a
human message (plus the element path when there is one). The API turns it into an OperationOutcome;
the CLI turns it into one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Issue:
    code: str
    diagnostics: str
    severity: str = "error"
    expression: list[str] = field(default_factory=list)

    def as_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = self.expression
        return issue


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [issue.as_fhir() for issue in issues]}


def information(message: str) -> dict[str, Any]:
    return operation_outcome([Issue("informational", message, severity="information")])


class FhirError(Exception):
    """A client-visible failure; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, issues: list[Issue] | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.issues = issues or [Issue(self.code, message)]

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


class BadRequest(FhirError):
    status = 400
    code = "invalid"


class InvalidResource(FhirError):
    """The resource parsed as JSON but is not a valid FHIR R4 resource (422)."""

    status = 422
    code = "structure"


class NotFound(FhirError):
    status = 404
    code = "not-found"


class Gone(FhirError):
    status = 410
    code = "deleted"


class VersionConflict(FhirError):
    """A write based on a stale version (If-Match) or a conflicting concurrent write."""

    status = 412
    code = "conflict"


class Conflict(FhirError):
    status = 409
    code = "conflict"


class MethodNotAllowed(FhirError):
    status = 405
    code = "not-supported"


class PreconditionFailed(FhirError):
    """Conditional interaction matched more than one resource."""

    status = 412
    code = "multiple-matches"


class PayloadTooLarge(FhirError):
    status = 413
    code = "too-costly"


class UnsupportedMediaType(FhirError):
    status = 415
    code = "not-supported"
