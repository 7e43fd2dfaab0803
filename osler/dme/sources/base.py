"""The one interface every order source implements, and the records it hands the pipeline.

A source answers two questions: what is new (``discover``: items with a stable idempotency key, cheap,
no document bytes) and what an item holds (``fetch``: the documents' bytes and, for an EHR order, the
structured facts its FHIR resources state). The pipeline calls ``fetch`` inside a durable step, so it
may be called again after a crash and must not change anything; ``archive`` (after the step recorded
the fetch) is where a source may move a file out of its inbox.

``Auth`` is how an HTTP source authenticates: ``BearerToken`` now; SMART backend services (a signed JWT
exchanged for a short-lived token) implements the same protocol. A browser-automation source (an EHR web
portal driven by Playwright) will implement ``Source`` too: discover the portal's new referrals, fetch
their PDFs — nothing of it exists yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from osler.dme.model import ExtractedField


@dataclass(frozen=True)
class Discovered:
    """Something new at a source. ``key`` is the idempotency key (and DBOS workflow id); ``ref`` is what
    ``fetch`` needs to find it again (JSON)."""

    key: str
    source: str  # the source's name
    ref: dict[str, Any]


@dataclass
class FetchedFile:
    """One received file, or the ordered fragments of one document (several attachments of one
    DocumentReference), each as raw bytes with its media type."""

    source: str  # "fhir:DocumentReference/12", "fax:scan-001.pdf", "maildir:<message id>"
    filename: str
    parts: list[tuple[bytes, str]]  # (bytes, media type), in order


@dataclass
class FetchedOrder:
    """What ``fetch`` returns. ``is_order``: an EHR order whose documents all belong to it (the case is
    complete as fetched); otherwise loose documents (fax, mail) the pipeline matches to cases."""

    key: str
    source: str
    is_order: bool
    files: list[FetchedFile] = field(default_factory=list)
    fields: dict[str, ExtractedField] = field(default_factory=dict)  # facts from structured resources


class Source(Protocol):
    name: str

    def discover(self) -> Iterable[Discovered]: ...

    def fetch(self, item: Discovered) -> FetchedOrder: ...

    def archive(self, item: Discovered) -> None: ...


class Auth(Protocol):
    """Authenticates an HTTP client; ``headers`` is called per request so expiring tokens can refresh."""

    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class BearerToken:
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


class AuthFlow(httpx.Auth):
    """Adapts an ``Auth`` to httpx."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers.update(self.auth.headers())
        yield request
