"""Plumbing shared by the API's routes: FHIR responses, body parsing, Prefer, the acting user."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from osler.chronicle.records import Actor, Stored
from osler.fhir.instants import http_date
from osler.fhir.outcome import BadRequest, UnsupportedMediaType, information

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")


class FhirResponse(Response):
    media_type = FHIR_JSON

    def __init__(self, content: Any = None, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        body = content if isinstance(content, bytes | str) or content is None else orjson.dumps(content)
        super().__init__(body, status_code=status_code, headers=headers, media_type=FHIR_JSON)


def actor_of(request: Request) -> Actor:
    """Who is calling. Until SMART authorization lands, callers name themselves in X-Osler-User."""
    user = request.headers.get("x-osler-user")
    if not user:
        user = f"anonymous@{request.client.host if request.client else 'unknown'}"
    purpose = request.headers.get("x-osler-purpose")
    return Actor(user[:255], purpose[:64] if purpose else None)


async def json_body(request: Request, *, patch: bool = False) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = (*JSON_TYPES, "application/json-patch+json") if patch else JSON_TYPES
    if content_type not in allowed:
        shown = content_type or "none"
        raise UnsupportedMediaType(f"Content-Type {shown} is not supported: send {' or '.join(allowed[:2])}")
    body = await request.body()
    if not body.strip():
        raise BadRequest("the request body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from None


def resource_headers(base: str, stored: Stored, *, location: bool = False) -> dict[str, str]:
    headers = {"ETag": stored.etag, "Last-Modified": http_date(stored.last_updated)}
    if location:
        headers["Location"] = f"{base}/{stored.location}"
        headers["Content-Location"] = headers["Location"]
    return headers


def prefer_return(request: Request) -> str:
    prefer = request.headers.get("prefer", "")
    for part in prefer.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "return":
            return value.strip().strip('"')
    return "representation"


def strict_handling(request: Request) -> bool:
    return "handling=strict" in request.headers.get("prefer", "").replace(" ", "")


def write_response(request: Request, base: str, stored: Stored, status: int) -> FhirResponse:
    headers = resource_headers(base, stored, location=status == 201 or request.method in ("PUT", "PATCH"))
    mode = prefer_return(request)
    if mode == "minimal":
        return FhirResponse(None, status, headers)
    if mode == "OperationOutcome":
        message = f"{stored.res_type}/{stored.res_id} stored as version {stored.version}"
        return FhirResponse(information(message), status, headers)
    return FhirResponse(stored.content, status, headers)


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k != "_format"]
