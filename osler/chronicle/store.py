"""The Chronicle's public API: the one way in for every read and write of a resource.

create · read · vread · update · conditional create/update · patch · delete · history ·
search · transaction/batch · changes since a sequence number. Each write is one database
transaction: validate → assign id, versionId, lastUpdated → store current + history → index →
change feed → audit.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import jsonpatch
from sqlalchemy import Connection, Engine, exc, func, select, text

from osler.chronicle import history as history_queries
from osler.chronicle.audit import AuditTrail
from osler.chronicle.database import begin_read, begin_write, is_sqlite, make_engine
from osler.chronicle.history import HistoryPage
from osler.chronicle.migrations_runner import upgrade
from osler.chronicle.records import SYSTEM, Actor, Change, SearchPage, Stored, WriteResult
from osler.chronicle.rows import CurrentReader, StaleVersion, apply_write, current_row
from osler.chronicle.schema import change_feed
from osler.chronicle.search import match_pks, parse_search
from osler.chronicle.searching import Searcher
from osler.chronicle.transactions import EntryRequest, EntryResult, TransactionRunner, parse_entries
from osler.chronicle.versions import (
    new_id,
    parse_etag,
    prepare_delete,
    prepare_version,
    without_server_meta,
)
from osler.config import Settings
from osler.fhir.instants import now_us
from osler.fhir.outcome import (
    BadRequest,
    Conflict,
    FhirError,
    Gone,
    NotFound,
    PreconditionFailed,
    VersionConflict,
)
from osler.fhir.validation import ID_PATTERN, is_resource_type, validate_resource

MAX_WRITE_RETRIES = 5


def require_type(res_type: str) -> None:
    if not is_resource_type(res_type):
        raise NotFound(f"unknown resource type {res_type!r}")


def refuse_reads(request: EntryRequest) -> EntryResult:
    raise BadRequest(f"Bundle.entry[{request.index}]: GET entries are not accepted here")


class Chronicle:
    def __init__(self, engine: Engine, *, audit_flush_seconds: float = 0.25, page_size: int = 20,
                 max_page_size: int = 1000, snapshot_ttl_seconds: int = 3600) -> None:
        self.engine = engine
        self._reader = CurrentReader(engine)
        self.audit = AuditTrail(engine, audit_flush_seconds)
        self.searcher = Searcher(engine, self.audit, default_count=page_size, max_count=max_page_size,
                                 snapshot_ttl_us=snapshot_ttl_seconds * 1_000_000)

    @classmethod
    def open(cls, database_url: str, *, migrate: bool = True, **options: Any) -> Chronicle:
        engine = make_engine(database_url)
        if migrate:
            upgrade(engine)
        return cls(engine, **options)

    @classmethod
    def from_settings(cls, settings: Settings) -> Chronicle:
        return cls.open(settings.resolved_database_url, audit_flush_seconds=settings.audit_flush_seconds,
                        page_size=settings.default_page_size, max_page_size=settings.max_page_size,
                        snapshot_ttl_seconds=settings.search_snapshot_ttl_seconds)

    def close(self) -> None:
        self.audit.close()
        self.searcher.cache_engine.dispose()
        self.engine.dispose()

    # ----------------------------------------------------------------- reads
    def current_version(self, res_type: str, res_id: str) -> Stored | None:
        """The current row (a tombstone if deleted), or None: for a write about to version it, not audited
        as a read — the write that follows is."""
        return self._reader.current(res_type, res_id)

    def read(self, res_type: str, res_id: str, *, actor: Actor = SYSTEM) -> Stored:
        require_type(res_type)
        stored = self._reader.current(res_type, res_id)
        if stored is None:
            raise NotFound(f"{res_type}/{res_id} is not known")
        self.audit.record(actor, "read", res_type, res_id, stored.version)
        if stored.deleted:
            raise Gone(f"{res_type}/{res_id} was deleted (version {stored.version})")
        return stored

    def vread(self, res_type: str, res_id: str, version: int, *, actor: Actor = SYSTEM) -> Stored:
        require_type(res_type)
        with self.engine.connect() as conn:
            stored = history_queries.version_of(conn, res_type, res_id, version)
        if stored is None:
            raise NotFound(f"{res_type}/{res_id} has no version {version}")
        self.audit.record(actor, "vread", res_type, res_id, version)
        if stored.deleted:
            raise Gone(f"version {version} of {res_type}/{res_id} is a deletion")
        return stored

    # ---------------------------------------------------------------- writes
    def create(self, resource: Any, *, actor: Actor = SYSTEM, if_none_exist: str | None = None) -> WriteResult:
        res_type = validate_resource(resource)
        for _ in range(MAX_WRITE_RETRIES):
            try:
                with begin_write(self.engine) as conn:
                    if if_none_exist:
                        existing = self.conditional_match(conn, res_type, if_none_exist)
                        if existing is not None:
                            return WriteResult(existing, created=False, unchanged=True)
                    write = prepare_version(resource, res_id=new_id(), version=1, now=now_us(), method="POST",
                                            replaces=None, validated=True)
                    return WriteResult(apply_write(conn, write, actor), created=True)
            except exc.IntegrityError:
                continue  # a uuid clash or a concurrent conditional create: try again
        raise Conflict("could not create the resource: concurrent writes kept conflicting; try again")

    def update(self, res_type: str, res_id: str, resource: Any, *, actor: Actor = SYSTEM,
               if_match: str | None = None) -> WriteResult:
        require_type(res_type)
        if not ID_PATTERN.match(res_id):
            raise BadRequest(f"{res_id!r} is not a valid FHIR id")
        validate_resource(resource, expected_type=res_type)
        if resource.get("id") is None:
            raise BadRequest("an update must carry the resource id in its body", status=400)
        if resource["id"] != res_id:
            raise BadRequest(f"the body's id {resource['id']!r} does not match the URL's id {res_id!r}")
        return self._replace(res_type, res_id, resource, actor, parse_etag(if_match), method="PUT")

    def conditional_update(self, res_type: str, criteria: str, resource: Any, *, actor: Actor = SYSTEM,
                           if_match: str | None = None) -> WriteResult:
        require_type(res_type)
        validate_resource(resource, expected_type=res_type)
        with self.engine.connect() as conn:
            existing = self.conditional_match(conn, res_type, criteria)
        if existing is None:
            body_id = resource.get("id")
            if body_id:
                return self._replace(res_type, body_id, resource, actor, None, method="PUT")
            return self.create(resource, actor=actor)
        if resource.get("id") not in (None, existing.res_id):
            raise BadRequest(f"the body's id {resource['id']!r} is not the matched {res_type}/{existing.res_id}")
        return self._replace(res_type, existing.res_id, {**resource, "id": existing.res_id}, actor,
                             parse_etag(if_match), method="PUT")

    def patch(self, res_type: str, res_id: str, operations: Any, *, actor: Actor = SYSTEM,
              if_match: str | None = None) -> WriteResult:
        current = self.read(res_type, res_id, actor=actor)
        if not isinstance(operations, list):
            raise BadRequest("a JSON Patch body must be a JSON array of operations")
        try:
            patched = jsonpatch.apply_patch(current.resource, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as error:
            raise BadRequest(f"the JSON Patch cannot be applied: {error}") from None
        if patched.get("resourceType") != res_type or patched.get("id") != res_id:
            raise BadRequest("a patch may not change resourceType or id")
        validate_resource(patched, expected_type=res_type)
        expected = parse_etag(if_match)
        return self._replace(res_type, res_id, patched, actor, expected if expected else current.version,
                             method="PATCH")

    def delete(self, res_type: str, res_id: str, *, actor: Actor = SYSTEM) -> Stored | None:
        """Delete the current version; deleting what is absent or already deleted is a no-op (None)."""
        require_type(res_type)
        for _ in range(MAX_WRITE_RETRIES):
            try:
                with begin_write(self.engine) as conn:
                    current = current_row(conn, res_type, res_id, for_update=True)
                    if current is None or current.deleted:
                        return None
                    write = prepare_delete(current, now=now_us())
                    return apply_write(conn, write, actor)
            except StaleVersion:
                continue
        raise Conflict(f"{res_type}/{res_id} kept changing while being deleted; try again")

    def _replace(self, res_type: str, res_id: str, resource: dict[str, Any], actor: Actor,
                 if_match: int | None, *, method: str) -> WriteResult:
        for _ in range(MAX_WRITE_RETRIES):
            try:
                with begin_write(self.engine) as conn:
                    current = current_row(conn, res_type, res_id, for_update=True)
                    if if_match is not None and (current is None or current.version != if_match):
                        found = "absent" if current is None else f"at version {current.version}"
                        raise VersionConflict(f"{res_type}/{res_id} is {found}, not version {if_match}: "
                                              "read it again and re-apply your change")
                    if current is not None and not current.deleted and \
                            without_server_meta(current.resource) == without_server_meta(resource):
                        return WriteResult(current, created=False, unchanged=True)
                    write = prepare_version(
                        resource, res_id=res_id, version=(current.version + 1) if current else 1, now=now_us(),
                        method=method, replaces=current, validated=True)
                    stored = apply_write(conn, write, actor)
                    return WriteResult(stored, created=current is None or current.deleted)
            except (StaleVersion, exc.IntegrityError):
                if if_match is not None:
                    raise VersionConflict(f"{res_type}/{res_id} was changed by someone else") from None
        raise Conflict(f"{res_type}/{res_id} kept changing while being updated; try again")

    def conditional_match(self, conn: Connection, res_type: str, criteria: str) -> Stored | None:
        pairs = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if not pairs:
            raise BadRequest("a conditional interaction needs search criteria")
        if not is_sqlite(self.engine):
            # Serialize conditional writes on the same criteria so two can't both create.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{res_type}?{criteria}"})
        query = parse_search(res_type, pairs, strict=True)
        pks = match_pks(conn, query)
        if len(pks) > 1:
            raise PreconditionFailed(f"the criteria {criteria!r} match {len(pks)} {res_type} resources")
        if not pks:
            return None
        return history_queries.current_by_pk(conn, pks[0])

    # ---------------------------------------------------------------- search
    def search(self, res_type: str | None, params: list[tuple[str, str]], *, actor: Actor = SYSTEM,
               strict: bool = False) -> SearchPage:
        if res_type is not None:
            require_type(res_type)
        return self.searcher.search(res_type, params, actor=actor, strict=strict)

    def everything(self, patient_id: str, params: list[tuple[str, str]], *, actor: Actor = SYSTEM) -> SearchPage:
        return self.searcher.everything(patient_id, params, actor=actor)

    def history(self, res_type: str | None = None, res_id: str | None = None, *, since: int | None = None,
                anchor: int | None = None, offset: int = 0, count: int = 50,
                actor: Actor = SYSTEM) -> HistoryPage:
        if res_type is not None:
            require_type(res_type)
        with begin_read(self.engine) as conn:
            page = history_queries.history_page(conn, res_type=res_type, res_id=res_id, since=since,
                                                anchor=anchor, offset=offset, count=count)
        if res_id is not None and page.total == 0:
            raise NotFound(f"{res_type}/{res_id} is not known")
        self.audit.record(actor, "history", res_type, res_id, detail=f"{len(page.entries)} versions")
        return page

    # ------------------------------------------------------------- bundles
    def process_bundle(self, bundle: Any, read: Callable[[EntryRequest], EntryResult] | None = None, *,
                       actor: Actor = SYSTEM, also_in_transaction: Callable[[Connection], None] | None = None,
                       ) -> tuple[str, list[EntryResult]]:
        """Run a transaction (all-or-nothing) or batch (each entry alone) Bundle.

        ``also_in_transaction`` runs inside a transaction's database transaction (the bulk loader
        records what it loaded there, so a crash can never load a file twice).
        """
        read = read or refuse_reads
        kind, requests = parse_entries(bundle)
        if kind == "transaction":
            return kind, TransactionRunner(self, actor, also_in_transaction).run(requests, read)
        results = []
        for request in requests:
            try:
                results.append(self._batch_entry(request, read, actor))
            except FhirError as error:
                results.append(EntryResult(f"{error.status} {HTTPStatus(error.status).phrase}",
                                           outcome=error.outcome()))
        return kind, results

    def transact(self, entries: list[dict[str, Any]], *, actor: Actor = SYSTEM,
                 also_in_transaction: Callable[[Connection], None] | None = None) -> list[EntryResult]:
        """Write ``entries`` (Bundle entries: request + resource) as one all-or-nothing transaction;
        the entries' results in their order. How applications make several writes atomic."""
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        return self.process_bundle(bundle, actor=actor, also_in_transaction=also_in_transaction)[1]

    def _batch_entry(self, request: EntryRequest, read: Callable[[EntryRequest], EntryResult],
                     actor: Actor) -> EntryResult:
        if request.method in ("GET", "HEAD"):
            return read(request)
        if request.method == "DELETE":
            if request.res_id is None:
                raise BadRequest("DELETE needs Type/id in a batch")
            stored = self.delete(request.res_type, request.res_id, actor=actor)
            return EntryResult("204 No Content", stored)
        if request.method == "POST":
            result = self.create(request.resource, actor=actor, if_none_exist=request.if_none_exist)
        elif request.method == "PATCH":
            raise BadRequest("PATCH inside a batch is not supported; use PUT")
        elif request.criteria and request.res_id is None:
            result = self.conditional_update(request.res_type, request.criteria, request.resource, actor=actor,
                                             if_match=request.if_match)
        elif request.res_id is None:
            raise BadRequest("PUT needs Type/id or search criteria")
        else:
            result = self.update(request.res_type, request.res_id, request.resource, actor=actor,
                                 if_match=request.if_match)
        return EntryResult("201 Created" if result.created else "200 OK", result.stored)

    # ------------------------------------------------------------ change feed
    def changes_since(self, seq: int, limit: int = 1000, *,
                      resource_types: frozenset[str] | None = None) -> list[Change]:
        """Changes with a sequence number above ``seq``, oldest first; only of ``resource_types`` if given."""
        statement = select(change_feed).where(change_feed.c.seq > seq)
        if resource_types is not None:
            statement = statement.where(change_feed.c.res_type.in_(sorted(resource_types)))
        with self.engine.connect() as conn:
            rows = conn.execute(statement.order_by(change_feed.c.seq).limit(limit)).all()
        return [Change(r.seq, r.res_type, r.res_id, r.version, r.op, r.ts) for r in rows]

    def last_sequence(self) -> int:
        """The newest change's sequence number (0 for an empty feed)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(change_feed.c.seq))).scalar() or 0
