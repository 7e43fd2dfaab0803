"""Cadence: the requests it accepts (pydantic models), shared by the Python API and the HTTP API.

Validation here is about shape only — a malformed date, an end before its start, a template time off
the department's slot grid — so that such a request is refused (400) before anything is read or
written. Whether the patient, provider or slot exists is decided by the modules that act.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from osler.apps.scheduling.vocabulary import CODE_PATTERN

Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_HORIZON_DAYS = 400


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeeklyHours(Strict):
    """A recurring block of a weekly template, in the clinic's wall-clock time."""

    days: list[Weekday] = Field(min_length=1, examples=[["mon", "tue", "wed", "thu", "fri"]])
    start: time = Field(examples=["09:00"])
    end: time = Field(examples=["12:00"])

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyHours:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        if self.start.tzinfo or self.end.tzinfo:
            raise ValueError("template times are wall-clock times of the clinic's zone: give no offset")
        return self


class TimeOff(Strict):
    """An exception to a template: a holiday, a closure, blocked time."""

    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field("unavailable", max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> TimeOff:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self


class ProviderSetup(Strict):
    code: Code = Field(description="the provider's code (NPI or local id), unique across departments")
    family: str = Field(min_length=1, max_length=100)
    given: list[str] = Field(default_factory=list, max_length=5)
    hours: list[WeeklyHours] = Field(min_length=1, description="the weekly template")
    time_off: list[TimeOff] = Field(default_factory=list, description="blocked time and vacations")
    visit_types: list[Code] = Field(default_factory=list, description="visit types offered; empty: all")


class RoomSetup(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=100)
    type: Code = Field("exam", description="the room type visit types ask for")
    hours: list[WeeklyHours] | None = Field(None, description="default: the department's hours")


class DeviceSetup(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=100)
    type: Code = Field(description="the equipment type visit types ask for, e.g. ecg; bookable in opening hours")


class VisitTypeSetup(Strict):
    code: Code
    name: str = Field(min_length=1, max_length=100)
    minutes: int = Field(ge=5, le=480)
    room_type: Code | None = Field("exam", description="the kind of room needed; null: none (telehealth)")
    equipment: list[Code] = Field(default_factory=list, description="device types needed")
    patient_bookable: bool = Field(False, description="open to self-scheduling in the patient portal")


class DepartmentSetup(Strict):
    """A whole department, declaratively: calling it again updates what it names and adds nothing twice."""

    code: Code
    name: str = Field(min_length=1, max_length=100)
    slot_minutes: int = Field(15, ge=5, le=240, description="the slot grid shared by providers and rooms")
    hours: list[WeeklyHours] = Field(min_length=1, description="opening hours (rooms' default template)")
    closures: list[TimeOff] = Field(default_factory=list, description="holidays: nothing is bookable")
    providers: list[ProviderSetup] = Field(default_factory=list)
    rooms: list[RoomSetup] = Field(default_factory=list)
    devices: list[DeviceSetup] = Field(default_factory=list)
    visit_types: list[VisitTypeSetup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DepartmentSetup:
        if 1440 % self.slot_minutes:
            raise ValueError(f"slot_minutes {self.slot_minutes} does not divide a day evenly")
        for kind, items in (("provider", self.providers), ("room", self.rooms), ("device", self.devices),
                            ("visit type", self.visit_types)):
            codes = [item.code for item in items]
            if len(codes) != len(set(codes)):
                raise ValueError(f"a {kind} code appears twice")
        blocks = [("hours", self.hours)] + [(f"provider {p.code}", p.hours) for p in self.providers] + \
                 [(f"room {r.code}", r.hours or []) for r in self.rooms]
        for owner, hours in blocks:
            for block in hours:
                for moment in (block.start, block.end):
                    if (moment.hour * 60 + moment.minute) % self.slot_minutes or moment.second:
                        raise ValueError(f"{owner}: {moment} is off the {self.slot_minutes}-minute slot grid")
        return self


class SlotGeneration(Strict):
    start: date = Field(description="first clinic-local day")
    end: date = Field(description="last clinic-local day (inclusive)")

    @model_validator(mode="after")
    def _ordered(self) -> SlotGeneration:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if (self.end - self.start).days >= MAX_HORIZON_DAYS:
            raise ValueError(f"a horizon is at most {MAX_HORIZON_DAYS} days")
        return self


class BookingRequest(Strict):
    patient: FhirId
    visit_type: Code
    slot: FhirId = Field(description="the provider Slot the visit starts in (from availability)")
    room: FhirId | None = Field(None, description="a Location id to insist on; default: any free room")
    comment: str | None = Field(None, max_length=1000)


class RescheduleRequest(Strict):
    slot: FhirId
    room: FhirId | None = None


class CancelRequest(Strict):
    reason: str | None = Field(None, max_length=200)


class WaitlistRequest(Strict):
    patient: FhirId
    department: FhirId = Field(description="the department's Organization id")
    visit_type: Code
    earliest: date
    latest: date
    provider: FhirId | None = Field(None, description="a PractitionerRole id; default: any provider")

    @model_validator(mode="after")
    def _ordered(self) -> WaitlistRequest:
        if self.latest < self.earliest:
            raise ValueError(f"latest {self.latest} is before earliest {self.earliest}")
        return self
