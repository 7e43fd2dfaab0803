"""The stage functions the pipeline calls, gathered in one place so a process can be pointed at other
implementations (``OSLER_DME_STAGES=<module>`` whose ``STAGES`` is a ``Stages``) — the pipeline's own
tests do that to exercise durability without OCR. By default they are osler.dme's text, understand,
dedupe, matching and qualify functions."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from osler.dme.model import Decision, Document, DocumentKind, ExtractedField, OrderCase, Page


@dataclass(frozen=True)
class Stages:
    read_pages: Callable[..., list[Page]]  # (pdf, *, document, ocr_processes) → pages; raises unreadable
    to_pdf: Callable[[bytes, str], bytes]
    assemble: Callable[[list[bytes]], bytes]
    classify: Callable[[Document], tuple[DocumentKind, float]]
    extract: Callable[[Document], dict[str, ExtractedField]]
    new_deduper: Callable[[], Any]  # an object with check(document) → verdict and add(document)
    match: Callable[[Document, list[OrderCase]], Any]  # → .case_key, .score, .needs_review, .reasons
    decide: Callable[[OrderCase], Decision]
    merge_fields: Callable[[OrderCase], dict[str, ExtractedField]]
    unreadable: type[Exception]  # what read_pages/to_pdf raise for a file that cannot be read


def osler_stages() -> Stages:
    from osler.dme import dedupe, matching, qualify, text, understand

    return Stages(text.read_pages, text.to_pdf, text.assemble, understand.classify, understand.extract,
                  dedupe.Deduper, matching.match, qualify.decide, qualify.merge_fields, text.UnreadableDocument)


def load_stages(module: str = "") -> Stages:
    if not module:
        return osler_stages()
    return importlib.import_module(module).STAGES
