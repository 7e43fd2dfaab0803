"""Builders of DME documents and cases with known fields, for the dedupe, matching and qualification tests:
a patient, a prescriber with a valid NPI, and the documents of a CPAP or oxygen case."""

from __future__ import annotations

import hashlib
import random
from itertools import count
from typing import Any

from osler.dme.model import Document, DocumentKind, ExtractedField, OrderCase, Page

VALID_NPI = "1234567893"  # the check digit CMS's own example uses
VALID_MBI = "1EG4TE5MK73"  # CMS's example MBI
PATIENT: dict[str, Any] = {"patient_name": {"family": "Rivera", "given": "Ana"}, "birth_date": "1950-04-09",
                           "mbi": VALID_MBI, "mrn": "MRN1001"}
OTHER_PATIENT: dict[str, Any] = {"patient_name": {"family": "Okafor", "given": "James"}, "birth_date": "1948-11-23",
                                 "mbi": "2FH5UF6NP84", "mrn": "MRN2002"}
PRESCRIBER: dict[str, Any] = {"prescriber_name": {"family": "Chen", "given": "Lily"}, "prescriber_npi": VALID_NPI}

_numbers = count(1)


def document(kind: DocumentKind | None, text: str = "", *, sha: str | None = None, quarantined: str | None = None,
             filename: str | None = None, **values: Any) -> Document:
    number = next(_numbers)
    digest = sha or hashlib.sha256(f"{number}:{text}".encode()).hexdigest()
    fields = {name: ExtractedField(name, value, 0.95) for name, value in values.items() if value is not None}
    return Document(digest, f"fax:test-{number}.pdf", filename or f"test-{number}.pdf", "application/pdf",
                    [Page(1, text, "text-layer")] if text else [], kind, 0.95 if kind else 0.0, fields, quarantined)


def cpap_order(hcpcs: str = "E0601", **overrides: Any) -> Document:
    values = {**PATIENT, **PRESCRIBER, "order_date": "2025-03-20", "signature_present": True,
              "items": [{"hcpcs": hcpcs, "quantity": 1, "settings": {"pressure": 10}}], "diagnoses": ["G47.33"],
              **overrides}
    return document(DocumentKind.DME_ORDER, **values)


def office_note(**overrides: Any) -> Document:
    values = {**PATIENT, **PRESCRIBER, "signature_present": True, "diagnoses": ["G47.33"],
              "face_to_face": {"date": "2025-02-01", "symptoms": ["snoring", "excessive daytime sleepiness"],
                               "comorbidities": []}, **overrides}
    return document(DocumentKind.OFFICE_NOTE, **values)


def sleep_study(ahi: float | None = 22.0, **overrides: Any) -> Document:
    study = {"date": "2025-02-15", "type": "PSG", "ahi": ahi, "rdi": None, "total_events": None,
             "recording_hours": 6.5}
    study.update(overrides.pop("study", {}))
    return document(DocumentKind.SLEEP_STUDY, **{**PATIENT, "sleep_study": study, **overrides})


def oxygen_order(**overrides: Any) -> Document:
    values = {**PATIENT, **PRESCRIBER, "order_date": "2025-05-10", "signature_present": True,
              "items": [{"hcpcs": "E1390", "quantity": 1, "settings": {"oxygen_lpm": 2, "oxygen_use": "continuous"}}],
              "diagnoses": ["J44.9"], **overrides}
    return document(DocumentKind.DME_ORDER, **values)


def oxygen_test(spo2: float | None = 87.0, pao2: float | None = None, condition: str = "rest",
                when: str = "2025-05-01", **overrides: Any) -> Document:
    test = {"date": when, "spo2": spo2, "pao2": pao2, "condition": condition}
    return document(DocumentKind.OXYGEN_TEST, **{**PATIENT, "oxygen_test": test, **overrides})


def oxygen_note(when: str = "2025-04-28", comorbidities: list[str] | None = None) -> Document:
    return office_note(diagnoses=["J44.9"], face_to_face={"date": when, "symptoms": ["dyspnea"],
                                                          "comorbidities": comorbidities or ["copd"]})


def case_of(*documents: Document, key: str = "case-1") -> OrderCase:
    return OrderCase(key, "fax", list(documents))


def prose(seed: int, words: int = 300) -> str:
    """Practice-paperwork-like filler: a few hundred words drawn from a fixed vocabulary."""
    rng = random.Random(seed)
    vocabulary = [f"{stem}{suffix}" for stem in ("patient", "sleep", "mask", "order", "airway", "pressure", "night",
                                                  "clinic", "study", "therapy", "device", "report", "history")
                  for suffix in ("", "s", "ed", "ing", "al", "ly", "ive", "ion", "er", "ist")]
    return " ".join(rng.choice(vocabulary) + str(rng.randint(0, 99)) for _ in range(words))
