"""Medicare qualification of DME cases: every rule passing and failing, the merge of the documents' fields."""

from __future__ import annotations

import pytest

from osler.dme.model import DocumentKind, ExtractedField
from osler.dme.qualify import decide, merge, merge_fields
from tests.dme_documents import (
    PATIENT,
    case_of,
    cpap_order,
    document,
    office_note,
    oxygen_note,
    oxygen_order,
    oxygen_test,
    sleep_study,
)


def codes(decision) -> list[str]:
    return [m.code for m in decision.missing]


def message(decision, code: str) -> str:
    return next(m.message for m in decision.missing if m.code == code)


# ------------------------------------------------------------------------------------------ CPAP


def test_clean_cpap_case_qualifies_with_the_passed_rules_noted():
    decision = decide(case_of(cpap_order(), office_note(), sleep_study(22.0)))
    assert decision.status == "qualified", decision.missing
    assert decision.rule_set == "medicare-cpap-e0601"
    assert "Sleep study: AHI 22.0 ≥ 15." in decision.notes
    assert "Order: NPI valid." in decision.notes
    assert any("before the sleep study" in note for note in decision.notes)


def test_rdi_counts_when_the_home_test_reports_no_ahi():
    study = sleep_study(None, study={"type": "HST", "rdi": 17.5})
    assert decide(case_of(cpap_order(), office_note(), study)).status == "qualified"


def test_ahi_5_to_14_qualifies_with_a_documented_symptom_or_comorbidity():
    hypertensive = office_note(face_to_face={"date": "2025-02-01", "symptoms": ["snoring"],
                                             "comorbidities": ["essential hypertension"]})
    decision = decide(case_of(cpap_order(), hypertensive, sleep_study(11.0)))
    assert decision.status == "qualified", decision.missing
    assert any("documented hypertension" in note for note in decision.notes)


def test_ahi_5_to_14_without_symptoms_names_what_the_note_lacks():
    plain = office_note(face_to_face={"date": "2025-02-01", "symptoms": ["snoring"],
                                      "comorbidities": ["pulmonary hypertension"]})
    decision = decide(case_of(cpap_order(), plain, sleep_study(11.0)))
    assert codes(decision) == ["ahi-threshold"]
    text = message(decision, "ahi-threshold")
    assert text.startswith("Sleep study: AHI 11.0 is below 15 and the face-to-face note documents none of "
                           "excessive daytime sleepiness")
    assert "history of stroke" in text


def test_ahi_below_5_does_not_qualify():
    decision = decide(case_of(cpap_order(), office_note(), sleep_study(3.2)))
    assert codes(decision) == ["ahi-threshold"]
    assert "AHI 3.2 is below 5" in message(decision, "ahi-threshold")


def test_short_recording_needs_the_events_two_hours_would_give():
    short = sleep_study(18.0, study={"recording_hours": 1.5, "total_events": 27})
    decision = decide(case_of(cpap_order(), office_note(), short))
    assert codes(decision) == ["sleep-study-events"]
    assert "at least 30 events" in message(decision, "sleep-study-events")
    enough = sleep_study(20.0, study={"recording_hours": 1.5, "total_events": 30})
    assert decide(case_of(cpap_order(), office_note(), enough)).status == "qualified"


def test_no_face_to_face():
    decision = decide(case_of(cpap_order(), sleep_study()))
    assert codes(decision) == ["face-to-face"]


def test_face_to_face_after_the_study():
    late = office_note(face_to_face={"date": "2025-03-01", "symptoms": ["snoring"], "comorbidities": []})
    decision = decide(case_of(cpap_order(), late, sleep_study()))
    assert codes(decision) == ["face-to-face-before-study"]
    assert "(2025-03-01) is dated after the sleep study (2025-02-15)" in message(decision, "face-to-face-before-study")


def test_unreadable_face_to_face_date_cannot_show_the_order_of_events():
    undated = office_note(face_to_face={"symptoms": ["snoring"], "comorbidities": []})
    assert codes(decide(case_of(cpap_order(), undated, sleep_study()))) == ["face-to-face-before-study"]


def test_no_sleep_study_and_an_unreadable_document_is_named():
    unreadable = document(None, quarantined="encrypted PDF", filename="fax-0042.pdf")
    decision = decide(case_of(cpap_order(), office_note(), unreadable))
    assert codes(decision) == ["sleep-study"]
    assert "fax-0042.pdf (encrypted PDF)" in message(decision, "sleep-study")
    assert "Could not read fax-0042.pdf: encrypted PDF." in decision.notes


def test_missing_diagnosis():
    decision = decide(case_of(cpap_order(diagnoses=["E66.01"]), office_note(diagnoses=[]), sleep_study()))
    assert codes(decision) == ["diagnosis"]
    assert "G47.33" in message(decision, "diagnosis")


def test_diagnosis_in_the_note_only_is_enough():
    assert decide(case_of(cpap_order(diagnoses=None), office_note(), sleep_study())).status == "qualified"


@pytest.mark.parametrize(("overrides", "code"), [
    ({"signature_present": False}, "prescriber-signature"),
    ({"signature_present": None}, "prescriber-signature"),
    ({"prescriber_npi": "1234567890"}, "prescriber-npi"),
    ({"prescriber_npi": None}, "prescriber-npi"),
    ({"prescriber_name": None}, "prescriber-name"),
    ({"order_date": None}, "order-date"),
    ({"patient_name": {"family": "Rivera", "given": ""}}, "beneficiary-name"),
    ({"items": [{"hcpcs": "E0601", "quantity": 0}]}, "order-quantity"),
    ({"mbi": "1EG4TE5MK7"}, "mbi"),
])
def test_each_order_element(overrides, code):
    note = office_note(**{name: None for name in overrides if name in ("patient_name", "mbi", "prescriber_name",
                                                                         "prescriber_npi")})
    decision = decide(case_of(cpap_order(**overrides), note, sleep_study(mbi=None, patient_name=None)))
    assert decision.status == "missing"
    assert codes(decision) == [code]


def test_invalid_npi_message_names_the_npi():
    decision = decide(case_of(cpap_order(prescriber_npi="1234567890"), office_note(prescriber_npi=None),
                              sleep_study()))
    assert "NPI 1234567890 is not a valid NPI" in message(decision, "prescriber-npi")


def test_a_signed_note_does_not_sign_the_order():
    decision = decide(case_of(cpap_order(signature_present=None), office_note(signature_present=True), sleep_study()))
    assert codes(decision) == ["prescriber-signature"]


def test_no_mbi_but_a_plan_member_id_passes():
    order = cpap_order(mbi=None, member_id="XYZ123456")
    decision = decide(case_of(order, office_note(mbi=None), sleep_study(mbi=None)))
    assert decision.status == "qualified", decision.missing
    assert codes(decide(case_of(cpap_order(mbi=None), office_note(mbi=None), sleep_study(mbi=None)))) == ["mbi"]


def test_supplies_ride_on_the_cpap_rules():
    supplies = cpap_order(items=[{"hcpcs": "A7030", "quantity": 1}, {"hcpcs": "A7037", "quantity": 1}])
    decision = decide(case_of(supplies, office_note(), sleep_study()))
    assert (decision.status, decision.rule_set) == ("qualified", "medicare-cpap-e0601")
    assert codes(decide(case_of(supplies, office_note()))) == ["sleep-study"]


def test_supplies_beyond_their_replacement_schedule_are_reported():
    three_months = [{"hcpcs": "A7038", "quantity": 6}, {"hcpcs": "A7030", "quantity": 1},
                    {"hcpcs": "A7035", "quantity": 1}]
    assert decide(case_of(cpap_order(items=three_months), office_note(), sleep_study())).status == "qualified"
    too_many = [{"hcpcs": "A7038", "quantity": 8}, {"hcpcs": "A7030", "quantity": 2},
                {"hcpcs": "A7037", "quantity": 1}]
    decision = decide(case_of(cpap_order(items=too_many), office_note(), sleep_study()))
    assert codes(decision) == ["supply-quantity"]
    text = message(decision, "supply-quantity")
    assert "A7038 x 8 (usually 2 per 1 month, at most 6 at once)" in text
    assert "A7030 x 2 (usually 1 per 3 months, at most 1 at once)" in text
    assert "A7037" not in text


def test_too_few_events_fail_even_when_the_recording_time_is_not_stated():
    few = sleep_study(16.0, study={"recording_hours": None, "total_events": 21})
    assert codes(decide(case_of(cpap_order(), office_note(), few))) == ["sleep-study-events"]
    # two hours or more recorded meets the rule whatever the count reads (a misread count does not undo it)
    long_enough = sleep_study(16.0, study={"recording_hours": 6.5, "total_events": 21})
    assert decide(case_of(cpap_order(), office_note(), long_enough)).status == "qualified"


# --------------------------------------------------------------------------------------- bilevel


def test_bilevel_needs_a_documented_cpap_failure():
    decision = decide(case_of(cpap_order("E0470"), office_note(), sleep_study()))
    assert decision.rule_set == "medicare-bilevel-e0470"
    assert codes(decision) == ["cpap-trial"]


def test_bilevel_with_cpap_intolerance_documented_qualifies():
    fields = {name: found.value for name, found in office_note().fields.items()}
    note = document(DocumentKind.OFFICE_NOTE, "Assessment: OSA. Patient could not tolerate CPAP at 12 cm H2O "
                    "despite mask refits; switching to bilevel.", **fields)
    decision = decide(case_of(cpap_order("E0470"), note, sleep_study()))
    assert decision.status == "qualified", decision.missing
    assert "CPAP tried and failed, documented." in decision.notes


# ------------------------------------------------------------------------------- other outcomes


@pytest.mark.parametrize("hcpcs", ["E0471", "K0001"])
def test_items_without_rules_need_review(hcpcs):
    decision = decide(case_of(cpap_order(hcpcs), office_note(), sleep_study()))
    assert decision.status == "needs-review"
    assert hcpcs in decision.notes[-1]


def test_non_dme_only_case():
    decision = decide(case_of(document(DocumentKind.NON_DME, "Lipid panel results", **PATIENT)))
    assert decision.status == "not-dme"


def test_order_without_items_is_missing_them():
    decision = decide(case_of(cpap_order(items=None), office_note(), sleep_study()))
    assert decision.status == "missing"
    assert "order-items" in codes(decision)


# ---------------------------------------------------------------------------------------- oxygen


def test_oxygen_qualifies_on_saturation_at_rest():
    decision = decide(case_of(oxygen_order(), oxygen_note(), oxygen_test(87.0)))
    assert (decision.status, decision.rule_set) == ("qualified", "medicare-oxygen")


def test_oxygen_qualifies_on_arterial_blood_gas():
    assert decide(case_of(oxygen_order(), oxygen_note(), oxygen_test(None, 55.0))).status == "qualified"


def test_sleep_oximetry_qualifies_with_a_note_to_confirm_the_duration():
    decision = decide(case_of(oxygen_order(), oxygen_note(), oxygen_test(86.0, condition="sleep")))
    assert decision.status == "qualified"
    assert any("at least 5 minutes" in note for note in decision.notes)


def test_oxygen_saturation_too_high():
    decision = decide(case_of(oxygen_order(), oxygen_note(), oxygen_test(92.0)))
    assert codes(decision) == ["oxygen-saturation"]
    assert message(decision, "oxygen-saturation").startswith("Oxygen test: SpO2 92 % during rest does not qualify")


def test_group_ii_saturation_needs_a_documented_condition():
    assert codes(decide(case_of(oxygen_order(), oxygen_note(), oxygen_test(89.0)))) == ["oxygen-saturation"]
    with_heart_failure = oxygen_note(comorbidities=["heart failure", "copd"])
    assert decide(case_of(oxygen_order(), with_heart_failure, oxygen_test(89.0))).status == "qualified"


@pytest.mark.parametrize(("when", "words"), [("2025-03-01", "is 70 days before the order"),
                                              ("2025-05-12", "is dated after the order")])
def test_oxygen_test_outside_the_window(when, words):
    decision = decide(case_of(oxygen_order(), oxygen_note(), oxygen_test(85.0, when=when)))
    assert codes(decision) == ["oxygen-test-date"]
    assert words in message(decision, "oxygen-test-date")


def test_no_oxygen_test():
    assert codes(decide(case_of(oxygen_order(), oxygen_note()))) == ["oxygen-test"]


def test_oxygen_face_to_face_within_30_days():
    decision = decide(case_of(oxygen_order(), oxygen_note(when="2025-03-20"), oxygen_test()))
    assert codes(decision) == ["face-to-face-date"]
    assert codes(decide(case_of(oxygen_order(), oxygen_test()))) == ["face-to-face"]


def test_cpap_and_oxygen_on_one_order_run_both_rule_sets():
    both = cpap_order(items=[{"hcpcs": "E0601", "quantity": 1}, {"hcpcs": "E1390", "quantity": 1}])
    decision = decide(case_of(both, office_note(), sleep_study()))
    assert decision.rule_set == "medicare-cpap-e0601+medicare-oxygen"
    assert "oxygen-test" in codes(decision)


# ----------------------------------------------------------------------------------------- merge


def test_merge_takes_each_field_from_its_authority():
    order, note, study = cpap_order(), office_note(order_date="2025-01-01"), sleep_study()
    merged = merge(case_of(note, study, order))
    assert merged.fields["order_date"].value == "2025-03-20"
    assert merged.fields["sleep_study"].value["ahi"] == 22.0
    assert merged.fields["face_to_face"].value["date"] == "2025-02-01"


def test_merge_notes_conflicts_and_unions_diagnoses():
    order = cpap_order(diagnoses=["G47.33"])
    note = office_note(birth_date="1950-09-04", diagnoses=["I10"])
    merged = merge(case_of(order, note))
    assert merged.fields["diagnoses"].value == ["G47.33", "I10"]
    assert any(conflict.startswith("birth_date:") for conflict in merged.conflicts)
    decision = decide(case_of(order, note, sleep_study()))
    assert any(note.startswith("Conflict: birth_date") for note in decision.notes)


def test_merge_prefers_the_amended_order_and_falls_back_to_the_case_fields():
    first = cpap_order(order_date="2025-03-20", items=[{"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": 8}}])
    amended = cpap_order(order_date="2025-04-02", items=[{"hcpcs": "E0601", "quantity": 1,
                                                          "settings": {"pressure": 11}}])
    case = case_of(first, amended)
    case.fields["payer"] = ExtractedField("payer", "Medicare Part B", 1.0, extractor="fhir")
    fields = merge_fields(case)
    assert fields["items"].value[0]["settings"]["pressure"] == 11
    assert fields["payer"].value == "Medicare Part B"


def test_merge_prefers_a_well_formed_mbi_over_the_facesheets_misreading():
    misread = PATIENT["mbi"][:1] + "0" + PATIENT["mbi"][2:]  # a letter position read as a zero: malformed
    facesheet = document(DocumentKind.FACESHEET, **{**PATIENT, "mbi": misread})
    merged = merge(case_of(cpap_order(), facesheet))
    assert merged.fields["mbi"].value == PATIENT["mbi"]
    assert any(conflict.startswith("mbi:") for conflict in merged.conflicts)
    assert merge_fields(case_of(cpap_order(mbi=None), facesheet))["mbi"].value == misread  # nothing better


def test_merge_prefers_confidence_when_no_kind_has_authority():
    low = document(DocumentKind.ENCOUNTER_SUMMARY, sex="male")
    high = document(DocumentKind.OFFICE_NOTE, sex="female")
    high.fields["sex"].confidence = 0.99
    low.fields["sex"].confidence = 0.40
    assert merge_fields(case_of(low, high))["sex"].value == "female"


def test_the_cases_own_fields_stand_over_the_documents_readings():
    case = case_of(cpap_order(prescriber_npi="1234567890"), office_note(prescriber_npi=None), sleep_study())
    case.fields["prescriber_npi"] = ExtractedField("prescriber_npi", "1234567893", 1.0, extractor="fhir")
    assert decide(case).status == "qualified"


def test_a_visit_in_an_encounter_summary_is_not_the_face_to_face_evaluation():
    summary = document(DocumentKind.ENCOUNTER_SUMMARY, **{**PATIENT, "face_to_face": {
        "date": "2025-02-01", "symptoms": ["excessive daytime sleepiness"], "comorbidities": []}})
    assert codes(decide(case_of(cpap_order(), summary, sleep_study()))) == ["face-to-face"]


def test_an_mbi_failing_its_format_check_holds_nothing_up_when_the_plan_s_member_id_is_stated():
    misread = "8GHEGH4RWE9"  # a 6 read as an E, twice: no MBI's format
    order = cpap_order(mbi=misread, member_id="LPB573665252")
    decision = decide(case_of(order, office_note(mbi=misread), sleep_study(mbi=misread)))
    assert decision.status == "qualified", decision.missing
    # without a plan's member ID, or with the MBI itself under the member-ID label, the MBI must be put right
    for member_id in (None, misread):
        alone = cpap_order(mbi=misread, member_id=member_id)
        assert codes(decide(case_of(alone, office_note(mbi=misread), sleep_study(mbi=misread)))) == ["mbi"]
