"""Cadence: scheduling — departments, providers, rooms and visit types; slots from weekly templates;
availability; atomic booking, cancelling and rescheduling; no-shows; the waitlist; patient
self-scheduling. Everything is stored as plain FHIR R4 through the Chronicle.

Every call takes a ``Clinic`` (the Chronicle, the clinic's time zone, a clock) first and an ``Actor``
(who acts, for the audit) by keyword; calls made for a patient in the portal pass
``acting_patient=<Patient id>`` and are refused (``Forbidden``, 403) for anyone else's record.

=====================  ==============================================================
module                 owns
=====================  ==============================================================
``vocabulary``         the identifiers, tags and extensions Cadence writes
``context``            ``Clinic``, time helpers, Cadence's errors
``requests``           the request models (pydantic), shared with the HTTP API
``setup``              departments, providers, rooms, devices, visit types → FHIR
``directory``          reading them back: ``DepartmentView``, ``ScheduleInfo``, ``VisitType``
``templates``          weekly templates with exceptions → slot times (pure)
``slots``              Slots over a horizon, idempotently; blocked time
``availability``       the earliest bookable times
``claims``             which Slots a visit takes (provider, room, equipment)
``booking``            book, cancel, reschedule — each one transaction
``visits``             day-of-visit lookups and statuses (arrived, no-show…)
``waitlist``           waitlist entries, offers made from the change feed
=====================  ==============================================================
"""

from osler.apps.scheduling.availability import Option, find_availability
from osler.apps.scheduling.booking import book_appointment, cancel_appointment, reschedule_appointment
from osler.apps.scheduling.context import Clinic, Forbidden, NotBookable, SlotTaken, UnknownReference, WrongState
from osler.apps.scheduling.directory import (
    DepartmentView,
    ScheduleInfo,
    VisitType,
    describe_department,
    list_visit_types,
    visit_type,
)
from osler.apps.scheduling.requests import (
    BookingRequest,
    CancelRequest,
    DepartmentSetup,
    DeviceSetup,
    ProviderSetup,
    RescheduleRequest,
    RoomSetup,
    SlotGeneration,
    TimeOff,
    VisitTypeSetup,
    WaitlistRequest,
    WeeklyHours,
)
from osler.apps.scheduling.setup import define_visit_types, set_up_department
from osler.apps.scheduling.slots import GenerationReport, add_time_off, generate_slots
from osler.apps.scheduling.visits import (
    AppointmentView,
    appointment_room,
    appointments_on,
    mark_arrived,
    mark_checked_in,
    mark_fulfilled,
    mark_no_show,
    set_appointment_status,
    todays_appointment,
)
from osler.apps.scheduling.waitlist import (
    accept_offer,
    add_to_waitlist,
    decline_offer,
    offer_freed_slot,
    register_waitlist,
)

__all__ = [
    "AppointmentView",
    "BookingRequest",
    "CancelRequest",
    "Clinic",
    "DepartmentSetup",
    "DepartmentView",
    "DeviceSetup",
    "Forbidden",
    "GenerationReport",
    "NotBookable",
    "Option",
    "ProviderSetup",
    "RescheduleRequest",
    "RoomSetup",
    "ScheduleInfo",
    "SlotGeneration",
    "SlotTaken",
    "TimeOff",
    "UnknownReference",
    "VisitType",
    "VisitTypeSetup",
    "WaitlistRequest",
    "WeeklyHours",
    "WrongState",
    "accept_offer",
    "add_time_off",
    "add_to_waitlist",
    "appointment_room",
    "appointments_on",
    "book_appointment",
    "cancel_appointment",
    "decline_offer",
    "define_visit_types",
    "describe_department",
    "find_availability",
    "generate_slots",
    "list_visit_types",
    "mark_arrived",
    "mark_checked_in",
    "mark_fulfilled",
    "mark_no_show",
    "offer_freed_slot",
    "register_waitlist",
    "reschedule_appointment",
    "set_appointment_status",
    "set_up_department",
    "todays_appointment",
    "visit_type",
]
