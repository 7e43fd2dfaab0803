"""Prelude (registration): patients with an Osler MRN and no duplicates, their insurance, eligibility
checks against payers, and the guarantor account.

The public API, for the HTTP layer, check-in and the scripted journey:

* patients — ``register_patient``, ``find_patient_by_mrn``, ``search_patients``, ``verify_identity``,
  ``match_patients`` (``Patient/$match``);
* duplicates — ``list_duplicate_reviews``, ``resolve_duplicate``;
* insurance — ``add_coverage``, ``active_coverages``;
* eligibility — ``check_eligibility``, ``retry_pending_eligibility``, ``last_eligibility``,
  ``copay_for_visit``;
* account — ``outstanding_balance``, ``account_summary``, ``post_to_account``, ``ensure_account``.

Every function takes the ``Chronicle`` first and the acting user as ``actor=`` (it is audited).
"""

from osler.apps.registration.accounts import (
    AccountSummary,
    account_summary,
    ensure_account,
    outstanding_balance,
    post_to_account,
)
from osler.apps.registration.candidates import PatientMatch, match_patients
from osler.apps.registration.coverage import CoverageAdded, active_coverages, add_coverage
from osler.apps.registration.duplicates import DuplicateReview, list_duplicate_reviews, resolve_duplicate
from osler.apps.registration.eligibility import (
    RetrySummary,
    check_eligibility,
    copay_for_visit,
    last_eligibility,
    retry_pending_eligibility,
)
from osler.apps.registration.eligibility_resources import EligibilityCheck
from osler.apps.registration.forms import (
    AddressForm,
    ContactForm,
    CoverageForm,
    PatientForm,
    SubscriberForm,
    normalize_phone,
    parse_form,
)
from osler.apps.registration.matching import DEFAULT_THRESHOLDS, Thresholds
from osler.apps.registration.patients import (
    IdentityCheck,
    Registration,
    find_patient_by_mrn,
    mrn_of,
    register_patient,
    search_patients,
    verify_identity,
)

__all__ = [
    "DEFAULT_THRESHOLDS", "AccountSummary", "AddressForm", "ContactForm", "CoverageAdded", "CoverageForm",
    "DuplicateReview", "EligibilityCheck", "IdentityCheck", "PatientForm", "PatientMatch", "Registration",
    "RetrySummary", "SubscriberForm", "Thresholds", "account_summary", "active_coverages", "add_coverage",
    "check_eligibility", "copay_for_visit", "ensure_account", "find_patient_by_mrn", "last_eligibility",
    "list_duplicate_reviews", "match_patients", "mrn_of", "normalize_phone", "outstanding_balance", "parse_form",
    "post_to_account", "register_patient", "resolve_duplicate", "retry_pending_eligibility", "search_patients",
    "verify_identity",
]
