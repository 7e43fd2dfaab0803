"""Prelude's boundary with payers: adapters implementing the transport-neutral eligibility contract
that the registration application owns (``osler.apps.registration.payer_port``, re-exported here).

``simulator`` answers from a JSON configuration (the shipped ``demo_payers.json`` by default); an X12
270/271 clearinghouse adapter will implement the same ``PayerGateway`` protocol later.
"""

from osler.apps.registration.payer_port import (
    EligibilityAnswer,
    EligibilityQuestion,
    EligibilityStatus,
    PayerGateway,
    PayerUnavailable,
)

__all__ = ["EligibilityAnswer", "EligibilityQuestion", "EligibilityStatus", "PayerGateway", "PayerUnavailable"]
