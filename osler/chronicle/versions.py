"""Preparing a new version of a resource: id, meta.versionId/lastUpdated, validation, index rows."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import orjson

from osler.chronicle.records import Stored
from osler.chronicle.rows import PreparedWrite
from osler.fhir.indexing import extract_index
from osler.fhir.instants import format_instant
from osler.fhir.outcome import BadRequest
from osler.fhir.validation import validate_resource


def new_id() -> str:
    return str(uuid.uuid4())


def stamp(resource: dict[str, Any], res_id: str, version: int, now: int) -> dict[str, Any]:
    """A copy of ``resource`` carrying the server's id, versionId and lastUpdated."""
    stamped = dict(resource)
    stamped["id"] = res_id
    meta = dict(stamped.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = format_instant(now)
    stamped["meta"] = meta
    return stamped


def without_server_meta(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource minus what the server sets, to tell a real change from a no-op update."""
    stripped = dict(resource)
    meta = {k: v for k, v in (stripped.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        stripped["meta"] = meta
    else:
        stripped.pop("meta", None)
    return stripped


def prepare_version(resource: dict[str, Any], *, res_id: str, version: int, now: int, method: str,
                    replaces: Stored | None, validated: bool = False) -> PreparedWrite:
    """Validate (unless already done), stamp and index one resource version.

    ``replaces``: the current version this one replaces (None for a create).
    """
    if not validated:
        validate_resource(resource)
    stamped = stamp(resource, res_id, version, now)
    return PreparedWrite(
        res_type=stamped["resourceType"], res_id=res_id, version=version, last_updated=now,
        content=orjson.dumps(stamped).decode(), index_rows=extract_index(stamped), method=method,
        expected_version=replaces.version if replaces else None, replaced_index_rows=index_rows_of(replaces),
    )


def prepare_delete(replaces: Stored, *, now: int) -> PreparedWrite:
    return PreparedWrite(res_type=replaces.res_type, res_id=replaces.res_id, version=replaces.version + 1,
                         last_updated=now, content=None, index_rows=[], method="DELETE",
                         expected_version=replaces.version, replaced_index_rows=index_rows_of(replaces))


def index_rows_of(stored: Stored | None) -> list[NamedTuple] | None:
    """The index rows a stored version was written with (a deletion has none); None if not known."""
    if stored is None:
        return None
    return [] if stored.deleted or stored.content is None else extract_index(stored.resource)


def parse_etag(value: str | None) -> int | None:
    """``W/"3"`` or ``"3"`` or ``3`` → 3; None when absent."""
    if value is None:
        return None
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit():
        raise BadRequest(f"If-Match must name a version, like W/\"3\"; got {value!r}")
    return int(cleaned)
