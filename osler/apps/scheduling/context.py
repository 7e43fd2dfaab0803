"""Cadence: what every scheduling call runs with (the store, the clinic's time zone, a clock) and the
errors it raises.

Times are timezone-aware everywhere: stored as UTC instants (``…Z``), weekly templates and days are
read in the clinic's zone (``Settings.clinic_timezone``). The clock is injectable so that tests can
book "yesterday" or mark a no-show without waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from osler.chronicle.store import Chronicle
from osler.config import Settings
from osler.fhir.outcome import Conflict, FhirError


def utc_now() -> datetime:
    return datetime.now(UTC)


# SQLite has one writer at a time, and a writer that finds the lock taken sleeps in growing steps (1, 2, 5 …
# 100 ms) before it tries again, so some unlucky waiters wait very long. Cadence's transactions on SQLite
# therefore queue on this lock within a process: at most one per process polls SQLite's lock. Measured with
# two processes of ten booking threads each: the same ~145 bookings/s, but a p99 of 0.3-0.5 s instead of
# 1.4-2.2 s. (The GIL already kept one process's threads from preparing transactions in parallel.) Queueing
# the processes as well, on an flock beside the database, was slower (124 against 145 bookings/s): it also
# serializes the validation and indexing the Chronicle does before it takes SQLite's lock.
_SQLITE_WRITES = threading.Lock()


@dataclass(frozen=True)
class Clinic:
    """The Chronicle plus the clinic's time zone and clock: the first argument of every Cadence call."""

    chronicle: Chronicle
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/New_York"))
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def from_settings(cls, chronicle: Chronicle, settings: Settings) -> Clinic:
        return cls(chronicle, ZoneInfo(settings.clinic_timezone))

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def today(self) -> date:
        """Today in the clinic's zone."""
        return self.clock().astimezone(self.zone).date()

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def local(self, day: date, at: time) -> datetime:
        """A wall-clock time of a clinic-local day, as a UTC instant (DST-correct)."""
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    @contextmanager
    def one_writer(self) -> Iterator[None]:
        """Hold while running a write transaction: on SQLite, one Cadence writer per process at a time."""
        with _SQLITE_WRITES if self.chronicle.engine.dialect.name == "sqlite" else nullcontext():
            yield

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of a clinic-local day in UTC (23 or 25 hours long on DST change days)."""
        return self.local(day, time(0)), self.local(day + timedelta(days=1), time(0))


# ----------------------------------------------------------------------------------- instants


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC, ``2027-01-04T14:30:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    """A FHIR instant/dateTime with a zone (what Cadence stored) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def compact(moment: datetime) -> str:
    """``20270104T143000Z``: an instant as it appears inside slot identifiers."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# ------------------------------------------------------------------------------------ errors


class Forbidden(FhirError):
    """A patient acting for themselves asked for something that is not theirs to do (403)."""

    status = 403
    code = "forbidden"


class UnknownReference(FhirError):
    """The request names a patient, provider, department, visit type or slot that does not exist (422)."""

    status = 422
    code = "not-found"


class SlotTaken(Conflict):
    """The slot (or the time it needs) was booked by someone else first (409)."""

    code = "conflict"


class NotBookable(FhirError):
    """A well-formed request that scheduling rules refuse, e.g. a slot in the past (422)."""

    status = 422
    code = "business-rule"


class WrongState(Conflict):
    """The appointment's status does not allow the action, e.g. cancelling a fulfilled visit (409)."""

    code = "business-rule"
