"""Prelude: the registration forms — what the front desk types in — checked before anything is written.

The same pydantic models are the Python API's arguments and the JSON API's documented request
bodies. Phone numbers are normalized to ``555-201-4567`` (US numbers; the FHIR search index then
finds them by exact token). Validation messages name the field and the rule, never the value typed:
it may be PHI.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from osler.fhir.outcome import BadRequest, Issue

OLDEST_BIRTH_YEAR = 1880
_PHONE_NOISE = re.compile(r"[\s().\-]")
_NANP = re.compile(r"[2-9]\d{2}[2-9]\d{6}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(raw: str) -> str:
    """A US (NANP) phone number written as ``555-201-4567``; ValueError for anything else."""
    digits = _PHONE_NOISE.sub("", raw)
    if digits.startswith("+1"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not _NANP.fullmatch(digits):
        raise ValueError("a phone number must be a 10-digit US number, like 555-201-4567")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _person_name(value: str) -> str:
    if not any(char.isalpha() for char in value) or any(char.isdigit() or ord(char) < 32 for char in value):
        raise ValueError("a name must contain letters, and no digits or control characters")
    return " ".join(value.split())


def _birth_date(value: date) -> date:
    if value > date.today():
        raise ValueError("a birth date cannot be in the future")
    if value.year < OLDEST_BIRTH_YEAR:
        raise ValueError(f"a birth date before {OLDEST_BIRTH_YEAR} is surely a typo")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("an email address looks like name@example.org")
    return value


PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                       AfterValidator(_person_name)]
Phone = Annotated[str, StringConstraints(max_length=30), AfterValidator(normalize_phone)]
BirthDate = Annotated[date, AfterValidator(_birth_date)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-.]{0,63}$")]
Amount = Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=2)]
Sex = Literal["male", "female", "other", "unknown"]  # FHIR administrative gender
VisitKind = Literal["gpvisit", "spvisit", "urgentcare", "emergency", "televisit"]  # coverage-copay-type codes
Relationship = Literal["self", "spouse", "child", "parent", "common", "other", "injured"]  # subscriber-relationship


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressForm(_Form):
    line: list[Annotated[str, StringConstraints(min_length=1, max_length=120)]] = Field(min_length=1, max_length=3)
    city: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    state: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] = Field(description="two-letter code")
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{5}(-?\d{4})?$")]
    use: Literal["home", "work", "temp", "billing"] = "home"


class ContactForm(_Form):
    """Someone to call about the patient (emergency contact, next of kin, guardian)."""

    family: PersonName
    given: PersonName
    role: Literal["emergency", "next-of-kin", "guardian", "other"] = "emergency"
    relation: Annotated[str, StringConstraints(max_length=40)] | None = Field(None, description="e.g. mother")
    phone: Phone


class PatientForm(_Form):
    """A new patient's demographics. family, given, birth_date and sex are required."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "family": "Rivera", "given": "Maria", "birth_date": "1985-07-14", "sex": "female",
        "phone": "(555) 201-4567", "address": {"line": ["12 Elm Street"], "city": "Springfield", "state": "MA",
                                               "postal_code": "01101"},
        "ssn_last_four": "1234",
        "contacts": [{"family": "Rivera", "given": "Jorge", "role": "emergency", "relation": "husband",
                      "phone": "555-201-9876"}]}]})

    family: PersonName
    given: PersonName
    middle: PersonName | None = None
    birth_date: BirthDate
    sex: Sex
    phone: Phone | None = Field(None, description="home phone, US: 555-201-4567, (555) 201-4567, +1 555…")
    mobile_phone: Phone | None = None
    email: Email | None = None
    address: AddressForm | None = None
    ssn_last_four: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] | None = Field(
        None, description="last four digits of the SSN: used for duplicate detection only")
    contacts: list[ContactForm] = Field(default_factory=list, max_length=5)


class SubscriberForm(_Form):
    """The policy holder, when it is not the patient (a parent, a spouse)."""

    family: PersonName
    given: PersonName
    birth_date: BirthDate
    sex: Sex
    phone: Phone | None = None


class CoverageForm(_Form):
    """An insurance card. The period may be open at either end; it may not end before it starts."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "payer_id": "acme-health", "member_id": "ACM100200301", "plan": "acme-ppo-gold", "plan_name": "Acme PPO Gold",
        "group_number": "GRP-7781", "relationship": "self", "start": "2024-01-01",
        "copays": {"gpvisit": "25.00", "spvisit": "50.00"}, "deductible": "1500.00"}]})

    payer_id: Code = Field(description="the payer's id at the eligibility gateway, e.g. medicare, acme-health")
    payer_name: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    member_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9\-]{2,40}$")]
    plan: Code = Field(description="the plan's id, written as Coverage.class of type plan")
    plan_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    group_number: Code | None = None
    relationship: Relationship = "self"
    subscriber: SubscriberForm | None = None
    start: date | None = None
    end: date | None = None
    copays: dict[VisitKind, Amount] = Field(default_factory=dict)
    deductible: Amount | None = None
    priority: int = Field(1, ge=1, le=9, description="1 = primary, 2 = secondary…")
    subscriber_is_guarantor: bool = Field(False, description="make the subscriber the guarantor of the account")

    @model_validator(mode="after")
    def _subscriber_given_when_needed(self) -> CoverageForm:
        if self.relationship != "self" and self.subscriber is None:
            raise ValueError("a subscriber is required when the relationship is not self")
        if self.relationship == "self" and self.subscriber is not None:
            raise ValueError("the patient is the subscriber (relationship self): leave subscriber out")
        return self


def validation_issues(errors: list[Any]) -> list[Issue]:
    """OperationOutcome issues from pydantic errors: the field path and the rule, never the input."""
    issues = []
    for detail in errors:
        path = ".".join(str(part) for part in detail.get("loc", ()) if part != "body") or "body"
        message = str(detail.get("msg", "invalid value")).removeprefix("Value error, ")
        code = "required" if detail.get("type") == "missing" else "value"
        issues.append(Issue(code, f"{path}: {message}", expression=[path]))
    return issues


FormT = TypeVar("FormT", bound=BaseModel)


def parse_form(form: type[FormT], data: Any) -> FormT:
    """Validate ``data`` as ``form``; ``BadRequest`` (400) naming every offending field otherwise."""
    try:
        return form.model_validate(data)
    except ValidationError as error:
        issues = validation_issues(error.errors(include_url=False))
        raise BadRequest("; ".join(issue.diagnostics for issue in issues[:5]), issues=issues) from None
