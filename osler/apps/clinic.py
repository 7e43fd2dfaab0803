"""What every application call runs with: the Chronicle, the clinic's time zone and a clock.

Times are timezone-aware everywhere: stored as UTC instants (``…Z``), days and wall-clock times are
read in the clinic's zone (``Settings.clinic_timezone``). The clock is injectable so that tests and
the scripted journey can act "yesterday" or an hour later without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from osler.chronicle.store import Chronicle
from osler.config import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)




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
