"""HTTP API of the checkin application."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/checkin", tags=["checkin"])
