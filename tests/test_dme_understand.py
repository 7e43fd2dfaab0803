"""Classification and field extraction of DME paperwork (osler.dme.understand), on documents written here in
layouts and wordings of their own — not the corpus generator's — and the optional LLM extractor against a
real HTTP server speaking the OpenAI chat-completions protocol."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from osler.dme.model import Document, DocumentKind, Page
from osler.dme.understand import classify, extract, normalize_text
from osler.dme.understand.dates import find_dates
from osler.dme.understand.labels import repair_labels
from osler.dme.understand.llm import LlmSettings, extract_checked
from osler.dme.understand.validators import valid_mbi, valid_npi

SHA = "ab" * 32


def document(*pages: str, kind: DocumentKind | None = None) -> Document:
    return Document(SHA, "test", "test.pdf", "application/pdf",
                    [Page(number, text, "text-layer") for number, text in enumerate(pages, 1)], kind=kind)


def ocr_document(text: str, kind: DocumentKind | None = None) -> Document:
    """A one-page document read by OCR (confidence 88)."""
    return Document(SHA, "test", "test.pdf", "application/pdf", [Page(1, text, "ocr", 88.0)], kind=kind)


def assert_quotes_page(doc: Document, fields: dict[str, Any]) -> None:
    """Every field's provenance quotes its page exactly."""
    for name, found in fields.items():
        if found.provenance is None:
            continue
        page = doc.pages[found.provenance.page - 1]
        assert page.text[found.provenance.start:found.provenance.end] == found.provenance.text, name
        assert found.provenance.document == SHA


# ------------------------------------------------------------------------------------------------ validators

@pytest.mark.parametrize("mbi", ["1EG4-TE5-MK73", "1EG4TE5MK73", "9AA0AA0AA00", "5C78T41RJ05"])
def test_valid_mbis(mbi: str) -> None:
    assert valid_mbi(mbi)


@pytest.mark.parametrize("mbi", ["1EG4TE5MK7", "0EG4TE5MK73", "1SG4TE5MK73", "1EG4TE5MKL3", "1EG4-TE5-MO73", ""])
def test_invalid_mbis(mbi: str) -> None:
    assert not valid_mbi(mbi)


@pytest.mark.parametrize(("npi", "valid"), [("1234567893", True), ("1245319599", True), ("1234567890", False),
                                            ("123456789", False), ("12345678931", False), ("abcdefghij", False)])
def test_npi_check_digit(npi: str, valid: bool) -> None:
    assert valid_npi(npi) is valid


def test_normalize_text_is_canonical() -> None:
    written = "  Patient\u00a0Name:\tJOHN  \u201cJack\u201d   Smith\u2014MD\n"
    assert normalize_text(written) == 'patient name: john "jack" smith-md'


# ------------------------------------------------------------------------------------------------ classification

CLASSIFICATION_CASES = [
    (DocumentKind.DME_ORDER, "LAKESIDE FAMILY MEDICINE\nRX / ORDER FOR HOME EQUIPMENT\nBeneficiary: Olsen, Tove\n"
     "Equipment: E0601 auto-PAP w/ heated humidifier (E0562), full face interface\nLength of need: 99 months\n"
     "Prescriber: Ruth Adeyemi MD  NPI 1245319599"),
    (DocumentKind.DME_ORDER, "Certificate of Medical Necessity CMS-484 (Oxygen)\nSupplier: Acme Home Medical\n"
     "HCPCS E1390 concentrator, 2 lpm, continuous\nPhysician attestation and signature"),
    (DocumentKind.FACESHEET, "Admission Face Sheet\nGuarantor: self\nMarital status: widowed\nEmployer: retired\n"
     "Primary insurance: Medicare\nEmergency contact: daughter"),
    (DocumentKind.FACESHEET, "PATIENT REGISTRATION SUMMARY\nRace: declined  Ethnicity: declined\n"
     "Preferred language: English\nSecondary insurance: AARP Medigap\nHome phone 555-0101"),
    (DocumentKind.OFFICE_NOTE, "Pulmonary Consultation\nChief complaint: tired all day, loud snoring\n"
     "Review of systems: negative except as noted\nPhysical exam: Mallampati IV, neck 18 in\n"
     "Assessment & Plan: suspect OSA; home study"),
    (DocumentKind.OFFICE_NOTE, "SUBJECTIVE: returns for follow-up visit.\nOBJECTIVE: BP 150/90\n"
     "IMPRESSION: OSA likely\nPLAN: PSG"),
    # a fax machine's header lines do not push the title out of the title area
    (DocumentKind.OFFICE_NOTE, "TO: Keystone PAGE 1/1\n02/23/2025 09:09 FROM: Northgate (209-823-5957) TO: Keystone\n\n"
     "Prairie Health Partners\n6078 Harbor Blvd\nPhone (896) 278-1540\nFacility NPI: 1891095238\n\n"
     "RE: Progress Note\nThis concerns OYELARAN, MEI. Date of birth 04-19-1949. Seen in clinic on 01-21-2025.\n"
     "To whom it may concern:\nPatient presents for evaluation of suspected sleep apnea. Reports morning headaches."
     "\ncoronary artery disease, GERD, hypothyroidism.\nVitals: BP 140/83, HR 60, BMI 44.5.\n"
     "Diagnoses: G47.33 Obstructive sleep apnea; I10 Essential hypertension\n"
     "Schedule diagnostic sleep study, then PAP if indicated."),
    (DocumentKind.SLEEP_STUDY, "Diagnostic Polysomnogram — Interpretation\nSleep efficiency 81%. REM latency 95 min."
     "\nApnea-hypopnea index 31.2/h; arousal index 40."),
    (DocumentKind.SLEEP_STUDY, "WatchPAT Home Study Results\npAHI 17 ; pRDI 22 ; ODI 15\nValid sleep time 5 h 40 min"),
    (DocumentKind.OXYGEN_TEST, "Ambulatory Oximetry (Walk Test)\nRoom air at rest: SpO2 94 %\n"
     "Room air walking: SpO2 85 % after 2 minutes\nOn 3 LPM walking: 93 %"),
    (DocumentKind.OXYGEN_TEST, "ABG — arterial sample drawn on room air\npH 7.41  PaCO2 44  PaO2 53 mmHg  HCO3 27"),
    (DocumentKind.OXYGEN_TEST, "Riverbend Family Medicine\nResting Pulse Oximetry\nName: Mei Novak\n"
     "Study Date: 03-29-2025\nResults\nSpO2 at rest on room air: 83%"),
    (DocumentKind.ENCOUNTER_SUMMARY, "Hospital Discharge Summary\nAdmission date 1/2/2025  Discharge date 1/6/2025\n"
     "Hospital course: COPD exacerbation, hypoxemic on room air.\nDischarge medications: see list"),
    (DocumentKind.ENCOUNTER_SUMMARY, "Transition of Care Record\nEncounter type: inpatient\nLength of stay 4 days\n"
     "Discharge disposition: home with oxygen"),
    (DocumentKind.NON_DME, "Comprehensive Metabolic Panel\nSpecimen collected 07:40  Glucose 101 mg/dL "
     "(reference range 70-99)\nCreatinine 1.0"),
    (DocumentKind.NON_DME, "Immunization Record\nInfluenza vaccine, lot # 44K2, left deltoid\nTdap 2019"),
    (DocumentKind.NON_DME, "Patient Statement\nPrevious balance $40.00  Payments -$40.00\nAmount due: $0.00"),
    (DocumentKind.NON_DME, "Referral to Physical Therapy\nEvaluate and treat low back pain, 2x weekly for 6 weeks."),
]


@pytest.mark.parametrize(("kind", "text"), CLASSIFICATION_CASES)
def test_classifies_each_kind(kind: DocumentKind, text: str) -> None:
    found, confidence = classify(document(text))
    assert found is kind
    assert 0 < confidence <= 1


# ------------------------------------------------------------------------------------------------ extraction

ORDER_PAGE_1 = """Bayside Pulmonary & Sleep Group    Group NPI: 1003000126
1 Harbor Way, Suite 4 - Tel 555-201-3300
PRESCRIPTION - POSITIVE AIRWAY PRESSURE

Pt. Name: O'NEILL, MARGARET R.      Birthdate: 7/4/1948     Gender: Female
Chart #: A-7781202        Medicare #: 5C78-T41-RJ05
Primary Payer: Medicare Part B   Subscriber ID: 5C78T41RJ05
Date of Order: Jan 14, 2025

Dx: G47.33 (obstructive sleep apnea), I10
"""
ORDER_PAGE_2 = """Items
E0601  CPAP, fixed pressure  Qty: 1   CPAP @ 11 cm H2O
A7034  Nasal pillows interface   Qty 2
Humidifier: heated, yes
Prescribing physician: Kenji Watanabe, DO
Individual NPI 1245319599
/s/ Kenji Watanabe DO 01/14/2025
"""


def test_extracts_every_order_field_with_provenance() -> None:
    doc = document(ORDER_PAGE_1, ORDER_PAGE_2, kind=DocumentKind.DME_ORDER)
    fields = extract(doc)
    values = {name: found.value for name, found in fields.items()}
    assert values["patient_name"] == {"family": "O'Neill", "given": "Margaret"}
    assert values["birth_date"] == "1948-07-04"
    assert values["sex"] == "female"
    assert values["mrn"] == "A-7781202"
    assert values["mbi"] == "5C78T41RJ05"
    assert values["payer"] == "Medicare Part B"
    assert values["member_id"] == "5C78T41RJ05"
    assert values["order_date"] == "2025-01-14"
    assert values["diagnoses"] == ["G47.33", "I10"]
    assert values["items"] == [
        {"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": 11, "mask": "nasal-pillows", "humidifier": True}},
        {"hcpcs": "A7034", "quantity": 2, "settings": {}}]
    assert values["prescriber_name"] == {"family": "Watanabe", "given": "Kenji"}
    assert values["prescriber_npi"] == "1245319599"  # not the group's NPI printed first
    assert values["signature_present"] is True
    assert_quotes_page(doc, fields)
    assert fields["prescriber_npi"].provenance.page == 2
    assert fields["birth_date"].provenance.text == "7/4/1948"
    assert fields["order_date"].provenance.text == "Jan 14, 2025"
    assert all(0 < found.confidence <= 1 for found in fields.values())


def test_birth_date_and_order_date_are_told_apart_whatever_comes_first() -> None:
    doc = document("Written order — date 03-02-2025\nPatient DOB 11.30.1950\nCPAP E0601 auto 6-14 cmH2O\n"
                   "Ordering provider: Ana Ruiz MD\nSignature: ____________  Date: ______",
                   kind=DocumentKind.DME_ORDER)
    fields = extract(doc)
    assert fields["birth_date"].value == "1950-11-30"
    assert fields["order_date"].value == "2025-03-02"
    assert fields["items"].value[0]["settings"] == {"pressure_min": 6, "pressure_max": 14}
    assert fields["signature_present"].value is False  # an empty signature line is not a signature
    assert_quotes_page(doc, fields)


def test_practice_npi_alone_is_not_the_prescribers() -> None:
    doc = document("Sleep Centers of Ohio LLC\nOrganization NPI: 1245319599\nOffice Visit\nSeen by our team.",
                   kind=DocumentKind.OFFICE_NOTE)
    assert "prescriber_npi" not in extract(doc)


def test_invalid_labelled_npi_is_reported_with_low_confidence() -> None:
    doc = document("DME order\nOrdering physician: Li Wei MD\nNPI: 1234567890\nE0601", kind=DocumentKind.DME_ORDER)
    found = extract(doc)["prescriber_npi"]
    assert found.value == "1234567890" and found.confidence <= 0.5 and not valid_npi(found.value)


def test_ocr_confusions_in_identifiers_are_repaired_where_the_format_pins_digits() -> None:
    doc = document("Standard Written Order\nMBI: 1EG4-TE5-MK7S\nHCPCS: EO6Ol qty 1 BiPAP? no - CPAP 9 cwp\n"
                   "NPl: l234567893 (ordering physician)\nDOB: O3/14/1949", kind=DocumentKind.DME_ORDER)
    fields = extract(doc)
    assert fields["mbi"].value == "1EG4TE5MK75"
    assert fields["items"].value[0]["hcpcs"] == "E0601"
    assert fields["items"].value[0]["settings"]["pressure"] == 9
    assert fields["birth_date"].value == "1949-03-14"
    assert_quotes_page(doc, fields)


@pytest.mark.parametrize(("text", "codes"), [
    ("Assessment: OSA (G47.33); essential hypertension (110)", ["G47.33", "I10"]),  # OCR read I as 1
    ("Diagnoses: 647.33, J44.9", ["G47.33", "J44.9"]),
    ("Vitals: BP 110/70, HR 64. Plan: E0601", None),  # a blood pressure and a HCPCS code are not diagnoses
])
def test_diagnosis_codes_survive_ocr_but_not_lookalikes(text: str, codes: list[str] | None) -> None:
    found = extract(document(text, kind=DocumentKind.OFFICE_NOTE)).get("diagnoses")
    assert (found.value if found else None) == codes


def test_bilevel_and_oxygen_settings() -> None:
    bilevel = extract(document("DWO\nE0470 bilevel PAP\nIPAP 16 / EPAP 10 cmH2O, oronasal mask, no humidifier",
                               kind=DocumentKind.DME_ORDER))["items"].value[0]
    assert bilevel["settings"] == {"ipap": 16, "epap": 10, "mask": "full-face", "humidifier": False}
    oxygen = extract(document("Home oxygen order\nE1390 stationary concentrator\nFlow: 2.5 liters per minute\n"
                              "Use: [ ] continuous  [X] nocturnal  [ ] with exertion", kind=DocumentKind.DME_ORDER))
    assert oxygen["items"].value[0]["settings"] == {"oxygen_lpm": 2.5, "oxygen_use": "nocturnal"}


def test_sleep_study_indices_and_type() -> None:
    hst = document("Home Sleep Apnea Test (HSAT) report\nDate of study: 2024-12-02\n"
                   "Overall, the apnea hypopnea index was 23.4 events/hour. REM AHI 41.0.\n"
                   "Total recording time 6 h 30 min", kind=DocumentKind.SLEEP_STUDY)
    study = extract(hst)["sleep_study"]
    assert study.value == {"date": "2024-12-02", "type": "HST", "ahi": 23.4, "rdi": None, "total_events": None,
                           "recording_hours": 6.5}
    assert study.provenance.text == "23.4"
    psg = extract(document("Attended polysomnography, night of 02/10/2025\nTotal events: 96\n"
                           "Total sleep time: 384 minutes", kind=DocumentKind.SLEEP_STUDY))["sleep_study"]
    # no index stated: computed from the events and the hours the report gives separately
    assert psg.value["type"] == "PSG" and psg.value["ahi"] == 15.0 and psg.value["total_events"] == 96


@pytest.mark.parametrize("seen", ["Seen in clinic on", "Seen ia clinic on", "Seen at the office on",
                                  "Seen in\u2019 clinic on"])
def test_the_visit_date_of_a_letter_wrapped_after_its_words(seen: str) -> None:
    note = ocr_document(f"Consultation Note\nRe patient Lise Arno. DOB 1948-02-03. {seen}\n2025-06-14,\n"
                        "Reports loud snoring.\nSignature: /s/ Dr. Ott Date: 2025-06-16", kind=DocumentKind.OFFICE_NOTE)
    assert extract(note)["face_to_face"].value["date"] == "2025-06-14"


def test_face_to_face_symptoms_respect_negation() -> None:
    note = document("Office Visit 09/09/2024\nHPI: wife reports loud snoring and witnessed apneas; he dozes off "
                    "while driving. Denies morning headaches or insomnia.\nPMH: HTN, s/p CVA; no CAD.\n"
                    "Family history: mother with depression.", kind=DocumentKind.OFFICE_NOTE)
    visit = extract(note)["face_to_face"].value
    assert visit["date"] == "2024-09-09"
    assert set(visit["symptoms"]) == {"snoring", "witnessed apneas", "excessive daytime sleepiness"}
    assert set(visit["comorbidities"]) == {"hypertension", "stroke"}


def test_oxygen_test_takes_the_qualifying_room_air_reading() -> None:
    walk = document("Six-minute walk test  Performed 2025-03-03\nRest, room air: SpO2 95%\n"
                    "Exertion, room air: SpO2 86%\nExertion on 2 L/min: SpO2 93%", kind=DocumentKind.OXYGEN_TEST)
    test = extract(walk)["oxygen_test"]
    assert test.value == {"date": "2025-03-03", "spo2": 86, "pao2": None, "condition": "exercise"}
    assert test.provenance.text == "86"
    abg = extract(document("Arterial blood gas, collected 4/1/2025 on room air at rest\npH 7.38 PaCO2 47 PaO2 54",
                           kind=DocumentKind.OXYGEN_TEST))["oxygen_test"].value
    assert abg["pao2"] == 54 and abg["spo2"] is None and abg["condition"] == "rest"


def test_a_pao2_whose_o_ocr_read_as_a_q_is_still_read() -> None:
    abg = extract(ocr_document("ABG Report\nDrawn 2025-06-02 on room air.\npH; Result 7.40. PaCO2; Result 46; "
                               "PaQ2; Result 57; Units mmHg.", kind=DocumentKind.OXYGEN_TEST))["oxygen_test"].value
    assert abg["pao2"] == 57


def test_oxygen_readings_are_judged_in_their_own_sentence() -> None:
    prose = document("Ambulatory Oximetry Study\nTested on 25-Nov-2025.\nAt rest; Oxygen room air; SpO2 93%. "
                     "During exercise; Oxygen room air; SpO2\n86%. During exercise; Oxygen 2 L/min; SpO2 93%.",
                     kind=DocumentKind.OXYGEN_TEST)
    assert extract(prose)["oxygen_test"].value == {"date": "2025-11-25", "spo2": 86, "pao2": None,
                                                   "condition": "exercise"}
    # nothing qualifies: the walk test's walking reading, not its lower resting baseline
    walk = document("Exercise Oximetry  Test Date: 02/13/2025\nCondition Oxygen SpO2\nAt rest room air 92%\n"
                    "During exercise room air 94%\nDuring exercise 2 L/min 95%", kind=DocumentKind.OXYGEN_TEST)
    assert extract(walk)["oxygen_test"].value == {"date": "2025-02-13", "spo2": 94, "pao2": None,
                                                  "condition": "exercise"}


def test_sleep_study_index_on_a_wrapped_line_and_an_ocr_decimal() -> None:
    rdi = document("Home Sleep Test\nStudy performed 11-08-2025. Respiratory index: RDI\n5.7 events/hr. "
                   "Supine AHI: 8.", kind=DocumentKind.SLEEP_STUDY)
    assert (extract(rdi)["sleep_study"].value["ahi"], extract(rdi)["sleep_study"].value["rdi"]) == (None, 5.7)
    cell = document("HST report\nResult:\nrespiratory disturbance\nindex: 21.5/h\nSupine AHI: 30.1",
                    kind=DocumentKind.SLEEP_STUDY)
    assert (extract(cell)["sleep_study"].value["ahi"], extract(cell)["sleep_study"].value["rdi"]) == (None, 21.5)
    ocr = document("Sleep study. Respiratory index: apnea-hypopnea index: 41 .8/h.", kind=DocumentKind.SLEEP_STUDY)
    assert extract(ocr)["sleep_study"].value["ahi"] == 41.8
    lost = document("PSG REPORT\nTOTAL RECORDING TIME: 420 min\nTOTAL RESPIRATORY EVENTS: 91\n"
                    "SEVERITY INDEX: AHI of 131", kind=DocumentKind.SLEEP_STUDY)
    assert extract(lost)["sleep_study"].value["ahi"] == 13.1  # its point lost: 91 events in 7 h make 13 an hour
    severe = document("PSG REPORT\nTotal recording time: 420 min\nTotal respiratory events: 610\nAHI: 96",
                      kind=DocumentKind.SLEEP_STUDY)
    assert extract(severe)["sleep_study"].value["ahi"] == 96  # what its events make it
    speck = document("HSAT. Severity index: AHI. 12. 4 events/hr. Supine AHI: 20.2.", kind=DocumentKind.SLEEP_STUDY)
    assert extract(speck)["sleep_study"].value["ahi"] == 12.4  # a speck after "AHI" starts no new phrase


def test_names_and_payers_that_wrap_onto_the_next_line() -> None:
    letter = document("Sunrise Sleep & Lung Center\nHome Sleep Apnea Test Report\n"
                      "This concerns Yolanda Iverson. Date of birth 05/15/1954. Study performed 03/27/2025. Referred "
                      "by Dr.\nGloria Hollister. Interpreting physician: Hazel Rasmussen, M.D., NPI 2717512174.",
                      kind=DocumentKind.SLEEP_STUDY)
    fields = extract(letter)
    assert fields["prescriber_name"].value == {"family": "Hollister", "given": "Gloria"}
    assert "prescriber_npi" not in fields  # the interpreting physician's NPI is not the prescriber's
    grid = document("Physician Order for Home Medical Equipment\nBeneficiary Name:\nMargaret J.\nAbernathy\n"
                    "Treating\nPractitioner:\nDr. Dmitri\nValenzuela\nPrimary insurance is\nMedicare.\n"
                    "Dear colleague,", kind=DocumentKind.DME_ORDER)
    fields = extract(grid)
    assert fields["patient_name"].value == {"family": "Abernathy", "given": "Margaret"}
    assert fields["prescriber_name"].value == {"family": "Valenzuela", "given": "Dmitri"}
    assert fields["payer"].value == "Medicare"
    assert_quotes_page(grid, fields)


def test_ocr_misreadings_of_labels_names_and_identifiers() -> None:
    order = ocr_document((
        "Detailed Written Order\nField Value\nNanie: OYELARAN, MEl\nDate of. Blrth: 05 April 1946\n"
        "Medicare #: 2NW4FMO0JD36\nOrdered by Dr. Rufus Kaminski. NPI_2638102246."), kind=DocumentKind.DME_ORDER)
    fields = extract(order)
    assert fields["patient_name"].value == {"family": "Oyelaran", "given": "Mei"}
    assert fields["birth_date"].value == "1946-04-05"
    assert fields["mbi"].value == "2NW4FM0JD36"  # one of a doubled "O0" dropped
    assert fields["prescriber_npi"].value == "2638102246"
    assert_quotes_page(order, fields)


def test_ocr_punctuation_in_names_dates_codes_and_rows() -> None:
    order = ocr_document((
        "DME PRESCRIPTION\n1. NAME: FITZGERALD. LLOYD Birth Date: December 28. 1952\n"
        "HCPCS Description Qty Settings / Instructions\n"
        "E0801 Continuous positive airway pressure (CPAP) device, auto-titrating range 8 to 14 cm H20\n"
        "A7038 Filter, disposable 2:\nDx: G47:33 Obstructive sleep apnea; chronic respiratory failure (J96.1 1)\n"
        "9. PRESCRIBER: Farquhar. Kwame M.D.\n10. INDIVIDUAL NPIL: 2877126880"), kind=DocumentKind.DME_ORDER)
    fields = extract(order)
    assert fields["patient_name"].value == {"family": "Fitzgerald", "given": "Lloyd"}
    assert fields["birth_date"].value == "1952-12-28"
    # a device code with one digit misread is the device its row names; the filter's quantity ends its row
    assert [(item["hcpcs"], item["quantity"]) for item in fields["items"].value] == [("E0601", 1), ("A7038", 2)]
    assert fields["items"].value[0]["settings"] == {"pressure_min": 8, "pressure_max": 14}
    assert fields["diagnoses"].value == ["G47.33", "J96.11"]
    assert fields["prescriber_name"].value == {"family": "Farquhar", "given": "Kwame"}
    assert fields["prescriber_npi"].value == "2877126880"


@pytest.mark.parametrize(("text", "name", "birth"), [
    ("This concerns Wojcik,\nIngrid. Born Sep 7, 1950.", {"family": "Wojcik", "given": "Ingrid"}, "1950-09-07"),
    ("Patient! SANDOVAL, EVELYN. DOB April 5, 1951.", {"family": "Sandoval", "given": "Evelyn"}, "1951-04-05"),
    ("Pt Naine: Joan T. Rasmussen DOB: \u00a9 17-Apr-1955", {"family": "Rasmussen", "given": "Joan"}, "1955-04-17"),
    ("Beneficiary: CASTELLANOS, WENDELL DOB (mm/dd/yyyy): 07 March\u2019 1952",
     {"family": "Castellanos", "given": "Wendell"}, "1952-03-07"),
    ("This concerns Vernon E, Kowalczyk. Born February 22; 1939.", {"family": "Kowalczyk", "given": "Vernon"},
     "1939-02-22"),
    ("Regarding. OKONKWO, PETRA. Date of Birth: March.3, 1961", {"family": "Okonkwo", "given": "Petra"},
     "1961-03-03"),
    ("Patient Name: Lena Marsh \u2018Birth Date: 1962-]1-04 Chart #: 4471", {"family": "Marsh", "given": "Lena"},
     "1962-11-04"),
    ("Patient: Hollis, Gareth\nD.O.B.: -02/14/1958", {"family": "Hollis", "given": "Gareth"}, "1958-02-14"),
    ("Re patiént VOSS, HILDA. DOB Feb 3, 1944.", {"family": "Voss", "given": "Hilda"}, "1944-02-03"),
    ("1. PATIENT NAME: Dora Pike\n2: DOB (MM/DD/Y\u00a5YYY}: 07-12-1948", {"family": "Pike", "given": "Dora"},
     "1948-07-12"),
    ("Member Name: Ida Roth / DOB (mm/dd/yyyy}): Jan 22, 1946 / Date", {"family": "Roth", "given": "Ida"},
     "1946-01-22"),
    ("Patient: Ivo Brandt 0.0.B.: Mar 9, 1950", {"family": "Brandt", "given": "Ivo"}, "1950-03-09"),
])
def test_identity_survives_ocr_punctuation(text: str, name: dict[str, str], birth: str) -> None:
    fields = extract(Document(SHA, "test", "test.pdf", "application/pdf", [Page(1, text, "ocr", 85.0)],
                              kind=DocumentKind.OFFICE_NOTE))
    assert (fields["patient_name"].value, fields["birth_date"].value) == (name, birth)


@pytest.mark.parametrize(("text", "name"), [
    # the label wrapped with its hint, the name on the line after it (blank lines between)
    ("Demographics\nPatient Name (Last,\n\n7 Ferreira, Tomas DOB: June 2, 1949\nFirst): ' .\n",
     {"family": "Ferreira", "given": "Tomas"}),
    # the name wrapped at its comma around a label that stands alone on its line
    ("Intake Form\nWhitcombe, .\n\nName: DOB: 06/02/1949\n\nSelma\nPlan: Aetna\n", {"family": "Whitcombe",
                                                                                  "given": "Selma"}),
])
def test_a_name_in_a_grid_cell_ocr_read_around_its_label(text: str, name: dict[str, str]) -> None:
    order = ocr_document(text, kind=DocumentKind.OFFICE_NOTE)
    fields = extract(order)
    assert (fields["patient_name"].value, fields["birth_date"].value) == (name, "1949-06-02")
    assert_quotes_page(order, fields)


@pytest.mark.parametrize("text", ["Intake Form\nClinic Hours\nName: DOB: 06/02/1949\n\nSee attached\n",
                                  "Sleep Test\n06/02/1949\nPatient:\nSex at birth:\n"])
def test_labels_with_no_name_around_them_read_no_name(text: str) -> None:
    assert "patient_name" not in extract(ocr_document(text, kind=DocumentKind.OFFICE_NOTE))


def test_an_mbi_label_with_a_speck_and_the_number_split() -> None:
    fields = extract(ocr_document("DME order\nMedicare [ID (MBD) 1EG4TE5MK 73. Primary insurance is Medicare.",
                                  kind=DocumentKind.DME_ORDER))
    assert fields["mbi"].value == "1EG4TE5MK73"


def test_a_birth_date_after_born_with_its_rn_read_as_an_m() -> None:
    note = ocr_document("Clinic Note\nRe patient Ada Quill. Bom 03/14/1949, Sex: F. Seen in clinic on 07/01/2025.",
                        kind=DocumentKind.OFFICE_NOTE)
    assert extract(note)["birth_date"].value == "1949-03-14"


@pytest.mark.parametrize(("text", "mbi"), [
    ("Medicare 1D: 4KT8PC3WR62 Insurance: Medicare", "4KT8PC3WR62"),  # "ID" read with a 1 for the I
    ("Medicare [D: 4KT8-PC3-WR62", "4KT8PC3WR62"),
    ("Medicare ID (MBI) |KT8-PC3-WR62. Primary insurance is Medicare.", "1KT8PC3WR62"),
    ("MBI: 4KTTPC3WR62", "4KT7PC3WR62"),  # a T where a digit must stand is a 7
    ("MBI: 4KT8PC37R62", "4KT8PC3TR62"),  # a 7 where a letter must stand is a T
    ("Medicare No: 4KT8PC3W&R62", "4KT8PC3WR62"),  # a speck among the characters, read as "&"
    ("Medicare ID: 4KT8PCC3WR62 Payer: Medicare", "4KT8PC3WR62"),  # a doubled letter
])
def test_mbi_misreadings_the_format_puts_right(text: str, mbi: str) -> None:
    fields = extract(ocr_document(f"Facesheet\nPatient: Doe, Jane\n{text}\n", kind=DocumentKind.FACESHEET))
    assert fields["mbi"].value == mbi


def test_an_mbi_reading_with_several_equally_likely_repairs_is_not_guessed() -> None:
    # dropping the A, the W or the E each leaves a well-formed MBI: nothing says which OCR added
    fields = extract(ocr_document("Facesheet\nMedicare ID (MBI)\n6CX4AWE6PNO8.\n", kind=DocumentKind.FACESHEET))
    assert "mbi" not in fields or not valid_mbi(fields["mbi"].value)


@pytest.mark.parametrize(("text", "iso"), [
    ("Test date: Oct 9,:> 2024", "2024-10-09"),  # specks for the comma
    ("Visit Date: 05-(07-2024", "2024-05-07"),  # a speck beside the separator
    ("Date of visit: April: 27, 2025", "2025-04-27"),  # a colon for the space
    ("Study performed September'14, 2025.", "2025-09-14"),  # a speck for the space
    ("Date of Order: Sep .18, 2025", "2025-09-18"),  # a speck after the space
    ("Study\nperformed .Aug 12, 2025.", "2025-08-12"),  # a speck before the date
    ("Recording date: 09°24 2025", "2025-09-24"),  # a slash read as a degree sign, the other lost
    ("DOB 06 09 1946. Sex: M.", "1946-06-09"),  # both slashes lost
    ("Seen 2024-0]-15 in clinic", "2024-01-15"),  # a bracket for a 1
    ("2. BIRTH DATE: 07:22:1949", "1949-07-22"),  # slashes read as colons
    ("DOB 11:-June 1938. Sex: F.", "1938-06-11"),  # a colon and a dash after the day
    ("Order date: Mar -04, 2025", "2025-03-04"),  # a dash before the day
    ("Order Date:°1 1-06-2025", "2025-11-06"),  # the month's digits split by a space
    ("RECORDING DATE: 09'24°2025", "2025-09-24"),  # slashes read as an apostrophe and a degree sign
    ("The order is dated ! 1/21/2025.", "2025-11-21"),  # the month's first 1 read as "!" and set apart
    ("The order is dated { 1/21/2025.", "2025-11-21"),  # …or as a brace
    ("The order is dated 21 June.2025.", "2025-06-21"),  # a full stop for the space before the year
    ("Birthdate: 18. March 1952", "1952-03-18"),  # a full stop after the day
    ("This concerns WOJCIK, MEI. DOB O05 August 1936. Sex: F.", "1936-08-05"),  # a zero's ghost before the day
    ("Member Name: Abernathy, Joan. Birthdate: December 8, 193-4", "1934-12-08"),  # a speck inside the year
    ("Seen in clinic on 01 June: 2025.", "2025-06-01"),  # a colon after the month
])
def test_dates_survive_ocr_specks(text: str, iso: str) -> None:
    assert [found.iso for found in find_dates(text)] == [iso]


def test_a_fraction_before_a_year_is_no_date() -> None:
    assert list(find_dates("PAGE 1/2 2025 report")) == []


def test_a_time_of_day_is_no_date() -> None:
    assert list(find_dates("Lights out 10:18:45, lights on 06:02:10")) == []


def test_a_year_ocr_misread_out_of_any_paperwork_s_range_is_no_date() -> None:
    assert list(find_dates("RECORDING DATE: 09/24/3025")) == []
    assert list(find_dates("DOB 04/02/1024")) == []


def test_a_number_before_a_date_is_not_taken_for_its_month() -> None:
    assert [found.iso for found in find_dates("Item 2 1-3-2025")] == ["2025-01-03"]


@pytest.mark.parametrize("npi_label", ["NP!:", "NP]"])
def test_ocr_variants_of_the_npi_label_and_the_signature_colon(npi_label: str) -> None:
    order = ocr_document(f"DME ORDER\nOrdering physician: Dr. Ines Haldane. Ordering {npi_label} 2877126880\n"
                         "Signed; Ines Haldane, MD 04/02/2025", kind=DocumentKind.DME_ORDER)
    fields = extract(order)
    assert fields["prescriber_npi"].value == "2877126880"
    assert fields["signature_present"].value is True


def test_a_readings_table_with_specks_between_room_and_air() -> None:
    test = ocr_document("Exercise Oximetry Report\nTest date: 02/11/2025\nCondition Oxygen SpOo2\n"
                        "At rest room.air 95%\nWalking room 'air 86%\nWalking 2 L/min 93%\n",
                        kind=DocumentKind.OXYGEN_TEST)
    assert extract(test)["oxygen_test"].value == {"date": "2025-02-11", "spo2": 86, "pao2": None,
                                                  "condition": "exercise"}
    spaced = ocr_document("Walk Test\nTest date: 02/11/2025\nAt rest room air 95%\nWalking room. air 86%\n"
                          "Walking 2 L/min 93%\n", kind=DocumentKind.OXYGEN_TEST)
    assert extract(spaced)["oxygen_test"].value["spo2"] == 86  # "room. air": a speck, not a sentence's end


def test_a_device_code_whose_0_and_1_ocr_read_as_a_q_and_a_bang() -> None:
    order = ocr_document("DME ORDER\nThe order is dated 11/21/2025. EQ60! Continuous positive airway pressure (CPAP) "
                         "device, quantity 1.", kind=DocumentKind.DME_ORDER)
    assert [item["hcpcs"] for item in extract(order)["items"].value] == ["E0601"]


def test_an_npi_whose_last_1_ocr_read_as_a_bracket() -> None:
    order = ocr_document("DME ORDER\nOrdering Physician: Rosa Lindqvist, DO Ordering NPI: 162345678]\n",
                         kind=DocumentKind.DME_ORDER)
    assert extract(order)["prescriber_npi"].value == "1623456781"


def test_specks_between_title_words_still_classify() -> None:
    summary = ocr_document("Riverside Internal Medicine\nCLINICAL \u201cSUMMARY\nPatient: Ada Quill\n"
                           "Medications: none\nAllergies: NKDA\nProblem list: hypertension")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY


def test_item_quantities_come_from_their_own_row() -> None:
    table = document("DWO\nHCPCS Description Qty\nA7035 Headgear 1\nA7037 Tubing 1\n5. ICD-10-CM: G47.33\n"
                     "6. CHART #: 23", kind=DocumentKind.DME_ORDER)
    assert [item["quantity"] for item in extract(table)["items"].value] == [1, 1]  # not the chart number below
    prose = document("DWO\nA7030 Full face mask, quantity 1. A7038 Filter, disposable, quantity\n2. Length of need: "
                     "99 months", kind=DocumentKind.DME_ORDER)
    assert [item["quantity"] for item in extract(prose)["items"].value] == [1, 2]
    # OCR made the tubing's quantity unreadable: it is not the filter's, written after it on the line
    unreadable = ocr_document("DWO\nA7035 Headgear, quantity 1. A7037 Tubing, quantity }. A7038 Filter, quantity 2.",
                              kind=DocumentKind.DME_ORDER)
    assert [item["quantity"] for item in extract(unreadable)["items"].value] == [1, 1, 2]


def test_a_misread_title_still_classifies() -> None:
    summary = ocr_document(
        "Bayou Cardiopulmonary\nVisit Simmary\nPatient: Harold Jablonski\nBirth Date: 21-Aug-1958\n"
        "Attending: Baptiste, Rufus MD\nActive Problems\nDx: I50.9 Heart failure")
    assert classify(summary)[0] is DocumentKind.ENCOUNTER_SUMMARY


def test_labels_are_repaired_in_place() -> None:
    text = "Nanie: Jo Doe\nDate of Blrth: 1/2/1950\nThe patient said: fine"
    assert repair_labels(text) == "Name : Jo Doe\nDate of Birth: 1/2/1950\nThe patient said: fine"


def test_non_dme_documents_carry_no_order_fields() -> None:
    fields = extract(document("Lipid panel. Patient: Jane Roe  DOB 1/2/1950\nLDL 130 mg/dL  E0601"))
    assert "items" not in fields and fields["patient_name"].value == {"family": "Roe", "given": "Jane"}


# ------------------------------------------------------------------------------------------------ LLM extractor

class FakeChatServer:
    """A real HTTP server speaking chat-completions: each request gets the next canned (status, body, delay)."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str, float]] = []
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                        "body": json.loads(body)})
                status, payload, delay = server.replies.pop(0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload.encode())
                except BrokenPipeError:  # the client gave up waiting: that is the point of a slow reply
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, content: str, status: int = 200, delay: float = 0.0) -> None:
        body = {"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
        self.replies.append((status, json.dumps(body), delay))


@pytest.fixture
def chat_server() -> Iterator[FakeChatServer]:
    server = FakeChatServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


LLM_DOC_TEXT = "Standard Written Order\nPatient: Tom Baker  DOB: 02/03/1944\nPayer: Humana Gold\nE0601 CPAP 10 cmH2O"


def test_llm_agreement_raises_confidence_and_fills_gaps(chat_server: FakeChatServer) -> None:
    doc = document(LLM_DOC_TEXT, kind=DocumentKind.DME_ORDER)
    baseline = extract(doc)
    chat_server.answer(json.dumps({"patient_name": {"family": "BAKER", "given": "Tom"}, "birth_date": "1944-02-03",
                                   "mrn": "Z-99", "sex": None}))
    checked = extract_checked(doc, LlmSettings(chat_server.url, "tiny", "secret", timeout_s=5))
    request = chat_server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer secret"
    assert request["body"]["response_format"]["json_schema"]["schema"]["title"] == "LlmFields"
    assert checked.fields["patient_name"].confidence > baseline["patient_name"].confidence
    assert checked.fields["patient_name"].extractor == "deterministic"
    assert checked.fields["mrn"].value == "Z-99" and checked.fields["mrn"].extractor == "llm"
    assert checked.fields["mrn"].provenance is None  # the page never says Z-99
    assert checked.notes == []


def test_llm_disagreement_keeps_the_deterministic_value(chat_server: FakeChatServer) -> None:
    doc = document(LLM_DOC_TEXT, kind=DocumentKind.DME_ORDER)
    baseline = extract(doc)
    chat_server.answer("```json\n" + json.dumps({"birth_date": "1944-03-02", "payer": "Humana Gold"}) + "\n```")
    checked = extract_checked(doc, LlmSettings(chat_server.url, "tiny", timeout_s=5))
    assert checked.fields["birth_date"].value == "1944-02-03"
    assert checked.fields["birth_date"].confidence < baseline["birth_date"].confidence
    assert checked.notes == ["birth_date: the LLM extractor read a different value; the deterministic one is kept"]


@pytest.mark.parametrize(("content", "status", "delay"), [
    ("not json at all", 200, 0.0),
    (json.dumps({"sex": "unknown"}), 200, 0.0),  # outside the schema
    ("{}", 500, 0.0),
    ("{}", 200, 1.5),  # slower than the client's timeout
])
def test_llm_failures_fall_back_to_deterministic(chat_server: FakeChatServer, content: str, status: int,
                                                 delay: float) -> None:
    doc = document(LLM_DOC_TEXT, kind=DocumentKind.DME_ORDER)
    chat_server.answer(content, status, delay)
    checked = extract_checked(doc, LlmSettings(chat_server.url, "tiny", timeout_s=0.5))
    assert {name: f.value for name, f in checked.fields.items()} == {name: f.value for name, f in extract(doc).items()}
    assert len(checked.notes) == 1 and "unavailable" in checked.notes[0]


def test_llm_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSLER_DME_LLM_URL", raising=False)
    doc = document(LLM_DOC_TEXT, kind=DocumentKind.DME_ORDER)
    assert LlmSettings.from_env() is None
    assert extract_checked(doc).notes == []


def test_a_speck_standing_apart_in_a_table_row_does_not_end_the_reading_s_clause() -> None:
    walk = ocr_document("Exercise Oximetry\nDate Performed: 03 June 2025\nCondition , Oxygen Spo2\n"
                        "At rest room air 92%\nDuring exercise room air . 90%\nDuring exercise 2 L/min 94%",
                        kind=DocumentKind.OXYGEN_TEST)
    assert extract(walk)["oxygen_test"].value == {"date": "2025-06-03", "spo2": 90, "pao2": None,
                                                  "condition": "exercise"}


def test_a_reading_under_its_label_with_blank_lines_between_is_still_read() -> None:
    cell = ocr_document("Resting Pulse Oximetry\nStudy Date: 07-22-2025\nFindings _\nSpO2 at rest on\n\n86%\n"
                        "room air:\n", kind=DocumentKind.OXYGEN_TEST)
    assert extract(cell)["oxygen_test"].value == {"date": "2025-07-22", "spo2": 86, "pao2": None,
                                                  "condition": "rest"}


def test_an_index_whose_decimal_point_ocr_read_as_a_colon() -> None:
    study = ocr_document("Sleep Study\nStudy performed 24 March 2025.\nRecording duration: 5.8 hours. Total "
                         "respiratory events: 53. Severity index: apnea-hypopnea index: 9:1/h. Supine AHI: 12.7.",
                         kind=DocumentKind.SLEEP_STUDY)
    assert extract(study)["sleep_study"].value["ahi"] == 9.1
    # a time of day or a list is no index with a colon for its point
    timed = ocr_document("Sleep Study\nLights out 10:30 pm. AHI 12, RDI 14.", kind=DocumentKind.SLEEP_STUDY)
    assert extract(timed)["sleep_study"].value["ahi"] == 12


def test_a_recording_time_label_with_a_speck_between_its_words() -> None:
    study = ocr_document("Polysomnography Report\nRecording: duration: 5.4 hours. Total respiratory events: 128. "
                         "apnea-hypopnea index: 23.7/h. Total sleep time: 4.8 hours.", kind=DocumentKind.SLEEP_STUDY)
    assert extract(study)["sleep_study"].value["recording_hours"] == 5.4


@pytest.mark.parametrize("line", ["Re patient Kwame EF. Thibodeaux. Date of birth 03 June 1935.",
                                  "Patient: Fatima Jd: Espinoza. Born 12/23/1934.",
                                  "Re patient FITZGERALD, 'OTIS. DOB 07/25/1941."])
def test_a_middle_initial_or_a_speck_ocr_misread_does_not_cut_the_name(line: str) -> None:
    name = extract(ocr_document(f"Polysomnography Report\n{line}\nAHI 23.7", kind=DocumentKind.SLEEP_STUDY))
    assert name["patient_name"].value["family"] in ("Thibodeaux", "Espinoza", "Fitzgerald")
    assert name["patient_name"].value["given"] in ("Kwame", "Fatima", "Otis")


@pytest.mark.parametrize("rest", ["Id: 12345", "Dx: Obstructive sleep apnea"])
def test_a_short_label_after_a_name_still_ends_it(rest: str) -> None:
    found = extract(ocr_document(f"Facesheet\nPatient Name: Joan Ngata {rest}\nDOB: 01/02/1950",
                                 kind=DocumentKind.FACESHEET))
    assert found["patient_name"].value == {"family": "Ngata", "given": "Joan"}


def test_o2_read_as_zero_two_is_no_quantity() -> None:
    order = ocr_document("Detailed Written Order\nPatient: Leon Kaminski  DOB: 09/23/1951\nHCPCS Description Qty\n"
                         "E1390 Oxygen concentrator 1 2 LPM continuous\nE0431 Portable 02 system 1\n"
                         "A7038 Filter, disposable 2\nOrdering physician: Wendell McAllister, MD",
                         kind=DocumentKind.DME_ORDER)
    quantities = {item["hcpcs"]: item["quantity"] for item in extract(order)["items"].value}
    assert quantities == {"E1390": 1, "E0431": 1, "A7038": 2}


def test_a_labelled_quantity_read_as_a_look_alike_letter_and_an_icd_code_with_a_bang_for_its_i() -> None:
    order = ocr_document("RE: Rx: Durable Medical Equipment\nThe order is dated September 11, 2025. "
                         "E0470 Bi-level PAP, quantity 1. A7037 Tubing, quantity 1. A7038\n"
                         "Filter, disposable, quantity Z. Diagnoses: "
                         "G47.33 Obstructive sleep apnea; Essential\nhypertension (!10). Length of need: 12 months.",
                         kind=DocumentKind.DME_ORDER)
    found = extract(order)
    assert {item["hcpcs"]: item["quantity"] for item in found["items"].value} == {"E0470": 1, "A7037": 1, "A7038": 2}
    assert found["diagnoses"].value == ["G47.33", "I10"]
    # a word after the label is no quantity
    words = extract(ocr_document("DME order\nE0601 CPAP device, quantity Standard, pressure 10 cm H2O",
                                 kind=DocumentKind.DME_ORDER))
    assert words["items"].value[0]["quantity"] == 1


def test_a_member_id_whose_y_ocr_read_as_a_yen_sign() -> None:
    sheet = ocr_document("PATIENT INFORMATION\n1. PT NAME: Lindqvist, Beverly\n5. PAYER: WellCare Medicare\n"
                         "6. MEMBER ID: \u00a5998203430\n", kind=DocumentKind.FACESHEET)
    assert extract(sheet)["member_id"].value == "Y998203430"


def test_a_number_before_a_written_date_is_no_ghost_of_its_day() -> None:
    assert [found.iso for found in find_dates("Room 105 August 1936")] == []
    assert [found.iso for found in find_dates("Seen 12 May 2025-2026")] == ["2025-05-12"]


def test_a_short_label_word_with_a_thin_stroke_read_into_it() -> None:
    assert repair_labels("Member Namie: RASMUSSEN. FATIMA") == "Member Name : RASMUSSEN. FATIMA"
    for text in ("Mail: x", "Field: y", "Dates: 1/2/2025"):  # other words, or an ending added, stay as written
        assert repair_labels(text) == text
    order = ocr_document("DME Prescription\nMember Namie: RASMUSSEN. FATIMA \u00a9 DOB: 1954-06-15 Gender: Female\n"
                         "E1390 Oxygen concentrator, quantity 1", kind=DocumentKind.DME_ORDER)
    assert extract(order)["patient_name"].value == {"family": "Rasmussen", "given": "Fatima"}


def test_an_equipment_code_whose_e_ocr_read_as_a_b() -> None:
    order = ocr_document("Standard Written Order\nHCPCS Description Qty\nE0601 CPAP device 1\n"
                         "Humidifier, heated, used\nBO562 with PAP 1\nA7038 Filter, disposable 2\n"
                         "B4034 enteral feeding supply kit 1",
                         kind=DocumentKind.DME_ORDER)
    assert [item["hcpcs"] for item in extract(order)["items"].value] == ["E0601", "E0562", "A7038"]


@pytest.mark.parametrize(("line", "sleepy"), [
    ("Reports falls asleep-while reading.", True),  # OCR's hyphen joining a phrase's words
    ("Reports falls asleep.while reading.", True),  # …or a speck
    ("Epworth Sleepiness Scale 18/24.", True),  # above 10: excessive daytime sleepiness by the scale's cut-off
    ("ESS: 14", True),
    ("Denies daytime sleepiness; Epworth score 5/24.", False),
    ("Epworth score of 10/24.", False),
])
def test_excessive_daytime_sleepiness_by_phrase_or_epworth_score(line: str, sleepy: bool) -> None:
    note = ocr_document(f"Sleep Medicine Consultation\nVisit Date: 09-03-2025\nPatient presents for evaluation of "
                        f"suspected sleep apnea. {line}\nVitals: BP 143/91, BMI 43.9.", kind=DocumentKind.OFFICE_NOTE)
    symptoms = extract(note)["face_to_face"].value["symptoms"]
    assert ("excessive daytime sleepiness" in symptoms) is sleepy


def test_a_line_starting_with_ocr_s_hyphen_is_no_negation_but_a_listed_minus_is() -> None:
    wrapped = ocr_document("Sleep Medicine Consultation\nDOS: 04/21/2025\nHPI: Patient presents for evaluation of "
                           "suspected sleep apnea. Reports daytime\n-sleepiness, wakes with headaches.",
                           kind=DocumentKind.OFFICE_NOTE)
    assert extract(wrapped)["face_to_face"].value["symptoms"] == ["excessive daytime sleepiness", "morning headache"]
    listed = ocr_document("Progress Note\nDOS: 04/21/2025\nROS: +snoring; -fever, wakes with headaches.",
                          kind=DocumentKind.OFFICE_NOTE)
    assert extract(listed)["face_to_face"].value["symptoms"] == ["snoring"]


def test_a_birth_date_after_born_read_as_bom_is_no_test_date() -> None:
    abg = ocr_document("ABG Report\nRe patient WOJCIK. JOAN. Bom 1942-03-20. Sex: F. Tested on 2025-Q8- \u00a33.\n"
                       "PaO2: Result 54; Units mmHg. Drawn at rest on room air.", kind=DocumentKind.OXYGEN_TEST)
    assert extract(abg)["oxygen_test"].value["date"] != "1942-03-20"


def test_a_reading_under_a_label_that_wrapped_over_two_lines() -> None:
    cell = ocr_document("Overnight Oximetry\nTest Date: 13-Oct-2025\nMeasurements\nLowest SpO2 during sleep (room\n"
                        "air):\n86%\nTime with SpO2 at or below 88%: 46 minutes\nMean SpO2: 91%",
                        kind=DocumentKind.OXYGEN_TEST)
    assert extract(cell)["oxygen_test"].value == {"date": "2025-10-13", "spo2": 86, "pao2": None,
                                                  "condition": "sleep"}


def test_a_per_hour_value_under_a_scrambled_rdi_label_is_the_rdi() -> None:
    grid = ocr_document("HSAT Interpretation\nStudy Date: 13-Jul-2025\nSummary of Findings\n. Total respiratory\n"
                        "TRT: 5.1 hours , 213\nevents:\nrespiratory\nResult: disturbance index: Oxygen nadir: 81%\n"
                        "41.7/h\nInterpretation", kind=DocumentKind.SLEEP_STUDY)
    study = extract(grid)["sleep_study"].value
    assert (study["ahi"], study["rdi"]) == (None, 41.7)


def test_a_pressure_range_s_end_is_no_quantity_whatever_its_unit_reads() -> None:
    order = ocr_document("Standard Written Order\nHCPCS Description Qty Settings\nE0601 CPAP machine } auto-titrating "
                         "range 4 to 12 \u00a2m H20, FFM\nA7038 Filter, disposable 2", kind=DocumentKind.DME_ORDER)
    items = extract(order)["items"].value
    assert [(item["hcpcs"], item["quantity"]) for item in items] == [("E0601", 1), ("A7038", 2)]
    assert (items[0]["settings"]["pressure_min"], items[0]["settings"]["pressure_max"]) == (4, 12)


def test_a_colon_after_a_month_leads_only_to_a_four_digit_year() -> None:
    assert [found.iso for found in find_dates("On 12 May: 10 units given")] == []


def test_a_middle_initial_glued_to_the_given_name_by_a_speck() -> None:
    study = ocr_document("Polysomnography Report\nBeneficiary Name: Nadia\u2019A. Underwood\nDOB: 08-15-1934\nAHI 31.2",
                         kind=DocumentKind.SLEEP_STUDY)
    assert extract(study)["patient_name"].value == {"family": "Underwood", "given": "Nadia"}
