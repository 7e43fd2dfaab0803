"""The optional LLM extractor: the document's text to any OpenAI-compatible chat-completions endpoint,
asking for the field vocabulary as JSON under a Pydantic schema, then checked against the deterministic
extractor, which always has the last word:

- the endpoint fails, times out or answers something the schema rejects → the deterministic fields as they are;
- both read a field and agree → the deterministic field, a little more confident;
- both read it and disagree → the deterministic field, less confident, and a note naming the field;
- only the LLM reads it → the LLM's value (``extractor="llm"``), modestly confident, quoted from the page when
  its text can be found there.

Off unless ``OSLER_DME_LLM_URL`` is set (with ``OSLER_DME_LLM_MODEL`` and, if the server wants one,
``OSLER_DME_LLM_KEY``). Notes name fields, never values: they may be logged."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ValidationError

from osler.dme.model import Document, ExtractedField, Provenance
from osler.dme.understand.extract import extract

DEFAULT_TIMEOUT_S = 30.0
MAX_CHARACTERS = 24_000  # what is sent of a long document: its beginning, where orders and reports put the facts
AGREEMENT_BONUS = 0.05
DISAGREEMENT_PENALTY = 0.3
LLM_ONLY_CONFIDENCE = 0.6
NUMBER_TOLERANCE = 0.05


class PersonName(BaseModel):
    family: str
    given: str


class ItemSettings(BaseModel):
    pressure: float | None = None
    pressure_min: float | None = None
    pressure_max: float | None = None
    ipap: float | None = None
    epap: float | None = None
    mask: Literal["full-face", "nasal", "nasal-pillows"] | None = None
    humidifier: bool | None = None
    oxygen_lpm: float | None = None
    oxygen_use: Literal["continuous", "nocturnal", "exertional"] | None = None


class Item(BaseModel):
    hcpcs: str
    quantity: int = 1
    settings: ItemSettings = ItemSettings()


class SleepStudy(BaseModel):
    date: dt.date | None = None
    type: Literal["PSG", "HST"] | None = None
    ahi: float | None = None
    rdi: float | None = None
    total_events: int | None = None
    recording_hours: float | None = None


class FaceToFace(BaseModel):
    date: dt.date | None = None
    symptoms: list[str] = []
    comorbidities: list[str] = []


class OxygenTest(BaseModel):
    date: dt.date | None = None
    spo2: float | None = None
    pao2: float | None = None
    condition: Literal["rest", "exercise", "sleep"] | None = None


class LlmFields(BaseModel):
    """The field vocabulary of ``osler.dme.model``; every field optional (null when the document lacks it)."""

    patient_name: PersonName | None = None
    birth_date: dt.date | None = None
    sex: Literal["female", "male"] | None = None
    mrn: str | None = None
    mbi: str | None = None
    payer: str | None = None
    member_id: str | None = None
    order_date: dt.date | None = None
    items: list[Item] | None = None
    prescriber_name: PersonName | None = None
    prescriber_npi: str | None = None
    signature_present: bool | None = None
    diagnoses: list[str] | None = None
    sleep_study: SleepStudy | None = None
    face_to_face: FaceToFace | None = None
    oxygen_test: OxygenTest | None = None


INSTRUCTIONS = (
    "You read one medical document sent to a durable medical equipment supplier and return its facts as JSON "
    "matching the schema. Use null for anything the document does not state; never guess. Dates as YYYY-MM-DD. "
    "prescriber_* is the ordering/prescribing practitioner, not a practice, supplier or interpreting physician. "
    "signature_present is true only when the order or note is actually signed. diagnoses are ICD-10-CM codes."
)


@dataclass(frozen=True)
class LlmSettings:
    url: str
    model: str
    key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls) -> LlmSettings | None:
        """The settings from ``OSLER_DME_LLM_*``, or None when no endpoint is configured (the default)."""
        url = os.environ.get("OSLER_DME_LLM_URL", "").strip()
        if not url:
            return None
        return cls(url, os.environ.get("OSLER_DME_LLM_MODEL", "default"), os.environ.get("OSLER_DME_LLM_KEY") or None,
                   float(os.environ.get("OSLER_DME_LLM_TIMEOUT_S", DEFAULT_TIMEOUT_S)))


@dataclass
class CheckedFields:
    fields: dict[str, ExtractedField]
    notes: list[str] = field(default_factory=list)


def ask(document: Document, settings: LlmSettings) -> LlmFields:
    """One chat-completions call for ``document``; raises on any transport, HTTP or schema failure."""
    text = "\n".join(f"--- page {page.number} ---\n{page.text}" for page in document.pages)[:MAX_CHARACTERS]
    body = {
        "model": settings.model,
        "temperature": 0,
        "messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": text}],
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": "dme_fields", "schema": LlmFields.model_json_schema()}},
    }
    headers = {"Authorization": f"Bearer {settings.key}"} if settings.key else {}
    with httpx.Client(timeout=settings.timeout_s) as http:
        response = http.post(settings.url.rstrip("/") + "/chat/completions", json=body, headers=headers)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    return LlmFields.model_validate_json(_strip_code_fence(content))


def _strip_code_fence(content: str) -> str:
    fenced = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", content, re.DOTALL)
    return fenced.group(1) if fenced else content


def extract_checked(document: Document, settings: LlmSettings | None = None,
                    deterministic: dict[str, ExtractedField] | None = None) -> CheckedFields:
    """The deterministic fields, checked against and completed by the LLM's reading (see the module doc)."""
    deterministic = extract(document) if deterministic is None else deterministic
    settings = settings or LlmSettings.from_env()
    if settings is None:
        return CheckedFields(dict(deterministic))
    try:
        answer = ask(document, settings)
    except (httpx.HTTPError, ValidationError, ValueError, KeyError, IndexError, TypeError) as error:
        return CheckedFields(dict(deterministic), [f"LLM extractor unavailable ({type(error).__name__}); "
                                                   "deterministic fields used"])
    return combine(document, deterministic, answer.model_dump(mode="json", exclude_none=True))


def combine(document: Document, deterministic: dict[str, ExtractedField], llm: dict[str, Any]) -> CheckedFields:
    fields = dict(deterministic)
    notes = []
    for name, value in llm.items():
        if value in (None, [], {}):
            continue
        ours = fields.get(name)
        if ours is None:
            fields[name] = ExtractedField(name, value, LLM_ONLY_CONFIDENCE, _locate(document, value), "llm")
        elif same_value(ours.value, value):
            fields[name] = replace(ours, confidence=min(0.99, ours.confidence + AGREEMENT_BONUS))
        else:
            fields[name] = replace(ours, confidence=round(max(0.05, ours.confidence - DISAGREEMENT_PENALTY), 3))
            notes.append(f"{name}: the LLM extractor read a different value; the deterministic one is kept")
    return CheckedFields(fields, notes)


def same_value(ours: Any, theirs: Any) -> bool:
    """Whether two readings agree, in the terms that matter: text without case and punctuation, numbers
    within a tolerance, lists as sets, records on the keys both have."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return ours == theirs
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return abs(ours - theirs) <= NUMBER_TOLERANCE
    if isinstance(ours, dict) and isinstance(theirs, dict):
        shared = [key for key in ours if key in theirs and ours[key] is not None and theirs[key] is not None]
        return all(same_value(ours[key], theirs[key]) for key in shared)
    if isinstance(ours, list) and isinstance(theirs, list):
        if all(isinstance(item, dict) for item in [*ours, *theirs]):  # items, matched by their code
            theirs_by_code = {_plain(item.get("hcpcs", "")): item for item in theirs}
            ours_by_code = {_plain(item.get("hcpcs", "")): item for item in ours}
            return set(ours_by_code) == set(theirs_by_code) and all(
                same_value(item, theirs_by_code[code]) for code, item in ours_by_code.items())
        return {_plain(item) for item in ours} == {_plain(item) for item in theirs}
    return _plain(ours) == _plain(theirs)


def _plain(value: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(value).casefold())


def _locate(document: Document, value: Any) -> Provenance | None:
    """Where the page says a text value the LLM read (an identifier, a payer), when it says it verbatim."""
    if not isinstance(value, str) or len(value) < 3:
        return None
    pattern = re.compile(r"[\s-]?".join(re.escape(char) for char in value if not char.isspace()), re.IGNORECASE)
    for page in document.pages:
        found = pattern.search(page.text)
        if found:
            return Provenance(document.sha256, page.number, found.start(), found.end(), found.group())
    return None
