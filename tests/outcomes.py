"""The shape every API refusal must have: the status, a FHIR OperationOutcome, and the reason in words."""

from __future__ import annotations

from typing import Any


def assert_outcome(response: Any, status: int, text: str) -> dict[str, Any]:
    """``response`` is an OperationOutcome with ``status`` whose first issue's diagnostics contain ``text``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert text in body["issue"][0]["diagnostics"], body
    return body
