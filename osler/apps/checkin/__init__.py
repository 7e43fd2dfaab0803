"""Check-in (kiosk and front desk): arrival with identity, eligibility and balance checks, and the
visit's clock — roomed, seen, checked out — on the Encounter."""

from osler.apps.checkin.arrival import AlreadyCheckedIn, CheckInResult, Identity, IdentityNotConfirmed, check_in
from osler.apps.checkin.tracking import check_out, mark_seen, milestones, room_patient

__all__ = ["AlreadyCheckedIn", "CheckInResult", "Identity", "IdentityNotConfirmed", "check_in", "check_out",
           "mark_seen", "milestones", "room_patient"]
