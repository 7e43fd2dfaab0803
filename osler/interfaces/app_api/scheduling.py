"""HTTP API of the scheduling application."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/scheduling", tags=["scheduling"])
