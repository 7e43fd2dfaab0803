"""JSON APIs of the applications under ``/api`` (documented in the OpenAPI at ``/docs``), for what
FHIR has no interaction or operation for. Each module holds one application's router."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from osler.interfaces.app_api import checkin, registration, scheduling

    return [registration.router, registration.fhir_router, scheduling.router, checkin.router]
