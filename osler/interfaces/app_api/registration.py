"""HTTP API of the registration application."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/registration", tags=["registration"])
