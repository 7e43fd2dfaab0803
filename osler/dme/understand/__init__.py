"""Understanding documents: what kind each is (``classify``) and what it says (``extract``: the fields of
``osler.dme.model``'s vocabulary, each with provenance and confidence). Deterministic and offline; an
optional LLM extractor (``osler.dme.understand.llm``) can be checked against it."""

from osler.dme.understand import validators
from osler.dme.understand.classify import classify
from osler.dme.understand.extract import extract
from osler.dme.understand.normalize import normalize_text

__all__ = ["classify", "extract", "normalize_text", "validators"]
