"""The FastAPI application: routes, the Chronicle it serves, and errors that are always an
OperationOutcome (400/404/405/409/410/412/413/415/422 — never a bare 500 for client input)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from osler.apps.reactions import build_reactor
from osler.chronicle.store import Chronicle
from osler.config import Settings, load_settings
from osler.fhir.outcome import FhirError, Issue, PayloadTooLarge, operation_outcome
from osler.interfaces.app_api import routers as app_routers
from osler.interfaces.app_api.registration import gateway_of
from osler.interfaces.fhir_api.capability import capability_statement
from osler.interfaces.fhir_api.http import FhirResponse
from osler.interfaces.fhir_api.routes import READ_PATH, base_of, read, router

log = logging.getLogger("osler.api")

HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-costly",
                    415: "not-supported"}


def outcome_response(status: int, message: str, code: str = "invalid") -> FhirResponse:
    return FhirResponse(operation_outcome([Issue(code, message)]), status)


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by header or while streaming, before parsing."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge(f"the request body is larger than {self.limit} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = outcome_response(413, f"the request body is larger than {self.limit} bytes", "too-costly")
        await response(scope, receive, send)


def create_app(settings: Settings | None = None, chronicle: Chronicle | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = chronicle is None
        app.state.chronicle = chronicle or Chronicle.from_settings(settings)
        reactor = build_reactor(app.state.chronicle, settings, gateway_of(app))
        # What start-up loaded (models, search registry, compiled FHIRPath) lives as long as the
        # process: moving it out of the collector's reach removed 50 to 70 ms generation-2 pauses
        # from the latency tail (measured on availability searches).
        gc.freeze()
        if settings.background_reactions and reactor.has_work:
            reactor.start()
        try:
            yield
        finally:
            reactor.stop()
            if own:
                app.state.chronicle.close()
            else:
                app.state.chronicle.audit.flush()

    app = FastAPI(title="Osler FHIR R4 API", version="0.1.0", lifespan=lifespan,
                  docs_url="/docs", openapi_url="/openapi.json")
    app.state.settings = settings
    if chronicle is not None:
        app.state.chronicle = chronicle

    @app.exception_handler(FhirError)
    async def fhir_error(_: Request, error: FhirError) -> FhirResponse:
        return FhirResponse(error.outcome(), error.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> FhirResponse:
        message = str(error.detail)
        if error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        elif error.status_code == 404:
            message = f"nothing is served at {request.url.path}"
        return outcome_response(error.status_code, message, HTTP_ISSUE_CODES.get(error.status_code, "invalid"))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> FhirResponse:
        return outcome_response(400, f"malformed request: {error.errors()[:3]}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> FhirResponse:
        # Log the type and route only: an exception's text may quote patient data.
        log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return outcome_response(500, "the server failed to process the request; it has been logged",
                                "exception")

    @app.get("/fhir/metadata")
    async def metadata(request: Request) -> FhirResponse:
        return FhirResponse(capability_statement(base_of(request)))

    if settings.bench_endpoints:
        blob = orjson.dumps({"resourceType": "Patient", "id": "ceiling", "active": True,
                             "name": [{"family": "Ceiling", "given": ["Bench"]}]})

        @app.get("/bench/blob")
        async def bench_blob() -> FhirResponse:
            """The ceiling for read benchmarks: the same stack returning a JSON blob held in memory."""
            return FhirResponse(blob)

    # The FHIR routes first: read-by-id is the hottest route and Starlette tries routes in order.
    # It is also mounted as a plain Starlette route ahead of everything: the endpoint only takes the
    # Request, so FastAPI's dependency resolution is pure overhead there (~15 % of a read, measured);
    # the FastAPI route behind it stays for the OpenAPI document.
    app.router.routes.insert(0, Route(READ_PATH, read, methods=["GET"]))
    app.include_router(router)
    for app_router in app_routers():
        app.include_router(app_router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
