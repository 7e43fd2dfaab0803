"""DME order intake: the records every stage of the pipeline passes on — documents with their pages,
extracted fields with provenance, order cases and decisions. Plain dataclasses that round-trip through
JSON (``as_json`` / ``from_json``), because every stage's output is stored as a durable step result.

Field names are one vocabulary for the extractor, the rules, the evaluation and the delivered record:

=====================  ===============================================================================
field                  value (JSON)
=====================  ===============================================================================
``patient_name``       ``{"family": str, "given": str}``
``birth_date``         ISO date ``"1951-04-09"``
``sex``                ``"female" | "male"``
``mrn``                str
``mbi``                Medicare Beneficiary Identifier, 11 characters, format-checked
``payer``              str (payer name as written)
``member_id``          str
``order_date``         ISO date
``items``              ``[{"hcpcs": "E0601", "quantity": 1, "settings": {...}}]`` — settings keys:
                       ``pressure`` (cm H2O), ``pressure_min``/``pressure_max`` (auto range), ``ipap``/``epap``,
                       ``mask`` (``full-face | nasal | nasal-pillows``), ``humidifier`` (bool),
                       ``oxygen_lpm`` (L/min), ``oxygen_use`` (``continuous | nocturnal | exertional``)
``prescriber_name``    ``{"family": str, "given": str}``
``prescriber_npi``     10 digits, check digit valid
``signature_present``  bool — the order or note is signed (a signature line with a name/date, "electronically
                       signed by …")
``diagnoses``          ``["G47.33", …]`` ICD-10-CM codes
``sleep_study``        ``{"date": ISO, "type": "PSG" | "HST", "ahi": float | None, "rdi": float | None,
                       "total_events": int | None, "recording_hours": float | None}``
``face_to_face``       ``{"date": ISO, "symptoms": [str], "comorbidities": [str]}``
``oxygen_test``        ``{"date": ISO, "spo2": float | None, "pao2": float | None,
                       "condition": "rest" | "exercise" | "sleep"}``
=====================  ===============================================================================
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any


class DocumentKind(StrEnum):
    DME_ORDER = "dme_order"
    FACESHEET = "facesheet"
    OFFICE_NOTE = "office_note"  # the face-to-face evaluation
    SLEEP_STUDY = "sleep_study"
    OXYGEN_TEST = "oxygen_test"
    ENCOUNTER_SUMMARY = "encounter_summary"
    NON_DME = "non_dme"


FIELD_NAMES = ("patient_name", "birth_date", "sex", "mrn", "mbi", "payer", "member_id", "order_date", "items",
               "prescriber_name", "prescriber_npi", "signature_present", "diagnoses", "sleep_study", "face_to_face",
               "oxygen_test")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where a value was read: the document (its sha256), the page (1-based) and the text span on it."""

    document: str
    page: int
    start: int
    end: int
    text: str


@dataclass
class ExtractedField:
    name: str
    value: Any
    confidence: float  # 0..1
    provenance: Provenance | None = None
    extractor: str = "deterministic"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExtractedField:
        source = data.get("provenance")
        return cls(data["name"], data["value"], data["confidence"], Provenance(**source) if source else None,
                   data.get("extractor", "deterministic"))


@dataclass
class Page:
    number: int  # 1-based
    text: str
    source: str  # "text-layer" | "ocr"
    ocr_confidence: float | None = None  # Tesseract's mean word confidence, 0..100, for OCRed pages


@dataclass
class Document:
    """One document as the pipeline knows it. ``sha256`` is of the assembled PDF bytes (the cache key)."""

    sha256: str
    source: str  # where it came from: "fhir:DocumentReference/123", "fax:<file name>", "maildir:<message id>"
    filename: str
    media_type: str
    pages: list[Page] = field(default_factory=list)
    kind: DocumentKind | None = None
    kind_confidence: float = 0.0
    fields: dict[str, ExtractedField] = field(default_factory=dict)
    quarantined: str | None = None  # the reason, when the file could not be read

    @property
    def text(self) -> str:
        return "\n\f".join(page.text for page in self.pages)

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return None if found is None else found.value

    def as_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "source": self.source, "filename": self.filename,
                "media_type": self.media_type, "pages": [asdict(p) for p in self.pages],
                "kind": self.kind.value if self.kind else None, "kind_confidence": self.kind_confidence,
                "fields": {name: f.as_json() for name, f in self.fields.items()}, "quarantined": self.quarantined}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        return cls(data["sha256"], data["source"], data["filename"], data["media_type"],
                   [Page(**p) for p in data.get("pages", [])],
                   DocumentKind(data["kind"]) if data.get("kind") else None, data.get("kind_confidence", 0.0),
                   {name: ExtractedField.from_json(f) for name, f in data.get("fields", {}).items()},
                   data.get("quarantined"))


@dataclass
class Missing:
    """One thing an order lacks for the payer, in words the ordering practice can act on."""

    code: str  # e.g. "sleep-study", "face-to-face-before-study", "ahi-threshold", "prescriber-signature"
    message: str


@dataclass
class Decision:
    status: str  # "qualified" | "missing" | "not-dme" | "needs-review"
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rules that passed, warnings, unreadable documents
    rule_set: str = ""  # e.g. "medicare-cpap-e0601"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(data["status"], [Missing(**m) for m in data.get("missing", [])], list(data.get("notes", [])),
                   data.get("rule_set", ""))


@dataclass
class OrderCase:
    """An order and its supporting documents. ``key`` is the idempotency key: the source's order id
    (``fhir:<base>/DeviceRequest/<id>``) or, for a fax packet, the sha256 of the order document."""

    key: str
    source: str
    documents: list[Document] = field(default_factory=list)
    fields: dict[str, ExtractedField] = field(default_factory=dict)  # the case's merged view
    decision: Decision | None = None
    superseded_by: str | None = None  # an amended order's key replaces this one
    supersedes: str | None = None  # this amended order replaces that order (delivered or not)

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "source": self.source, "documents": [d.as_json() for d in self.documents],
                "fields": {name: f.as_json() for name, f in self.fields.items()},
                "decision": self.decision.as_json() if self.decision else None, "superseded_by": self.superseded_by,
                "supersedes": self.supersedes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderCase:
        return cls(data["key"], data["source"], [Document.from_json(d) for d in data.get("documents", [])],
                   {name: ExtractedField.from_json(f) for name, f in data.get("fields", {}).items()},
                   Decision.from_json(data["decision"]) if data.get("decision") else None, data.get("superseded_by"),
                   data.get("supersedes"))


def fill_from(richer: Document, replaced: Document) -> None:
    """A repeat taking a kept copy's place (it reads what the copy lost) keeps what only the copy read: each
    copy's OCR loses something of its own (the re-scan read the MRN the first copy lost, and lost the test's
    date the first one read), and both are one document. A field the repeat lacks is taken whole, a record's
    part it lacks (a study's or a test's date) is filled in; what the repeat states stands."""
    for name, kept in replaced.fields.items():
        mine = richer.fields.get(name)
        if mine is None:
            richer.fields[name] = kept
        elif isinstance(mine.value, dict) and isinstance(kept.value, dict):
            lacking = {part: value for part, value in kept.value.items()
                       if value is not None and mine.value.get(part) is None}
            if lacking:
                richer.fields[name] = replace(mine, value={**mine.value, **lacking})
