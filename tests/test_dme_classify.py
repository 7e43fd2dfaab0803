"""Classification by a document's heading and body: a phrase counts as a title only on a short heading line,
and OCR's specks inside a heading or a title word do not hide it."""

from __future__ import annotations

from osler.dme.model import Document, DocumentKind, Page
from osler.dme.understand import classify
from osler.dme.understand.labels import repair_title_words

SHA = "0" * 64


def ocr_document(text: str) -> Document:
    """A one-page document read by OCR (confidence 88)."""
    return Document(SHA, "test", "test.pdf", "application/pdf", [Page(1, text, "ocr", 88.0)])


def test_a_sentence_near_the_top_of_a_short_page_is_no_title() -> None:
    # the second page of a progress note, faxed on its own: its plan mentions the order, its heading is a note's
    continued = ocr_document(
        "Patient: Montgomery, Hazel\n\nProgress Note (continued)\n\nG47.33 Obstructive sleep apnea\n"
        "Discussed results; DME order sent to supplier.\nOrdering Physician: Clarence Quintero, M.D.\nSigned")
    assert classify(continued)[0] is DocumentKind.OFFICE_NOTE


def test_an_order_titled_on_its_own_line_is_still_an_order() -> None:
    order = ocr_document("Bayside Pulmonary\nDME ORDER\nPatient: Jo Doe\nItem ordered: E0601 CPAP, qty 1\n"
                         "Follow-up visit in 3 months.\nOrdering Physician: Rosa Lindqvist, DO")
    assert classify(order)[0] is DocumentKind.DME_ORDER


def test_a_period_read_into_a_heading_does_not_break_it() -> None:
    letter = ocr_document(
        "Harbor View Medical Group\n286 Elm Street, Tulsa, OK 74103\nRE: New Patient. Visit\n"
        "This concerns LAMBERT, SHIRLEY. Seen in clinic on 01/10/2025.\nVitals: BMI 31\n"
        "Her polysomnography showed obstructive sleep apnea; apnea events were frequent.")
    assert classify(letter)[0] is DocumentKind.OFFICE_NOTE


def test_a_glyph_read_into_a_title_word_is_repaired() -> None:
    assert repair_title_words("Discharge St\u00abmary") == "Discharge Summary"
    summary = ocr_document("Sunrise Sleep & Lung Center\nDischarge St\u00abmary\nPatient Name: Gloria J. Baptiste\n"
                           "PROBLEM LIST\nMEDICATIONS\nALLERGIES")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY


def test_an_ordinary_word_with_a_glyph_stays_as_written() -> None:
    assert repair_title_words("Caf\u00e9 menu") == "Caf\u00e9 menu"


def test_a_plain_oxygen_test_title_classifies_when_its_reading_is_garbled() -> None:
    # the one reading under the title lost its "SpO2" to a glyph: the title alone must say what it is
    test = ocr_document("Lakeview Clinic\n\nQualifying Oxygen Test\n\nField Value\nBeneficiary Name: Jo Doe\n"
                        "Date Performed: 08 July 2025\nResults\n'S$pO2 at rest on r00m air: 91%\nPerformed by RT Ames")
    assert classify(test)[0] is DocumentKind.OXYGEN_TEST


def test_a_speck_before_a_heading_s_second_word_does_not_break_it() -> None:
    summary = ocr_document("Northgate Internal Medicine\n\nCLINICAL .SUMMARY |\n\n1. PATIENT NAME: Jo Doe\n"
                           "PROBLEM LIST\n7. ICD-10: Obstructive sleep apnea (G47.33)\nMEDICATIONS |\nmetformin\n")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY


def test_a_colon_read_into_a_heading_does_not_break_it() -> None:
    note = ocr_document("Oak Hollow Physicians\n\nProgress: Note\n\nPatient Name: Rasmussen, Luis\n"
                        "Patient presents for evaluation of suspected sleep apnea.\n"
                        "Plan: Schedule diagnostic sleep study, then PAP if indicated.")
    assert classify(note)[0] is DocumentKind.OFFICE_NOTE


def test_a_title_word_whose_letters_ocr_read_as_punctuation_is_repaired() -> None:
    assert repair_title_words("Encounter S:-.ary") == "Encounter Summary"
    assert repair_title_words("After Visit S:\u2122mmary") == "After Visit Summary "  # same length, padded
    summary = ocr_document("Bayou Cardiopulmonary\n\nEncounter S:-.ary\n\nPatient: Wojcik, Wendell\n"
                           "Encounter Date: 25-Jun-2025 / Attending: Otis McAllister, MD\nMEDICATIONS: furosemide\n")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY


def test_punctuated_ordinary_words_are_not_taken_for_title_words() -> None:
    for text in ("e.g. this", "10:30 am", "well-known", "Dr. Smith: ok", "and/or", "Diag:nosis"):
        assert repair_title_words(text) == text


def test_a_u_read_as_ti_in_a_title_word() -> None:
    assert repair_title_words("Clinical Stimmary") == "Clinical Summary "
    summary = ocr_document("Bayou Cardiopulmonary\n\nClinical Stimmary\n\nName: Lloyd J. O'Rourke DOB: February "
                           "13, 1939\nSeen on: November 3, 2024\nDiagnoses\nObstructive sleep apnea (G47.33)\n")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY
    for word in ("Patient", "Martin", "Curtis", "rotten", "Medicare", "detached"):  # ordinary words stay
        assert repair_title_words(word) == word


def test_a_title_word_whose_first_letter_ocr_set_apart() -> None:
    note = ocr_document("St. Anselm Hospital Sleep Lab\n\nPulmonary F ollow-up Visit\n\nRe patient CASTELLANOS, "
                        "CARMEN. Seen in clinic on September 11, 2025.\nDiagnoses: Chronic respiratory failure "
                        "(J96.11).\nDiscussed results: DME order sent to supplier.\nOrdered by Rufus Sandoval, DO.")
    assert classify(note)[0] is DocumentKind.OFFICE_NOTE
    # an article before a title's word is left alone
    assert classify(ocr_document("Riverbend Clinic\n\nA summary of care\n\nPatient: Jo Doe\nMedications\n"))[0] \
        is DocumentKind.ENCOUNTER_SUMMARY


def test_a_title_line_word_with_two_glyphs_misread() -> None:
    summary = ocr_document("Bayou Cardiopulmonary\n\nDischarge Stumary\n\nPatient: Harold Sandoval\nDate of Birth: "
                           "Feb 6, 1955\nActive Problems\nMedications\natorvastatin 40 mg nightly\nAllergies\nSulfa")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY
    # only on a title line, and never a word with a letter more or less ("Attending" is not "attended")
    assert repair_title_words("Discharge Stumary", heading=True) == "Discharge Summary"
    assert repair_title_words("Discharge Stumary") == "Discharge Stumary"
    for word in ("Attending", "Clinician", "Medicare", "Unattended"):
        assert repair_title_words(word, heading=True) == word


def test_an_accent_ocr_read_into_a_heading_does_not_hide_it() -> None:
    note = ocr_document("Oak Hollow Physicians\n\nRE: N\u00e9w Patient Visit\nRe patient Dmitri Montgomery. Seen in "
                        "clinic on 09-26-2025.\nDear supplier,\nReviewed recent testing; start therapy as ordered.")
    assert classify(note)[0] is DocumentKind.OFFICE_NOTE
