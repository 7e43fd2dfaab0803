"""The rows that index extraction produces: one NamedTuple per search-parameter type.

Field names match the columns of the Chronicle's index tables (``osler.chronicle.schema``) so a
row is stored with ``entry._asdict()``. Instants are integer microseconds since the Unix epoch, UTC;
a date range is inclusive at both ends.
"""

from __future__ import annotations

from typing import NamedTuple


class StringEntry(NamedTuple):
    param: str
    value_norm: str  # lower-cased, accents stripped, whitespace collapsed; truncated to 255
    value_exact: str


class TokenEntry(NamedTuple):
    param: str
    system: str | None
    code: str | None
    text: str | None  # normalized display / CodeableConcept.text / Identifier.type.text for :text


class DateEntry(NamedTuple):
    param: str
    low: int
    high: int


class ReferenceEntry(NamedTuple):
    param: str
    target_type: str | None
    target_id: str | None
    url: str | None  # absolute or canonical reference as written
    ident_system: str | None  # Reference.identifier, for the :identifier modifier
    ident_value: str | None


class QuantityEntry(NamedTuple):
    param: str
    value: float
    system: str | None
    code: str | None  # Quantity.code, else Quantity.unit


class NumberEntry(NamedTuple):
    param: str
    value: float


class UriEntry(NamedTuple):
    param: str
    value: str


class CompositeEntry(NamedTuple):
    param: str
    system: str | None
    code: str | None
    value_number: float | None
    value_system: str | None
    value_code: str | None
    value_low: int | None
    value_high: int | None
    value_string: str | None


ENTRY_KINDS: dict[type, str] = {
    StringEntry: "string",
    TokenEntry: "token",
    DateEntry: "date",
    ReferenceEntry: "reference",
    QuantityEntry: "quantity",
    NumberEntry: "number",
    UriEntry: "uri",
    CompositeEntry: "composite",
}
