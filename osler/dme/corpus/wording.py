"""The many ways paperwork says the same thing: label synonyms, date and name formats, symptom and
comorbidity phrasings, and the pools of names, practices and payers the corpus draws from. Documents pick
from these at random (seeded) so the extractor has to generalize, not memorize one template."""

from __future__ import annotations

import random
from datetime import date

FEMALE_NAMES = ("Margaret", "Dorothy", "Evelyn", "Gloria", "Shirley", "Betty", "Joan", "Marilyn", "Lorraine",
                "Beverly", "Rosa", "Mei", "Aisha", "Ingrid", "Fatima", "Yolanda", "Carmen", "Pearl", "Hazel", "Nadia")
MALE_NAMES = ("Harold", "Walter", "Raymond", "Eugene", "Ernest", "Clarence", "Lloyd", "Vernon", "Gerald", "Howard",
              "Luis", "Tomasz", "Kwame", "Rajesh", "Dmitri", "Bernard", "Otis", "Rufus", "Leon", "Wendell")
FIRST_NAMES = FEMALE_NAMES + MALE_NAMES
LAST_NAMES = ("Whitaker", "Okafor", "Lindqvist", "Castellanos", "Brennan", "Nakamura", "Abernathy", "Delacroix",
              "Fitzgerald", "Gutierrez", "Hollister", "Iverson", "Jablonski", "Kowalczyk", "Lambert", "Montgomery",
              "Novak", "Oyelaran", "Pemberton", "Quintero", "Rasmussen", "Sandoval", "Thibodeaux", "Underwood",
              "Valenzuela", "Wojcik", "Yamamoto", "Zielinski", "McAllister", "O'Rourke", "Baptiste", "Chowdhury",
              "Dunleavy", "Espinoza", "Farquhar", "Gallagher", "Haddad", "Ibarra", "Jorgensen", "Kaminski")
CLINICIAN_SUFFIXES = ("MD", "DO", "M.D.", "NP", "PA-C")

PRACTICES = ("Riverbend Family Medicine", "Lakeside Pulmonary Associates", "Northgate Internal Medicine",
             "Sunrise Sleep & Lung Center", "Cedar Valley Primary Care", "Harbor View Medical Group",
             "Mountain Crest Clinic", "St. Anselm Hospital Sleep Lab", "Prairie Health Partners",
             "Bayou Cardiopulmonary", "Oak Hollow Physicians", "Summit Respiratory Care")
CITIES = ("Springfield, IL 62704", "Dayton, OH 45402", "Boise, ID 83702", "Macon, GA 31201", "Erie, PA 16501",
          "Tulsa, OK 74103", "Fresno, CA 93721", "Duluth, MN 55802", "Mobile, AL 36602", "Albany, NY 12207")
STREETS = ("Main St", "Oak Ave", "Harbor Blvd", "Elm Street", "Medical Plaza Dr", "Lincoln Way", "Route 9")
SUPPLIER = "Keystone Home Medical Supply"

MEDICARE_PAYERS = ("Medicare Part B", "Medicare", "CMS Medicare Part B")
ADVANTAGE_PAYERS = ("Humana Gold Plus HMO", "Aetna Medicare Advantage PPO", "UnitedHealthcare Medicare Advantage",
                    "WellCare Medicare", "Blue Cross Medicare Advantage")
SECONDARY_PAYERS = ("AARP Medicare Supplement", "Mutual of Omaha Medigap", "State Medicaid")

DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y", "%d-%b-%Y", "%m-%d-%Y", "%b %d, %Y", "%d %B %Y")

LABELS: dict[str, tuple[str, ...]] = {
    "patient": ("Patient", "Patient Name", "Name", "Beneficiary", "Beneficiary Name", "Pt Name", "Member Name",
                "Patient Name (Last, First)"),
    "birth_date": ("DOB", "Date of Birth", "Birthdate", "D.O.B.", "Birth Date", "DOB (mm/dd/yyyy)"),
    "sex": ("Sex", "Gender", "Sex at birth"),
    "mrn": ("MRN", "Medical Record #", "Med Rec No", "Chart #", "Patient ID", "Account/MRN"),
    "mbi": ("Medicare ID", "MBI", "Medicare #", "HICN/MBI", "Medicare Beneficiary ID", "Medicare No."),
    "payer": ("Primary Insurance", "Insurance", "Payer", "Primary Payer", "Plan", "Insurance Carrier"),
    "member_id": ("Member ID", "Subscriber ID", "Policy #", "ID Number", "Member #"),
    "order_date": ("Order Date", "Date of Order", "Date Ordered", "Rx Date", "Prescription Date", "Date"),
    "prescriber": ("Ordering Physician", "Prescriber", "Ordering Provider", "Physician", "Treating Practitioner",
                   "Referring/Ordering MD"),
    "npi": ("NPI", "NPI #", "Provider NPI", "NPI Number", "Individual NPI", "Ordering NPI"),
    "diagnoses": ("Diagnosis", "Diagnoses", "ICD-10", "Dx", "Diagnosis Code(s)", "ICD-10-CM"),
    "visit_date": ("Date of Service", "Visit Date", "DOS", "Encounter Date", "Date of Visit", "Seen on"),
    "study_date": ("Study Date", "Date of Study", "Recording Date", "Test Date", "Date Performed"),
}

# Canonical names (the values ``face_to_face`` carries) are those of ``osler.dme.understand.vocabulary``.
SYMPTOM_PHRASES: dict[str, tuple[str, ...]] = {
    "snoring": ("loud snoring", "habitual snoring", "snores loudly nightly", "snoring"),
    "witnessed apneas": ("witnessed apneas", "apneic episodes witnessed by spouse", "observed pauses in breathing",
                         "witnessed apnea"),
    "morning headache": ("morning headaches", "wakes with headaches", "headaches on awakening"),
    "excessive daytime sleepiness": ("excessive daytime sleepiness", "daytime somnolence",
                                     "falls asleep while reading", "daytime sleepiness"),
    "mood disorder": ("depression", "mood disorder", "depressed mood"),
    "insomnia": ("insomnia", "difficulty staying asleep", "chronic insomnia"),
    "impaired cognition": ("memory problems", "poor concentration", "cognitive decline"),
    "dyspnea": ("dyspnea on exertion", "shortness of breath with activity"),
}
COMORBIDITY_PHRASES: dict[str, tuple[str, ...]] = {
    "hypertension": ("hypertension", "HTN", "high blood pressure", "essential hypertension"),
    "stroke": ("history of stroke", "prior CVA", "stroke"),
    "ischemic heart disease": ("ischemic heart disease", "coronary artery disease", "CAD s/p stent"),
    "obesity": ("obesity", "morbid obesity"),
    "copd": ("COPD", "chronic obstructive pulmonary disease"),
    "heart failure": ("heart failure", "CHF"),
}
# What makes an AHI/RDI of 5-14 qualify for PAP (Medicare LCD L33718); snoring or apneas alone do not.
QUALIFYING_SYMPTOMS = ("excessive daytime sleepiness", "mood disorder", "insomnia", "impaired cognition")
QUALIFYING_COMORBIDITIES = ("hypertension", "ischemic heart disease", "stroke")
SLEEP_SYMPTOMS = ("snoring", "witnessed apneas", "morning headache", *QUALIFYING_SYMPTOMS)
# A diagnosis written in a note documents its condition too.
DIAGNOSIS_CONDITIONS = {"E66.01": "obesity", "I10": "hypertension", "J44.9": "copd", "I50.9": "heart failure"}
DIAGNOSES = {"G47.33": "Obstructive sleep apnea", "G47.30": "Sleep apnea, unspecified",
             "J44.9": "Chronic obstructive pulmonary disease, unspecified",
             "J96.11": "Chronic respiratory failure with hypoxia", "I50.9": "Heart failure, unspecified",
             "E66.01": "Morbid obesity due to excess calories", "I10": "Essential hypertension"}
MASK_WORDS = {"full-face": ("full face mask", "full-face mask", "FFM"), "nasal": ("nasal mask", "nasal interface"),
              "nasal-pillows": ("nasal pillows", "nasal pillow mask")}
HCPCS_WORDS = {"E0601": ("CPAP device", "Continuous positive airway pressure (CPAP) device", "CPAP machine"),
               "E0470": ("Bi-level PAP without backup rate", "BiPAP device", "Bilevel respiratory assist device"),
               "E0562": ("Heated humidifier", "Humidifier, heated, used with PAP"),
               "A7030": ("Full face mask",), "A7034": ("Nasal interface (mask or pillows)",),
               "A7035": ("Headgear",), "A7037": ("Tubing",), "A7038": ("Filter, disposable",),
               "E1390": ("Oxygen concentrator", "Stationary oxygen concentrator"),
               "E0431": ("Portable gaseous oxygen system", "Portable O2 system")}


def format_date(value: date, fmt: str) -> str:
    text = value.strftime(fmt)
    return text.replace(" 0", " ") if "%B" in fmt or "%b" in fmt else text


def all_date_forms(value: date) -> list[str]:
    return [format_date(value, fmt) for fmt in DATE_FORMATS] + [value.strftime(fmt) for fmt in DATE_FORMATS]


def format_name(given: str, family: str, rng: random.Random, *, middle: str = "") -> str:
    style = rng.randrange(5)
    if style == 0:
        return f"{family}, {given}"
    if style == 1:
        return f"{family.upper()}, {given.upper()}"
    if style == 2 and middle:
        return f"{given} {middle}. {family}"
    return f"{given} {family}"


def format_clinician(given: str, family: str, suffix: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"Dr. {given} {family}"
    if style == 1:
        return f"{family}, {given} {suffix}"
    return f"{given} {family}, {suffix}"


def format_mbi(mbi: str, rng: random.Random) -> str:
    return f"{mbi[:4]}-{mbi[4:7]}-{mbi[7:]}" if rng.random() < 0.3 else mbi


def format_sex(sex: str, rng: random.Random) -> str:
    return rng.choice((sex[0].upper(), sex.capitalize(), sex.upper()))


class Wording:
    """One document's voice: its date format and how it picks labels, so a document stays self-consistent."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.date_format = rng.choice(DATE_FORMATS)

    def label(self, key: str) -> str:
        return self.rng.choice(LABELS[key])

    def date(self, value: date) -> str:
        return format_date(value, self.date_format)

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return self.rng.choice(options)
