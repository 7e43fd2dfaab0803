"""Whether an extracted value matches its label, after the normalization a reader would allow (names by
family and first given name, dates as ISO, numbers within a tolerance, identifiers without punctuation), and
which fields each kind of document is scored on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

ORDER_SCOPE = ("patient_name", "birth_date", "sex", "mrn", "mbi", "payer", "member_id", "order_date", "items",
               "prescriber_name", "prescriber_npi", "signature_present", "diagnoses")
IDENTITY = ("patient_name", "birth_date", "sex", "mrn", "mbi")
# The fields scored for each kind of document: a value a document could state. An extracted field outside its
# document's scope is not scored (an extractor may legitimately ignore a facesheet's physician, say).
FIELD_SCOPE: dict[str, tuple[str, ...]] = {
    "dme_order": ORDER_SCOPE,
    "facesheet": (*IDENTITY, "payer", "member_id"),
    "office_note": (*IDENTITY, "prescriber_name", "prescriber_npi", "signature_present", "diagnoses", "face_to_face"),
    "sleep_study": (*IDENTITY, "prescriber_name", "prescriber_npi", "diagnoses", "sleep_study"),
    "oxygen_test": (*IDENTITY, "prescriber_name", "prescriber_npi", "diagnoses", "oxygen_test"),
    "encounter_summary": (*IDENTITY, "payer", "member_id", "diagnoses"),
    "non_dme": (),
}
NUMBER_TOLERANCE = 0.05


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%B %d, %Y", "%b %d, %Y", "%d-%b-%Y", "%d %B %Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return text


def _token(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()


def _words(value: Any) -> str:
    return " ".join(str(value).casefold().split())


def _number_equal(expected: Any, got: Any) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    try:
        return abs(float(expected) - float(got)) <= NUMBER_TOLERANCE
    except (TypeError, ValueError):
        return False


def _name(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        family, given = value.get("family", ""), value.get("given", "")
    elif isinstance(value, str) and "," in value:
        family, given = value.split(",", 1)
    elif isinstance(value, str) and value.split():
        given, family = value.split()[0], value.split()[-1]
    else:
        return "", ""
    first = (str(given).split() or [""])[0]
    return re.sub(r"[^a-z]", "", str(family).casefold()), re.sub(r"[^a-z]", "", first.casefold())


def _setting_equal(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(expected, int | float):
        return _number_equal(expected, got)
    return _words(expected) == _words(got)


def _items_equal(expected: list[dict[str, Any]], got: Any) -> bool:
    if not isinstance(got, list) or not all(isinstance(item, dict) for item in got):
        return False

    def lines(items: list[dict[str, Any]]) -> set[tuple[str, int]]:
        return {(_token(item.get("hcpcs", "")), int(item.get("quantity") or 1)) for item in items}

    def settings(items: list[dict[str, Any]]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in items:
            merged |= item.get("settings") or {}
        return merged

    if lines(expected) != lines(got):
        return False
    stated, found = settings(expected), settings(got)
    return all(key in found and _setting_equal(value, found[key]) for key, value in stated.items())


def _record_equal(expected: dict[str, Any], got: Any, *, numbers: Iterable[str], pooled: Iterable[str] = ()) -> bool:
    """Dates as ISO, ``numbers`` within the tolerance, the ``pooled`` lists as one set (which list a condition
    is filed under — insomnia as a symptom or a comorbidity — is not scored), other strings case-insensitively."""
    if not isinstance(got, dict) or _iso(expected.get("date")) != _iso(got.get("date")):
        return False
    for key in numbers:
        if not _number_equal(expected.get(key), got.get(key)):
            return False
    pooled = tuple(pooled)
    if {_words(v) for k in pooled for v in expected.get(k) or []} != {_words(v) for k in pooled
                                                                       for v in got.get(k) or []}:
        return False
    text_keys = [k for k, v in expected.items() if isinstance(v, str) and k != "date"]
    return all(_words(expected[k]) == _words(got.get(k, "")) for k in text_keys)


def values_equal(name: str, expected: Any, got: Any) -> bool:
    """Whether an extracted value matches the label, after normalization: names case-insensitively (family name
    and first given name), dates as ISO, numbers within 0.05, identifiers without punctuation, codes as sets,
    items as sets of (HCPCS, quantity) with the labelled settings."""
    if got is None:
        return False
    if name in ("patient_name", "prescriber_name"):
        return _name(expected) == _name(got)
    if name in ("birth_date", "order_date"):
        return _iso(expected) == _iso(got)
    if name in ("mrn", "mbi", "member_id", "prescriber_npi"):
        return _token(expected) == _token(got)
    if name == "sex":
        return _words(expected)[:1] == _words(got)[:1]
    if name == "payer":
        return _words(expected) == _words(got)
    if name == "signature_present":
        return bool(expected) == bool(got)
    if name == "diagnoses":
        return isinstance(got, list) and {_token(c) for c in expected} == {_token(c) for c in got}
    if name == "items":
        return _items_equal(expected, got)
    if name == "sleep_study":
        return _record_equal(expected, got, numbers=("ahi", "rdi", "total_events", "recording_hours"))
    if name == "face_to_face":
        return _record_equal(expected, got, numbers=(), pooled=("symptoms", "comorbidities"))
    if name == "oxygen_test":
        return _record_equal(expected, got, numbers=("spo2", "pao2"))
    return expected == got
