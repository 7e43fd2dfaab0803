"""JSON APIs of the applications under ``/api`` (documented in the OpenAPI at ``/docs``), for what
FHIR has no interaction or operation for. Each module holds one application's router."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from osler.interfaces.app_api import (
        charting,
        checkin,
        inbasket,
        lab,
        pharmacy,
        registration,
        scheduling,
        terminology,
    )

    return [registration.router, registration.fhir_router, scheduling.router, checkin.router, pharmacy.router,
            terminology.router, terminology.fhir_router, lab.router, inbasket.router,
            charting.router]
