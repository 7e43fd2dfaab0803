"""FHIR REST interactions: create, read, vread, update, patch, delete, history, search, bundles.

Routes are thin: they parse HTTP, call the Chronicle and shape the answer. Database work runs in
the thread pool so one slow query never stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from osler.chronicle.store import Chronicle
from osler.chronicle.transactions import EntryRequest, EntryResult
from osler.fhir.instants import http_date, parse_instant
from osler.fhir.outcome import BadRequest, FhirError, NotFound, UnsupportedMediaType
from osler.interfaces.fhir_api import bundles
from osler.interfaces.fhir_api.http import (
    FhirResponse,
    actor_of,
    json_body,
    query_pairs,
    resource_headers,
    strict_handling,
    write_response,
)


class FhirTypeConvertor(Convertor[str]):
    """A resource type in a path: capitalized, so ``_history``, ``metadata`` and ``$ops`` never match."""

    regex = "[A-Z][A-Za-z]{1,63}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class FhirIdConvertor(FhirTypeConvertor):
    """A FHIR id (R4: ``[A-Za-z0-9\\-\\.]{1,64}``), so ``_history`` and ``$everything`` are never ids."""

    regex = "[A-Za-z0-9\\-\\.]{1,64}"


register_url_convertor("fhirtype", FhirTypeConvertor())
register_url_convertor("fhirid", FhirIdConvertor())

router = APIRouter(prefix="/fhir")
T = TypeVar("T")


async def run_chronicle(request: Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a short Chronicle call — a read, or a write of a few resources — inline on SQLite, in the
    thread pool otherwise.

    On SQLite, reads never wait (WAL readers are not blocked by the writer) and writers wait only at
    the write gate, for another transaction of a few ms; the calls themselves are CPU work under the
    GIL. A thread hop buys nothing there, and many request threads handing the GIL back and forth cost
    more than the work: inline, bookings went from 130 to 188/s with 20 clients and the latency tail
    of reads narrowed (both measured). PostgreSQL calls wait on the network, so they go to the pool.
    Long calls (set-up, slot generation, bulk transactions) stay in the pool so as not to stall the
    worker's other requests.
    """
    if request.app.state.chronicle.engine.dialect.name == "sqlite":
        return function(*args, **kwargs)
    return await run_in_threadpool(function, *args, **kwargs)


def chronicle_of(request: Request) -> Chronicle:
    return request.app.state.chronicle


def base_of(request: Request) -> str:
    configured = request.app.state.settings.base_url
    return configured.rstrip("/") if configured else f"{str(request.base_url).rstrip('/')}/fhir"


def _int_param(pairs: list[tuple[str, str]], name: str, default: int) -> int:
    value = dict(pairs).get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise BadRequest(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _instant_param(pairs: list[tuple[str, str]], name: str) -> int | None:
    value = dict(pairs).get(name)
    if value is None:
        return None
    try:
        return parse_instant(value) if not value.isdigit() else int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an instant like 2024-01-01T00:00:00Z, got {value!r}") from None


# Read by id first: it is the hottest route, and Starlette tries routes in order.
READ_PATH = "/fhir/{res_type:fhirtype}/{res_id:fhirid}"


@router.get("/{res_type:fhirtype}/{res_id:fhirid}")
async def read(request: Request) -> FhirResponse:
    # Path parameters are read from the request rather than declared: FastAPI's per-parameter
    # validation was a tenth of this hot route's time, and the convertors already checked them.
    params = request.path_params
    stored = chronicle_of(request).read(params["res_type"], params["res_id"], actor=actor_of(request))
    headers = {"ETag": stored.etag, "Last-Modified": http_date(stored.last_updated)}
    if request.headers.get("if-none-match") == stored.etag:
        return FhirResponse(None, 304, headers)
    return FhirResponse(stored.content, 200, headers)


# ------------------------------------------------------------------ system level
@router.post("")
async def process_bundle(request: Request) -> FhirResponse:
    bundle = await json_body(request)
    chronicle, base, actor = chronicle_of(request), base_of(request), actor_of(request)

    def read_entry(entry: EntryRequest) -> EntryResult:
        path, _, query = entry.url.partition("?")
        parts = [p for p in path.split("/") if p]
        try:
            if len(parts) == 2:
                stored = chronicle.read(parts[0], parts[1], actor=actor)
                return EntryResult("200 OK", body=stored.resource)
            page = chronicle.search(parts[0] if parts else None, parse_qsl(query), actor=actor)
            return EntryResult("200 OK", body=orjson.loads(bundles.searchset(base, path, page)))
        except FhirError as error:
            return EntryResult(bundles.status_line(error.status), outcome=error.outcome())

    kind, results = await run_in_threadpool(chronicle.process_bundle, bundle, read_entry, actor=actor)
    return FhirResponse(bundles.transaction_response(base, kind, results))


@router.get("")
async def search_system(request: Request) -> FhirResponse:
    return await _search(request, None)


@router.get("/_history")
async def history_system(request: Request) -> FhirResponse:
    return await _history(request, None, None)


# -------------------------------------------------------------------- type level
@router.get("/{res_type:fhirtype}")
async def search_type(request: Request, res_type: str) -> FhirResponse:
    return await _search(request, res_type)


@router.post("/{res_type:fhirtype}/_search")
async def search_type_post(request: Request, res_type: str) -> FhirResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
    form = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return await _search(request, res_type, query_pairs(request) + form)


@router.get("/{res_type:fhirtype}/_history")
async def history_type(request: Request, res_type: str) -> FhirResponse:
    return await _history(request, res_type, None)


@router.post("/{res_type:fhirtype}")
async def create(request: Request, res_type: str) -> FhirResponse:
    resource = await json_body(request)
    chronicle = chronicle_of(request)
    if isinstance(resource, dict) and resource.get("resourceType") not in (None, res_type):
        raise BadRequest(f"the body is a {resource.get('resourceType')} but the URL names {res_type}")
    if isinstance(resource, dict):
        resource = {k: v for k, v in resource.items() if k != "id"}  # the server assigns ids on create
    result = await run_in_threadpool(chronicle.create, resource, actor=actor_of(request),
                                     if_none_exist=request.headers.get("if-none-exist"))
    return write_response(request, base_of(request), result.stored, 201 if result.created else 200)


@router.put("/{res_type:fhirtype}")
async def conditional_update(request: Request, res_type: str) -> FhirResponse:
    criteria = request.url.query
    if not criteria:
        raise BadRequest("PUT on a type needs search criteria (conditional update) or an id in the URL")
    resource = await json_body(request)
    result = await run_in_threadpool(chronicle_of(request).conditional_update, res_type, criteria, resource,
                                     actor=actor_of(request), if_match=request.headers.get("if-match"))
    return write_response(request, base_of(request), result.stored, 201 if result.created else 200)


# ---------------------------------------------------------------- instance level
@router.put("/{res_type:fhirtype}/{res_id:fhirid}")
async def update(request: Request, res_type: str, res_id: str) -> FhirResponse:
    resource = await json_body(request)
    result = await run_in_threadpool(chronicle_of(request).update, res_type, res_id, resource,
                                     actor=actor_of(request), if_match=request.headers.get("if-match"))
    return write_response(request, base_of(request), result.stored, 201 if result.created else 200)


@router.patch("/{res_type:fhirtype}/{res_id:fhirid}")
async def patch(request: Request, res_type: str, res_id: str) -> FhirResponse:
    operations = await json_body(request, patch=True)
    result = await run_in_threadpool(chronicle_of(request).patch, res_type, res_id, operations,
                                     actor=actor_of(request), if_match=request.headers.get("if-match"))
    return write_response(request, base_of(request), result.stored, 200)


@router.delete("/{res_type:fhirtype}/{res_id:fhirid}")
async def delete(request: Request, res_type: str, res_id: str) -> FhirResponse:
    stored = await run_in_threadpool(chronicle_of(request).delete, res_type, res_id, actor=actor_of(request))
    headers = {"ETag": stored.etag} if stored else {}
    return FhirResponse(None, 204, headers)


@router.get("/{res_type:fhirtype}/{res_id:fhirid}/_history")
async def history_instance(request: Request, res_type: str, res_id: str) -> FhirResponse:
    return await _history(request, res_type, res_id)


@router.get("/{res_type:fhirtype}/{res_id:fhirid}/_history/{version}")
async def vread(request: Request, res_type: str, res_id: str, version: str) -> FhirResponse:
    if not version.isdigit():
        raise NotFound(f"{version!r} is not a version number")
    stored = chronicle_of(request).vread(res_type, res_id, int(version), actor=actor_of(request))
    return FhirResponse(stored.content, 200, resource_headers(base_of(request), stored))


@router.get("/Patient/{res_id:fhirid}/$everything")
async def everything(request: Request, res_id: str) -> FhirResponse:
    page = await run_chronicle(request, chronicle_of(request).everything, res_id, query_pairs(request),
                               actor=actor_of(request))
    return FhirResponse(bundles.searchset(base_of(request), f"Patient/{res_id}/$everything", page))


# ----------------------------------------------------------------------- helpers
async def _search(request: Request, res_type: str | None,
                  pairs: list[tuple[str, str]] | None = None) -> FhirResponse:
    pairs = query_pairs(request) if pairs is None else pairs
    page = await run_chronicle(request, chronicle_of(request).search, res_type, pairs, actor=actor_of(request),
                               strict=strict_handling(request))
    return FhirResponse(bundles.searchset(base_of(request), res_type or "", page))


async def _history(request: Request, res_type: str | None, res_id: str | None) -> FhirResponse:
    pairs = query_pairs(request)
    count = min(_int_param(pairs, "_count", 50), 1000)
    page = await run_chronicle(
        request, chronicle_of(request).history, res_type, res_id, since=_instant_param(pairs, "_since"),
        anchor=_instant_param(pairs, "_anchor"), offset=_int_param(pairs, "_offset", 0), count=max(count, 1),
        actor=actor_of(request))
    path = "/".join(p for p in (res_type, res_id) if p)
    return FhirResponse(bundles.history(base_of(request), path, page))
