"""Matching faxed documents to open cases: certain, ambiguous, conflicting, orphaned then matched; the case book."""

from __future__ import annotations

from osler.dme.matching import match
from osler.dme.model import DocumentKind
from tests.dme_documents import (
    OTHER_PATIENT,
    PATIENT,
    case_of,
    cpap_order,
    document,
    office_note,
    oxygen_order,
    oxygen_test,
    sleep_study,
)

NO_IDS = {"mbi": None, "mrn": None}


def rivera_case(key: str = "rivera-cpap"):
    return case_of(cpap_order(), key=key)


def okafor_case(key: str = "okafor-cpap"):
    return case_of(cpap_order(**OTHER_PATIENT), key=key)


def test_mbi_with_agreeing_name_attaches():
    found = match(sleep_study(), [okafor_case(), rivera_case()])
    assert (found.case_key, found.needs_review) == ("rivera-cpap", False)
    assert "MBI matches" in found.reasons


def test_name_and_birth_date_attach_even_written_last_first():
    swapped = sleep_study(patient_name={"family": "Ana", "given": "Rivera"}, **NO_IDS)
    found = match(swapped, [okafor_case(), rivera_case()])
    assert found.attach and found.case_key == "rivera-cpap"


def test_one_letter_ocr_slip_with_the_birth_date_attaches():
    assert match(sleep_study(patient_name={"family": "Riviera", "given": "Ana"}, **NO_IDS), [rivera_case()]).attach


def test_misspelt_name_with_birth_date_only_waits_for_a_person():
    typo = sleep_study(patient_name={"family": "Rivers", "given": "Anna"}, **NO_IDS)
    found = match(typo, [rivera_case()])
    assert found.needs_review and found.case_key == "rivera-cpap"
    assert "patient not certain" in found.reasons


def test_a_name_the_facesheet_misspelt_is_still_the_name_the_order_spells():
    # the facesheet is the case's authority for the name, and OCR misspelt it; the order spells it right
    facesheet = document(DocumentKind.FACESHEET, **{**PATIENT, "patient_name": {"family": "Rivcra", "given": "Ana"}})
    case = case_of(cpap_order(), facesheet, key="rivera-cpap")
    found = match(sleep_study(**NO_IDS), [okafor_case(), case])
    assert (found.case_key, found.attach) == ("rivera-cpap", True)
    # nobody's name is spelt this way: with the birth date alone it still waits for a person
    assert match(sleep_study(patient_name={"family": "Rivers", "given": "Anna"}, **NO_IDS), [case]).needs_review


def test_misspelt_name_with_mbi_attaches():
    typo = sleep_study(patient_name={"family": "Rivers", "given": "Anna"})
    assert match(typo, [rivera_case()]).attach


def test_transposed_birth_date_counts_less_and_waits():
    transposed = sleep_study(birth_date="1950-09-04", **NO_IDS)
    found = match(transposed, [rivera_case()])
    assert found.needs_review
    assert "birth date matches with day and month swapped" in found.reasons


def test_same_name_other_birth_date_is_no_match():
    namesake = sleep_study(birth_date="1962-01-30", **NO_IDS)
    found = match(namesake, [rivera_case()])
    assert (found.case_key, found.needs_review) == (None, False)
    assert any("birth date differs" in reason for reason in found.reasons)


def test_same_name_and_birth_date_other_mbi_is_no_match():
    found = match(sleep_study(mbi="3GJ6VG7PR95"), [rivera_case()])
    assert found.case_key is None
    assert any("MBI differs" in reason for reason in found.reasons)


def test_two_patients_alike_is_ambiguous():
    twin = case_of(cpap_order(mbi="3GJ6VG7PR95", mrn="MRN3003"), key="other-rivera")
    found = match(sleep_study(**NO_IDS), [rivera_case(), twin])
    assert found.needs_review and found.case_key is None
    assert found.reasons[0].startswith("ambiguous: ")


def test_no_identity_at_all_is_an_orphan():
    found = match(sleep_study(patient_name=None, birth_date=None, **NO_IDS), [rivera_case()])
    assert (found.case_key, found.needs_review, found.reasons) == (None, False, ["no open case for this patient"])


def test_an_order_for_other_items_does_not_join_the_case():
    found = match(oxygen_order(), [rivera_case()])
    assert found.case_key is None
    assert any("a different order" in reason for reason in found.reasons)


def test_superseded_cases_take_no_documents():
    old = rivera_case()
    old.superseded_by = "amended"
    assert match(sleep_study(), [old]).case_key is None


def test_each_document_goes_to_the_case_of_the_same_patient_that_needs_it():
    cpap, oxygen = rivera_case("cpap"), case_of(oxygen_order(), key="oxygen")
    assert match(sleep_study(), [oxygen, cpap]).case_key == "cpap"
    assert match(oxygen_test(), [cpap, oxygen]).case_key == "oxygen"
    note = match(office_note(), [oxygen, cpap])
    assert note.attach and {note.case_key, *note.also} == {"cpap", "oxygen"}


def test_patient_fields_come_from_the_case_when_it_has_no_documents():
    structured = case_of(key="fhir-order")
    structured.fields = {name: found for name, found in cpap_order().fields.items()}
    assert match(sleep_study(), [structured]).attach
    assert PATIENT["mbi"] == structured.fields["mbi"].value


def test_name_and_mrn_attach_when_the_scanned_order_lost_the_birth_date():
    order_without_birth = case_of(cpap_order(birth_date=None, mbi=None), key="rivera-cpap")
    found = match(sleep_study(mbi=None), [okafor_case(), order_without_birth])
    assert (found.case_key, found.needs_review) == ("rivera-cpap", False)
    assert {"name matches", "MRN matches"} <= set(found.reasons)


def test_two_identifiers_without_the_name_attach():
    order_without_name = case_of(cpap_order(patient_name=None, mbi=None), key="rivera-cpap")
    assert match(sleep_study(patient_name=None, mbi=None), [order_without_name]).attach


def test_a_member_id_read_with_a_look_alike_glyph_is_an_identifier():
    order = case_of(cpap_order(birth_date=None, member_id="1338529859", **NO_IDS), key="rivera-cpap")
    found = match(sleep_study(member_id="I338529859", **NO_IDS), [order])
    assert found.attach and "member id matches" in found.reasons


def test_a_member_id_that_is_the_mbi_is_not_a_second_identifier():
    order = case_of(cpap_order(patient_name=None, birth_date=None, member_id=PATIENT["mbi"], mrn=None))
    document = sleep_study(patient_name=None, birth_date=None, member_id=PATIENT["mbi"], mrn=None)
    assert match(document, [order]).needs_review


def test_an_mbi_one_character_apart_is_no_conflict_but_no_evidence():
    misread = PATIENT["mbi"][:1] + ("K" if PATIENT["mbi"][1] != "K" else "M") + PATIENT["mbi"][2:]  # one letter
    found = match(sleep_study(mbi=misread, mrn=None), [rivera_case()])
    assert found.attach and "MBI one character apart (an OCR misreading?)" in found.reasons
    assert "MBI matches" not in found.reasons
    alone = match(sleep_study(mbi=misread, birth_date=None, mrn=None), [rivera_case()])
    assert alone.needs_review  # the name alone is one identifier


def test_a_birth_date_one_digit_apart_needs_another_identifier_besides_the_name():
    with_mrn = match(sleep_study(birth_date="1950-04-08", mbi=None), [rivera_case()])
    assert with_mrn.attach and "birth date one digit apart (an OCR misreading?)" in with_mrn.reasons
    assert match(sleep_study(birth_date="1950-04-08", **NO_IDS), [rivera_case()]).needs_review
    assert match(sleep_study(birth_date="1950-07-08", **NO_IDS), [rivera_case()]).case_key is None  # two digits


def test_a_malformed_mbi_rules_nobody_out():
    garbled = case_of(cpap_order(mbi="CEALYGPAUES"), key="rivera-cpap")  # OCR made letters of a smudged MBI
    found = match(sleep_study(), [garbled])
    assert found.attach and "MBI matches" not in found.reasons


def test_a_name_ocr_read_with_rn_as_m_is_the_same_name():
    order = case_of(cpap_order(patient_name={"family": "Rivera", "given": "Bernard"}, **NO_IDS), key="rivera-cpap")
    found = match(sleep_study(patient_name={"family": "Rivera", "given": "Bemard"}, **NO_IDS), [order])
    assert found.attach and "name matches" in found.reasons


def test_a_name_ocr_misread_glyph_by_glyph_attaches_with_birth_date_and_mrn():
    # "Licyd" for "Lloyd": two letters misread for their look-alikes; the birth date and the MRN vouch for him
    lloyd = {"patient_name": {"family": "Haddad", "given": "Lloyd"}, "birth_date": "1946-04-22", "mbi": None,
             "mrn": "MR9490721"}
    case = case_of(cpap_order(**lloyd), key="haddad-cpap")
    misread = sleep_study(**{**lloyd, "patient_name": {"family": "Haddad", "given": "Licyd"}})
    found = match(misread, [okafor_case(), case])
    assert (found.case_key, found.attach) == ("haddad-cpap", True)
    # the misread name alone with the birth date is no certainty: it waits for a person
    alone = sleep_study(**{**lloyd, "mrn": None, "patient_name": {"family": "Haddad", "given": "Licyd"}})
    assert match(alone, [case]).needs_review


def test_a_name_differing_in_letters_that_are_not_look_alikes_still_rules_a_case_out():
    lloyd = {"patient_name": {"family": "Haddad", "given": "Lloyd"}, "birth_date": "1946-04-22", "mbi": None,
             "mrn": "MR9490721"}
    case = case_of(cpap_order(**lloyd), key="haddad-cpap")
    other = sleep_study(**{**lloyd, "patient_name": {"family": "Haddad", "given": "Wendy"}})
    found = match(other, [case])
    assert not found.attach and any("name differs" in reason for reason in found.reasons)
