"""What the durable steps of this process work with — settings, ledger, cache, stage functions, sources —
set once by the worker before DBOS launches (recovery of interrupted workflows starts at launch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osler.dme.config import DmeSettings
from osler.dme.pipeline.cache import ContentCache
from osler.dme.pipeline.ledger import Ledger
from osler.dme.pipeline.stages import Stages, load_stages
from osler.dme.sources import BearerToken, FaxFolder, FhirSource, MaildirSource, Source


@dataclass
class Runtime:
    settings: DmeSettings
    ledger: Ledger
    cache: ContentCache
    stages: Stages
    sources: dict[str, Source] = field(default_factory=dict)
    deduper: Any = None  # routing's deduper over attached documents (see workflows._attached_deduper)
    deduped: set[str] = field(default_factory=set)  # the document keys it holds


def configured_sources(settings: DmeSettings, ledger: Ledger) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    if settings.fhir_url:
        if not settings.supplier:
            raise ValueError("the FHIR source needs the supplier's Organization id (OSLER_DME_SUPPLIER)")
        fhir = FhirSource(settings.fhir_url, settings.supplier, auth=BearerToken(settings.fhir_token))
        fhir.watermark = ledger.watermark(fhir.base_url)
        sources[fhir.name] = fhir
    if settings.fax_folder:
        sources["fax"] = FaxFolder(Path(settings.fax_folder))
    if settings.maildir:
        sources["maildir"] = MaildirSource(Path(settings.maildir))
    return sources


def build_runtime(settings: DmeSettings) -> Runtime:
    settings.home.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    return Runtime(settings, ledger, ContentCache(settings.cache_dir), load_stages(settings.stages),
                   configured_sources(settings, ledger))


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the DME pipeline runtime is not installed: start a Worker first")
    return _current
