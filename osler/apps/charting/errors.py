"""EpicCare Ambulatory (charting): the errors it raises, each a 4xx with an OperationOutcome.

Unknown patients, practitioners and organizations named in a request are ``UnknownReference`` (422)
and patient-only refusals ``Forbidden`` (403), shared with scheduling; an unknown Encounter or order
in the path is the Chronicle's ``NotFound`` (404); an unknown code is terminology's ``UnknownCode``.
"""

from __future__ import annotations

from osler.apps.errors import Forbidden, UnknownReference, WrongState
from osler.fhir.outcome import Conflict, InvalidResource

__all__ = ["Duplicate", "EncounterClosed", "Forbidden", "ImplausibleValue", "NoteLocked", "OrderSigned",
           "UnitMismatch", "UnknownReference", "WrongState"]


class EncounterClosed(Conflict):
    """Charting into an encounter that is finished, cancelled or entered in error (409)."""

    code = "business-rule"


class NoteLocked(Conflict):
    """Editing a note that its author has signed: only an addendum may follow (409)."""

    code = "business-rule"


class OrderSigned(Conflict):
    """Editing a signed order in place: changes are new orders that replace it (409)."""

    code = "business-rule"


class Duplicate(Conflict):
    """The chart already holds it: the same active problem, allergy or encounter diagnosis (409)."""

    code = "duplicate"


class UnitMismatch(InvalidResource):
    """A measurement in a unit that does not fit what is measured, e.g. a weight in mm[Hg] (422)."""

    code = "code-invalid"


class ImplausibleValue(InvalidResource):
    """A value outside what is physiologically (or technically) possible, e.g. a heart rate of 900 (422)."""

    code = "business-rule"
