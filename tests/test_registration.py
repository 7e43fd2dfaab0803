"""Prelude: registration, duplicate detection, MRNs, coverage and the guarantor account — scoring rules
in memory, everything that writes on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from osler.apps import registration as prelude
from osler.apps.registration.candidates import candidate_queries
from osler.apps.registration.codes import ACCOUNT_BALANCE_URL, COPAY_TYPE, PAYER_ID_SYSTEM, POSSIBLE_DUPLICATE
from osler.apps.registration.matching import Person, compare, person_of
from osler.apps.registration.mrn import is_valid_mrn, luhn_check_digit, new_mrn
from osler.apps.registration.nicknames import are_nicknames
from osler.chronicle.records import Actor
from osler.chronicle.store import Chronicle
from osler.config import Settings, load_settings
from osler.fhir.outcome import BadRequest, Conflict, NotFound

CLERK = Actor("clerk.adams", "registration")




@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path)


def form(**changes: object) -> prelude.PatientForm:
    fields: dict[str, object] = {
        "family": "Smith", "given": "William", "birth_date": "1980-03-12", "sex": "male", "phone": "(555) 201-4567",
        "address": {"line": ["12 Elm Street"], "city": "Springfield", "state": "ma", "postal_code": "01101"},
        "ssn_last_four": "1234",
        "contacts": [{"family": "Smith", "given": "Ann", "role": "emergency", "relation": "wife",
                      "phone": "555-201-9876"}]}
    fields.update(changes)
    return prelude.PatientForm.model_validate({k: v for k, v in fields.items() if v is not None})


def total(chronicle: Chronicle, res_type: str, *params: tuple[str, str]) -> int:
    page = chronicle.search(res_type, [*params, ("_summary", "count")])
    assert page.total is not None
    return page.total


# ------------------------------------------------------------------------------------ in memory
def test_mrn_has_eight_digits_and_a_luhn_check_digit() -> None:
    assert luhn_check_digit("7992739871") == "3"  # the textbook Luhn example
    for _ in range(200):
        mrn = new_mrn()
        assert len(mrn) == 8 and mrn[0] != "0" and is_valid_mrn(mrn)
        assert not is_valid_mrn(mrn[:-1] + str((int(mrn[-1]) + 1) % 10))  # one wrong digit is caught
        assert not is_valid_mrn(mrn[1] + mrn[0] + mrn[2:]) or mrn[0] == mrn[1] or {mrn[0], mrn[1]} == {"0", "9"}


def test_nicknames_come_from_the_data_table() -> None:
    assert are_nicknames("bill", "william") and are_nicknames("liz", "elizabeth") and are_nicknames("beth", "liz")
    assert are_nicknames("pat", "patricia") and are_nicknames("pat", "patrick")
    assert not are_nicknames("bill", "robert") and not are_nicknames("zed", "zed")


def _person(family: str, given: str, born: str, sex: str = "male", phone: str | None = None,
            ssn: str | None = None, street: str | None = None) -> Person:
    patient: dict = {"name": [{"family": family, "given": given.split()}], "birthDate": born, "gender": sex}
    if phone:
        patient["telecom"] = [{"system": "phone", "value": phone}]
    if ssn:
        patient["identifier"] = [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": f"999-00-{ssn}"}]
    if street:
        patient["address"] = [{"line": [street], "postalCode": "01101"}]
    return person_of(patient)


KNOWN = _person("Smith", "William", "1980-03-12", phone="555-201-4567", ssn="1234", street="12 Elm Street")


@pytest.mark.parametrize(("other", "grade"), [
    (_person("Smith", "William", "1980-03-12"), "certain"),  # exact name and birth date
    (_person("Smith", "Bill", "1980-03-12", phone="5552014567"), "certain"),  # nickname, phone confirms
    (_person("Smtih", "William", "1980-03-12", phone="555.201.4567"), "certain"),  # typo, phone confirms
    (_person("Smith", "William", "1980-03-12", street="12 Elm St"), "certain"),  # the address confirms
    (_person("Smith", "Bill", "1980-03-12"), "probable"),  # nickname alone: staff decide
    (_person("Smith", "William", "1980-12-03"), "probable"),  # day and month transposed
    (_person("William", "Smith", "1980-03-12"), "probable"),  # given and family transposed
    (_person("Smith", "William", "1980-03-13"), "probable"),  # one digit off in the birth date
    (_person("Smith", "William", "1980-03-12", ssn="9999"), "probable"),  # the SSN disagrees: never certain
    (_person("Smith", "William", "1980-03-12", phone="555-777-0000", street="9 Oak Ave"), "probable"),  # moved
    (_person("Smith", "Robert", "1980-03-12", phone="555-201-4567", street="12 Elm St"), "possible"),  # a twin
    (_person("Smith", "William", "1955-07-01", phone="555-201-4567"), "possible"),  # the father
    (_person("Jones", "Mary", "1980-03-12", "female"), "certainly-not"),
])
def test_match_grades(other: Person, grade: str) -> None:
    comparison = compare(KNOWN, other)
    assert comparison.grade() == grade, comparison
    assert compare(other, KNOWN).score == comparison.score  # symmetric


def test_a_name_alone_is_never_more_than_possible() -> None:
    comparison = compare(person_of({"name": [{"family": "Smith", "given": ["William"]}]}), KNOWN)
    assert comparison.grade() == "possible" and comparison.score < 0.7


def test_candidate_queries_cover_transposed_dates_names_phones_and_ssn() -> None:
    queries = candidate_queries(KNOWN)
    assert [("birthdate", "1980-03-12")] in queries and [("birthdate", "1980-12-03")] in queries
    assert [("family", "smi"), ("birthdate", "ge1979-01-01"), ("birthdate", "le1981-12-31")] in queries
    assert [("family", "wil"), ("birthdate", "ge1979-01-01"), ("birthdate", "le1981-12-31")] in queries
    phones = next(q for q in queries if q[0][0] == "phone")[0][1].split(",")
    assert {"555-201-4567", "(555) 201-4567", "5552014567", "+15552014567"} <= set(phones)
    assert [("identifier", "http://osler.health/fhir/sid/ssn-last4|1234")] in queries


def test_forms_normalize_phones_and_refuse_bad_input_without_echoing_it() -> None:
    assert form(phone="+1 (555) 201-4567").phone == "555-201-4567"
    with pytest.raises(BadRequest) as caught:
        prelude.parse_form(prelude.PatientForm, {"family": "Smith", "given": "Will1am", "birth_date": "1980-02-30",
                                                 "sex": "male", "phone": "555-0123"})
    paths = {issue.expression[0] for issue in caught.value.issues}
    assert paths == {"given", "birth_date", "phone"}
    assert "555-0123" not in str(caught.value.outcome()) and "Will1am" not in str(caught.value.outcome())
    with pytest.raises(ValidationError, match="future"):
        form(birth_date=date(2999, 1, 1))
    with pytest.raises(ValidationError, match="subscriber is required"):
        prelude.CoverageForm(payer_id="acme-health", member_id="A1", plan="p", relationship="child")


# ------------------------------------------------------------------------------ registration
def test_register_creates_patient_with_mrn_and_account(chronicle: Chronicle, settings: Settings) -> None:
    result = prelude.register_patient(chronicle, form(), settings=settings, actor=CLERK)
    assert result.outcome == "created" and not result.work_items and result.mrn and is_valid_mrn(result.mrn)
    patient = chronicle.read("Patient", result.patient.res_id).resource
    assert patient["identifier"][0] == {"use": "usual", "system": "urn:osler:mrn", "value": result.mrn,
                                        "type": patient["identifier"][0]["type"]}
    assert patient["name"] == [{"use": "official", "family": "Smith", "given": ["William"]}]
    assert patient["birthDate"] == "1980-03-12" and patient["gender"] == "male"
    assert patient["telecom"] == [{"system": "phone", "value": "555-201-4567", "use": "home"}]
    assert patient["address"][0]["state"] == "MA" and patient["address"][0]["postalCode"] == "01101"
    assert patient["contact"][0]["relationship"][0]["coding"][0]["code"] == "C"
    assert patient["contact"][0]["relationship"][1] == {"text": "wife"}
    assert prelude.find_patient_by_mrn(chronicle, result.mrn, settings=settings).res_id == result.patient.res_id
    account = prelude.account_summary(chronicle, result.patient.res_id)
    assert result.account is not None and account.account_id == result.account.res_id
    assert account.balance == Decimal("0.00") and account.guarantor == f"Patient/{result.patient.res_id}"
    with chronicle.engine.connect() as conn:
        actors = {row[0] for row in conn.exec_driver_sql("SELECT actor FROM audit_event").all()}
    assert CLERK.name in actors


def test_a_known_person_is_returned_not_registered_twice(chronicle: Chronicle, settings: Settings) -> None:
    first = prelude.register_patient(chronicle, form(), settings=settings)
    for again in (form(), form(given="Bill", address=None, ssn_last_four=None),
                  form(family="Smtih", contacts=[], phone="555.201.4567")):
        result = prelude.register_patient(chronicle, again, settings=settings)
        assert (result.outcome, result.patient.res_id, result.mrn) == ("existing", first.patient.res_id, first.mrn)
    assert total(chronicle, "Patient") == 1 and total(chronicle, "Task") == 0 and total(chronicle, "Account") == 1


def test_a_probable_match_creates_the_patient_and_a_work_item(chronicle: Chronicle, settings: Settings) -> None:
    first = prelude.register_patient(chronicle, form(), settings=settings)
    second = prelude.register_patient(chronicle, form(given="Bill", phone=None, address=None, ssn_last_four=None),
                                      settings=settings, actor=CLERK)
    assert second.outcome == "possible-duplicate" and second.patient.res_id != first.patient.res_id
    assert second.mrn != first.mrn and len(second.work_items) == 1
    task = second.work_items[0].resource
    assert task["code"]["coding"][0]["code"] == POSSIBLE_DUPLICATE and task["status"] == "requested"
    assert task["focus"] == task["for"] == {"reference": f"Patient/{second.patient.res_id}"}
    assert task["input"][0]["valueReference"] == {"reference": f"Patient/{first.patient.res_id}"}
    assert 0.8 <= task["input"][1]["valueDecimal"] < 1 and task["input"][2]["valueCode"] == "probable"

    [review] = prelude.list_duplicate_reviews(chronicle)
    assert (review.patient_id, review.candidate_id) == (second.patient.res_id, first.patient.res_id)
    resolved = prelude.resolve_duplicate(chronicle, review.task_id, "not-duplicate", actor=CLERK, note="twins")
    assert (resolved.status, resolved.resolution) == ("completed", "not-duplicate")
    assert prelude.list_duplicate_reviews(chronicle) == []
    assert chronicle.read("Patient", second.patient.res_id).resource["active"] is True
    with pytest.raises(Conflict, match="already resolved"):
        prelude.resolve_duplicate(chronicle, review.task_id, "duplicate")


def test_resolving_a_duplicate_retires_the_new_record(chronicle: Chronicle, settings: Settings) -> None:
    first = prelude.register_patient(chronicle, form(), settings=settings)
    second = prelude.register_patient(chronicle, form(birth_date="1980-12-03"), settings=settings)
    assert second.outcome == "possible-duplicate"
    prelude.resolve_duplicate(chronicle, second.work_items[0].res_id, "duplicate", actor=CLERK)
    retired = chronicle.read("Patient", second.patient.res_id).resource
    survivor = chronicle.read("Patient", first.patient.res_id).resource
    assert retired["active"] is False
    assert retired["link"] == [{"other": {"reference": f"Patient/{first.patient.res_id}"}, "type": "replaced-by"}]
    assert survivor["link"] == [{"other": {"reference": f"Patient/{second.patient.res_id}"}, "type": "replaces"}]
    # The retired record is no candidate any more: registering the transposed date again finds only the survivor.
    third = prelude.register_patient(chronicle, form(birth_date="1980-12-03"), settings=settings)
    assert [m.patient_id for m in third.matches] == [first.patient.res_id]


def test_someone_else_with_the_same_birth_date_is_simply_created(chronicle: Chronicle, settings: Settings) -> None:
    prelude.register_patient(chronicle, form(), settings=settings)
    other = prelude.register_patient(chronicle, form(family="Jones", given="Mary", sex="female", phone=None,
                                                     address=None, ssn_last_four="8765"), settings=settings)
    assert other.outcome == "created" and other.matches == [] and total(chronicle, "Task") == 0


def test_a_clashing_mrn_is_drawn_again_and_nothing_stray_is_written(chronicle: Chronicle, settings: Settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first = prelude.register_patient(chronicle, form(), settings=settings)
    draws = iter([first.mrn, "12345674"])
    monkeypatch.setattr("osler.apps.registration.patients.new_mrn", lambda: next(draws))
    second = prelude.register_patient(chronicle, form(family="Jones", given="Mary", sex="female", phone=None,
                                                      address=None, ssn_last_four=None), settings=settings)
    assert second.outcome == "created" and second.mrn == "12345674"
    assert total(chronicle, "Patient") == 2 and total(chronicle, "Account") == 2
    assert total(chronicle, "Account", ("subject", f"Patient/{first.patient.res_id}")) == 1


def test_find_and_verify_a_patient(chronicle: Chronicle, settings: Settings) -> None:
    patient_id = prelude.register_patient(chronicle, form(), settings=settings).patient.res_id
    [best, *_] = prelude.search_patients(chronicle, family="Smith", given="Bill", birth_date=date(1980, 3, 12))
    assert best.patient_id == patient_id and best.grade == "probable"
    assert prelude.verify_identity(chronicle, patient_id, family="smith", given="Will",
                                   birth_date=date(1980, 3, 12)).verified
    wrong = prelude.verify_identity(chronicle, patient_id, family="Smith", given="William",
                                    birth_date=date(1980, 3, 21))
    assert not wrong.verified and wrong.mismatched == ["birth_date"]
    assert prelude.find_patient_by_mrn(chronicle, "00000000", settings=settings) is None
    with pytest.raises(NotFound):
        prelude.verify_identity(chronicle, "no-such-patient", family="Smith", given="W", birth_date=date(1980, 3, 12))


# ------------------------------------------------------------------------------ coverage and account
def coverage_form(**changes: object) -> prelude.CoverageForm:
    fields: dict[str, object] = {"payer_id": "acme-health", "payer_name": "Acme Health Plans",
                                 "member_id": "ACM100200301", "plan": "acme-ppo-gold", "plan_name": "Acme PPO Gold",
                                 "group_number": "GRP-7781",
                                 "start": "2024-01-01", "copays": {"gpvisit": "25.00", "spvisit": "50"},
                                 "deductible": "1500"}
    fields.update(changes)
    return prelude.CoverageForm.model_validate(fields)


def test_coverage_for_the_patient_and_for_a_child_of_the_subscriber(chronicle: Chronicle, settings: Settings) -> None:
    patient_id = prelude.register_patient(chronicle, form(), settings=settings).patient.res_id
    added = prelude.add_coverage(chronicle, patient_id, coverage_form(), actor=CLERK)
    coverage = added.coverage.resource
    assert added.created and added.payer is not None and added.subscriber is None
    assert added.payer.resource["identifier"] == [{"system": PAYER_ID_SYSTEM, "value": "acme-health"}]
    assert coverage["payor"][0]["reference"] == f"Organization/{added.payer.res_id}"
    assert coverage["beneficiary"] == coverage["subscriber"] == {"reference": f"Patient/{patient_id}"}
    assert coverage["subscriberId"] == "ACM100200301" and coverage["relationship"]["coding"][0]["code"] == "self"
    assert [(c["type"]["coding"][0]["code"], c["value"]) for c in coverage["class"]] == [("plan", "acme-ppo-gold"),
                                                                                         ("group", "GRP-7781")]
    costs = {c["type"]["coding"][0]["code"]: c["valueMoney"]["value"] for c in coverage["costToBeneficiary"]}
    assert costs == {"gpvisit": 25.0, "spvisit": 50.0, "deductible": 1500.0}
    assert coverage["costToBeneficiary"][0]["type"]["coding"][0]["system"] == COPAY_TYPE
    assert coverage["period"] == {"start": "2024-01-01"}
    assert prelude.account_summary(chronicle, patient_id).coverages == [f"Coverage/{added.coverage.res_id}"]
    again = prelude.add_coverage(chronicle, patient_id, coverage_form())
    assert not again.created and again.coverage.res_id == added.coverage.res_id

    child_id = prelude.register_patient(chronicle, form(given="Lucas", birth_date="2016-02-09", phone=None,
                                                        ssn_last_four=None), settings=settings).patient.res_id
    child = prelude.add_coverage(chronicle, child_id, coverage_form(
        member_id="ACM100200302", relationship="child", subscriber_is_guarantor=True,
        subscriber={"family": "Smith", "given": "William", "birth_date": "1980-03-12", "sex": "male"}))
    assert child.subscriber is not None and child.subscriber.resource["patient"] == {"reference": f"Patient/{child_id}"}
    assert child.coverage.resource["subscriber"] == {"reference": f"RelatedPerson/{child.subscriber.res_id}"}
    assert prelude.account_summary(chronicle, child_id).guarantor == f"RelatedPerson/{child.subscriber.res_id}"
    assert total(chronicle, "Organization") == 1  # one payer, however many coverages


def test_coverage_ending_before_it_starts_writes_nothing(chronicle: Chronicle, settings: Settings) -> None:
    patient_id = prelude.register_patient(chronicle, form(), settings=settings).patient.res_id
    with pytest.raises(BadRequest, match="ends before it starts") as caught:
        prelude.add_coverage(chronicle, patient_id, coverage_form(start="2024-06-01", end="2024-01-31"))
    assert caught.value.issues[0].expression == ["Coverage.period"]
    assert total(chronicle, "Coverage") == total(chronicle, "Organization") == 0
    assert prelude.account_summary(chronicle, patient_id).version == 1


def test_unknown_patients_are_not_found(chronicle: Chronicle) -> None:
    for call in (lambda: prelude.add_coverage(chronicle, "nobody", coverage_form()),
                 lambda: prelude.outstanding_balance(chronicle, "nobody"),
                 lambda: prelude.post_to_account(chronicle, "nobody", Decimal("1.00"), kind="charge"),
                 lambda: prelude.copay_for_visit(chronicle, "nobody")):
        with pytest.raises(NotFound):
            call()
    assert total(chronicle, "Coverage") == total(chronicle, "Account") == 0


def test_account_postings_are_never_lost(chronicle: Chronicle, settings: Settings) -> None:
    patient_id = prelude.register_patient(chronicle, form(), settings=settings).patient.res_id
    assert prelude.outstanding_balance(chronicle, patient_id) == Decimal("0.00")
    prelude.post_to_account(chronicle, patient_id, Decimal("125.50"), kind="charge", actor=CLERK)
    summary = prelude.post_to_account(chronicle, patient_id, Decimal("25.25"), kind="payment", actor=CLERK)
    assert summary.balance == Decimal("100.25") == prelude.outstanding_balance(chronicle, patient_id)
    account = chronicle.read("Account", summary.account_id).resource
    assert [e for e in account["extension"] if e["url"] == ACCOUNT_BALANCE_URL] == [
        {"url": ACCOUNT_BALANCE_URL, "valueMoney": {"value": 100.25, "currency": "USD"}}]

    def charge() -> None:
        for _ in range(2):
            prelude.post_to_account(chronicle, patient_id, Decimal("10.00"), kind="charge")

    workers = [threading.Thread(target=charge) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert prelude.outstanding_balance(chronicle, patient_id) == Decimal("140.25")
    with pytest.raises(BadRequest, match="positive"):
        prelude.post_to_account(chronicle, patient_id, Decimal("0"), kind="payment")
