"""FHIR instants as integer microseconds since the Unix epoch (UTC), the Chronicle's time unit."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1000


def format_instant(us: int) -> str:
    """``2026-11-23T13:22:06.123456Z`` — a valid FHIR instant."""
    seconds, micros = divmod(us, 1_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{micros:06d}Z" if micros else f"{stamp}Z"


def http_date(us: int) -> str:
    """RFC 9110 date for Last-Modified headers."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(us // 1_000_000))


def parse_instant(text: str) -> int:
    """Parse an ISO-8601 date-time with a zone (``Z`` or ``±hh:mm``) into microseconds."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
