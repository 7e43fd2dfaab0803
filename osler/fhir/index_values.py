"""FHIR values to index rows, following the R4 search spec (https://hl7.org/fhir/R4/search.html).

Owns the per-search-parameter-type conversions (which parts of a HumanName are searchable strings,
how a CodeableConcept becomes tokens, how a partial date becomes an inclusive range, how a reference
string splits into type and id...) and the string normalisation the search engine must share.
A converter is chosen from the parameter type and the FHIR type of the values (as the FHIRPath
extractor reports it); when the FHIR type is unknown the value's shape decides.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from osler.fhir.index_types import (
    DateEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)

# Open ends of a Period: the widest range a BIGINT column holds.
DATE_MIN = -(2**63)
DATE_MAX = 2**63 - 1
MAX_STRING = 255
DAY_US = 86_400 * 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

Converter = Callable[[str, list[Any], list[NamedTuple]], None]

_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
# Type/id with an optional version, optionally after a service base URL.
_REFERENCE = re.compile(
    r"(?:(?P<base>[a-z][a-z0-9+.\-]*://.*?)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
_QUANTITY_TYPES = ("Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity")
_NUMBER_TYPES = ("decimal", "integer", "positiveInt", "unsignedInt", "integer64")
_URI_TYPES = ("uri", "url", "canonical", "oid", "uuid")
_STRING_TYPES = ("string", "markdown", "code", "id", *_URI_TYPES)
_SYSTEM_TYPES = {
    "System.String": "string",
    "System.Boolean": "boolean",
    "System.Integer": "integer",
    "System.Decimal": "decimal",
    "System.Date": "date",
    "System.DateTime": "dateTime",
    "System.Time": "time",
}
ISO_4217 = "urn:iso:std:iso:4217"


# -- shared helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def normalize(text: str) -> str:
    """Lower-case, accents stripped, whitespace collapsed, at most 255 characters (``:contains`` et al)."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(text.lower().split())[:MAX_STRING]


def _day_start(year: int, month: int, day: int) -> int:
    return (date(year, month, day).toordinal() - _EPOCH_ORDINAL) * DAY_US


def _zone_offset_us(zone: str | None) -> int:
    if zone is None or zone == "Z":
        return 0
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(f"bad time-zone offset {zone!r}")
    offset = (hours * 60 + minutes) * 60_000_000
    return -offset if zone[0] == "-" else offset


def parse_fhir_date_range(text: str) -> tuple[int, int]:
    """A FHIR date / dateTime / instant as the inclusive range it denotes, in microseconds UTC.

    ``2020`` is the whole year, ``2020-03`` the month, ``2020-03-04`` the day and
    ``2020-03-04T10:00:00+01:00`` that second; fractional seconds narrow the range to their precision.
    A time without a zone is taken as UTC. Raises ``ValueError`` for anything else.
    """
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a FHIR date: {text!r}")
    year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone = match.groups()
    year = int(year_s)
    if month_s is None:
        return _day_start(year, 1, 1), _day_start(year, 12, 31) + DAY_US - 1
    month = int(month_s)
    if day_s is None:
        last = calendar.monthrange(year, month)[1]  # IllegalMonthError is a ValueError
        return _day_start(year, month, 1), _day_start(year, month, last) + DAY_US - 1
    start = _day_start(year, month, int(day_s))
    if hour_s is None:
        return start, start + DAY_US - 1
    hour, minute, second = int(hour_s), int(minute_s), int(second_s or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"not a FHIR time: {text!r}")
    if second_s is None:
        width = 60_000_000
        micros = 0
    elif fraction is None:
        width = 1_000_000
        micros = 0
    else:
        digits = min(len(fraction), 6)
        width = 10 ** (6 - digits)
        micros = int(fraction[:6].ljust(6, "0"))
    low = start + ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros - _zone_offset_us(zone)
    return low, low + width - 1


def fhir_type_name(tpath: str | None) -> str | None:
    """The FHIR type of an extractor's type path: ``Observation.component`` is a BackboneElement."""
    if tpath is None:
        return None
    if tpath.startswith("System."):
        return _SYSTEM_TYPES.get(tpath)
    return "BackboneElement" if "." in tpath else tpath


def parse_reference(text: str) -> tuple[str | None, str | None, str | None]:
    """(target type, target id, url) of a Reference.reference; all None for a ``#contained`` one.

    ``Patient/1`` and ``Patient/1/_history/2`` give type and id; an absolute ``http://x/Patient/1``
    also keeps its URL; ``urn:uuid:...`` and anything else unparseable is a URL only.
    """
    if text.startswith("#"):
        return None, None, None
    match = _REFERENCE.fullmatch(text)
    if match is None:
        return None, None, text
    return match["type"], match["id"], text if match["base"] else None


def reference_type(reference: Any) -> str | None:
    """The resource type a Reference points at, as ``resolve() is X`` sees it without a server."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if isinstance(text, str):
        target = parse_reference(text)[0]
        if target is not None:
            return target
    declared = reference.get("type")
    return declared if isinstance(declared, str) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _texts(value: dict, parts: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for part in parts:
        item = value.get(part)
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            found.extend(text for text in item if isinstance(text, str))
    return found


# -- string -------------------------------------------------------------------------------------------


def _add_string(code: str, text: str, out: list) -> None:
    norm = normalize(text)
    if norm:
        out.append(StringEntry(code, norm, text))


def _string_primitive(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, str):
            _add_string(code, value, out)


def _string_parts(parts: tuple[str, ...]) -> Converter:
    def convert(code: str, values: list, out: list) -> None:
        for value in values:
            if isinstance(value, dict):
                for text in _texts(value, parts):
                    _add_string(code, text, out)

    return convert


def _string_any(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, str):
            _add_string(code, value, out)
        elif isinstance(value, dict):
            parts = _NAME_PARTS if ("family" in value or "given" in value) else _ADDRESS_PARTS
            for text in _texts(value, parts):
                _add_string(code, text, out)


# -- token --------------------------------------------------------------------------------------------


def _text_of(value: Any) -> str | None:
    return normalize(value) or None if isinstance(value, str) else None


def _coding_row(code: str, coding: dict, text: str | None) -> TokenEntry | None:
    system, value = coding.get("system"), coding.get("code")
    if system is None and value is None:
        return None
    return TokenEntry(code, system, value, text if text is not None else _text_of(coding.get("display")))


def _token_coding(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, dict) and (row := _coding_row(code, value, None)):
            out.append(row)


def _token_concept(code: str, values: list, out: list) -> None:
    for value in values:
        if not isinstance(value, dict):
            continue
        text = _text_of(value.get("text"))
        added = False
        for coding in value.get("coding") or ():
            if isinstance(coding, dict) and (row := _coding_row(code, coding, text)):
                out.append(row)
                added = True
        if not added and text:
            out.append(TokenEntry(code, None, None, text))


def _token_identifier(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, dict) and (value.get("value") is not None or value.get("system") is not None):
            kind = value.get("type")
            text = _text_of(kind.get("text")) if isinstance(kind, dict) else None
            out.append(TokenEntry(code, value.get("system"), value.get("value"), text))


def _token_contact(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            out.append(TokenEntry(code, None, value["value"], None))


def _token_primitive(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, bool):
            out.append(TokenEntry(code, None, "true" if value else "false", None))
        elif isinstance(value, str):
            out.append(TokenEntry(code, None, value, None))
        elif _is_number(value):
            out.append(TokenEntry(code, None, str(value), None))


def _token_any(code: str, values: list, out: list) -> None:
    for value in values:
        if not isinstance(value, dict):
            _token_primitive(code, [value], out)
        elif "coding" in value or set(value) == {"text"}:
            _token_concept(code, [value], out)
        elif "code" in value:
            _token_coding(code, [value], out)
        elif "value" in value:
            _token_identifier(code, [value], out)


# -- date ---------------------------------------------------------------------------------------------


def _range_of(text: Any) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_fhir_date_range(text)
    except ValueError:
        return None


def _period_range(period: dict) -> tuple[int, int] | None:
    start, end = _range_of(period.get("start")), _range_of(period.get("end"))
    if start is None and end is None:
        return None
    return (start[0] if start else DATE_MIN), (end[1] if end else DATE_MAX)


def _timing_range(timing: dict) -> tuple[int, int] | None:
    # Only the outer limits of a schedule are searchable: its first and last events and its bounds.
    ranges = [found for event in timing.get("event") or () if (found := _range_of(event))]
    repeat = timing.get("repeat")
    if isinstance(repeat, dict) and isinstance(repeat.get("boundsPeriod"), dict):
        bounds = _period_range(repeat["boundsPeriod"])
        if bounds:
            ranges.append(bounds)
    if not ranges:
        return None
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def _date_any(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, str):
            found = _range_of(value)
        elif isinstance(value, dict):
            found = _timing_range(value) if ("event" in value or "repeat" in value) else _period_range(value)
        else:
            found = None
        if found:
            out.append(DateEntry(code, found[0], found[1]))


# -- reference ----------------------------------------------------------------------------------------


def _reference_rows(code: str, value: dict, out: list) -> None:
    text = value.get("reference")
    target_type, target_id, url = parse_reference(text) if isinstance(text, str) else (None, None, None)
    identifier = value.get("identifier")
    ident_system = ident_value = None
    if isinstance(identifier, dict):
        ident_system, ident_value = identifier.get("system"), identifier.get("value")
    declared = value.get("type")
    if target_type is None and (url or ident_system or ident_value) and isinstance(declared, str):
        # The type ``resolve() is X`` reads (``reference_type``) when the text names none, so that the rows
        # of a parameter narrowed to one target type (``derived_params``) are these rows of that type.
        target_type = declared
    if target_type or url or ident_system or ident_value:
        out.append(ReferenceEntry(code, target_type, target_id, url, ident_system, ident_value))


def _reference_any(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, str):
            out.append(ReferenceEntry(code, None, None, value, None, None))
        elif isinstance(value, dict):
            if isinstance(value.get("resourceType"), str):
                # An embedded resource (Bundle.entry[0].resource) stands for a reference to itself.
                if isinstance(value.get("id"), str):
                    out.append(ReferenceEntry(code, value["resourceType"], value["id"], None, None, None))
            else:
                _reference_rows(code, value, out)


# -- quantity, number, uri ----------------------------------------------------------------------------


def _quantity_rows(code: str, value: dict, out: list) -> None:
    number = value.get("value")
    if _is_number(number):
        unit = value.get("code") if value.get("code") is not None else value.get("unit")
        out.append(QuantityEntry(code, float(number), value.get("system"), unit))


def _quantity_any(code: str, values: list, out: list) -> None:
    for value in values:
        if _is_number(value):
            out.append(QuantityEntry(code, float(value), None, None))
        elif not isinstance(value, dict):
            continue
        elif "currency" in value and _is_number(value.get("value")):
            out.append(QuantityEntry(code, float(value["value"]), ISO_4217, value["currency"]))
        elif "low" in value or "high" in value:
            # A Range indexes as its two ends; range-overlap semantics are not kept (see report).
            for end in (value.get("low"), value.get("high")):
                if isinstance(end, dict):
                    _quantity_rows(code, end, out)
        elif "data" not in value:  # SampledData has no single value to search on
            _quantity_rows(code, value, out)


def _number_any(code: str, values: list, out: list) -> None:
    for value in values:
        if _is_number(value):
            out.append(NumberEntry(code, float(value)))
        elif isinstance(value, dict):
            ends = (value.get("low"), value.get("high")) if ("low" in value or "high" in value) else (value,)
            for end in ends:
                if isinstance(end, dict) and _is_number(end.get("value")):
                    out.append(NumberEntry(code, float(end["value"])))


def _uri_any(code: str, values: list, out: list) -> None:
    for value in values:
        if isinstance(value, str):
            out.append(UriEntry(code, value))


def _skip(code: str, values: list, out: list) -> None:
    return None


# -- dispatch -----------------------------------------------------------------------------------------

_BY_TYPE: dict[str, dict[str, Converter]] = {
    "string": {
        **dict.fromkeys(_STRING_TYPES, _string_primitive),
        "HumanName": _string_parts(_NAME_PARTS),
        "Address": _string_parts(_ADDRESS_PARTS),
    },
    "token": {
        **dict.fromkeys((*_STRING_TYPES, "boolean", *_NUMBER_TYPES), _token_primitive),
        "Coding": _token_coding,
        "CodeableConcept": _token_concept,
        "Identifier": _token_identifier,
        "ContactPoint": _token_contact,
    },
    "date": dict.fromkeys(("date", "dateTime", "instant", "Period", "Timing"), _date_any),
    "reference": {"Reference": _reference_any, **dict.fromkeys(_URI_TYPES, _reference_any)},
    "quantity": dict.fromkeys((*_QUANTITY_TYPES, "Money", "Range", *_NUMBER_TYPES), _quantity_any),
    "number": dict.fromkeys((*_NUMBER_TYPES, "Range", *_QUANTITY_TYPES), _number_any),
    "uri": dict.fromkeys(_STRING_TYPES, _uri_any),
}
_BY_SHAPE: dict[str, Converter] = {
    "string": _string_any,
    "token": _token_any,
    "date": _date_any,
    "reference": _reference_any,
    "quantity": _quantity_any,
    "number": _number_any,
    "uri": _uri_any,
}
_DATATYPES = frozenset(
    {
        "Address", "Age", "Annotation", "Attachment", "BackboneElement", "CodeableConcept", "Coding",
        "ContactDetail", "ContactPoint", "Contributor", "Count", "DataRequirement", "Distance", "Dosage",
        "Duration", "Expression", "Extension", "HumanName", "Identifier", "Meta", "Money", "Narrative",
        "ParameterDefinition", "Period", "Quantity", "Range", "Ratio", "RelatedArtifact", "SampledData",
        "Signature", "Timing", "TriggerDefinition", "UsageContext",
    }
)  # fmt: skip


@lru_cache(maxsize=4096)
def converter(param_type: str, tpath: str | None) -> Converter:
    """The conversion for values of one FHIR type (an extractor type path) under a parameter type."""
    fhir_type = fhir_type_name(tpath)
    if fhir_type is None:
        return _BY_SHAPE.get(param_type, _skip)
    table = _BY_TYPE.get(param_type, {})
    found = table.get(fhir_type)
    if found is not None:
        return found
    if param_type == "reference" and fhir_type[0].isupper() and fhir_type not in _DATATYPES:
        # A resource (Bundle.entry[0].resource, a contained one) stands for a reference to itself.
        return _reference_any
    return _skip
