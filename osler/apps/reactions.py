"""Which application reacts to which changes, and what runs periodically: the one place they are listed.

The API server runs a ``Reactor`` with these in the background (one processor per consumer or job
across all workers, by lease); ``osler journey`` and tests call ``Reactor.run_once()`` to react on
the spot.
"""

from __future__ import annotations

from osler.apps.lab import register_lab
from osler.apps.registration import retry_pending_eligibility
from osler.apps.registration.payer_port import PayerGateway
from osler.apps.scheduling import Clinic
from osler.apps.scheduling.waitlist import register_waitlist
from osler.chronicle.reactions import Reactor
from osler.chronicle.store import Chronicle
from osler.config import Settings

ELIGIBILITY_RETRY_SECONDS = 60


def build_reactor(chronicle: Chronicle, settings: Settings, gateway: PayerGateway) -> Reactor:
    """A Reactor with every application's consumers and periodic jobs registered."""
    reactor = Reactor(chronicle)
    clinic = Clinic.from_settings(chronicle, settings)
    register_waitlist(reactor, clinic)
    register_lab(reactor, clinic)  # releases held results when their hold has passed
    reactor.every("eligibility-retry", ELIGIBILITY_RETRY_SECONDS,
                  lambda store: retry_pending_eligibility(store, gateway=gateway, settings=settings))
    return reactor
