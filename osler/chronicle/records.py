"""The values the Chronicle hands back: stored versions, write outcomes, changes, search pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson

from osler.fhir.instants import format_instant
from osler.fhir.outcome import Issue


@dataclass(frozen=True)
class Actor:
    """Who is acting and why — recorded on every audit row."""

    name: str = "system"
    purpose: str | None = None


SYSTEM = Actor()


@dataclass
class Stored:
    """One version of a resource as stored. ``content`` is the exact JSON text the API serves."""

    res_type: str
    res_id: str
    version: int
    last_updated: int
    content: str | None
    deleted: bool = False
    pk: int = 0

    @cached_property
    def resource(self) -> dict[str, Any]:
        return orjson.loads(self.content) if self.content else {}

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def last_updated_instant(self) -> str:
        return format_instant(self.last_updated)

    @property
    def location(self) -> str:
        return f"{self.res_type}/{self.res_id}/_history/{self.version}"


@dataclass
class WriteResult:
    """The outcome of a write: the stored version and whether it created a resource."""

    stored: Stored
    created: bool
    unchanged: bool = False  # conditional create that matched an existing resource


@dataclass(frozen=True)
class Change:
    seq: int
    res_type: str
    res_id: str
    version: int
    op: str
    ts: int


@dataclass
class HistoryEntry:
    stored: Stored
    method: str


@dataclass
class SearchPage:
    """One page of search results, with what the API needs to build the searchset Bundle."""

    matches: list[Stored]
    included: list[Stored]
    total: int | None
    offset: int
    count: int
    snapshot_id: str | None
    issues: list[Issue] = field(default_factory=list)
    elements: list[str] | None = None
    summary: str | None = None
    query_string: str = ""
    cursors: dict[str, str] = field(default_factory=dict)  # keyset paging: link relation → _cursor
