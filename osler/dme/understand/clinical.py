"""What the clinical notes establish: diagnoses (ICD-10-CM) and the face-to-face visit — its date, symptoms and
comorbidities (negations respected). The sleep study and the oxygen test have their own modules."""

from __future__ import annotations

import re

from osler.dme.model import ExtractedField
from osler.dme.understand.events import first_event_date
from osler.dme.understand.identity import labelled_date
from osler.dme.understand.normalize import fold_digits
from osler.dme.understand.scan import Hit, Scan, ScanPage, checkbox, phrases, words
from osler.dme.understand.vocabulary import COMORBIDITIES, CONDITION_CODES, KNOWN_ICD10, SYMPTOMS

# (OCR's "!" for an I, "(!10)" for "(I10)", like its bar and its 1)
_ICD10 = re.compile(r"(?<![A-Za-z0-9.])([A-Z0-9l|!£€])([0-9OoIlSB]{2})(?:\.([0-9A-Z]{1,4})|([0-9A-Z]{0,4}))"
                    r"(?![A-Za-z0-9])")
_ICD_FORMAT = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
_LETTER_LOOKALIKES = str.maketrans({"6": "G", "1": "I", "l": "I", "|": "I", "!": "I", "5": "S", "2": "Z", "8": "B",
                                    "0": "O", "£": "E", "€": "E"})
_ICD10_OCR = re.compile(r"(?<![A-Za-z0-9.])([A-Z0-9l|£€])[ ]?-?[ ]?([0-9OoIlSB]{2})[ ]?[.:,;][ ]?([0-9A-Z]{1,3})"
                        r"(?:[ ]([0-9]))?(?![A-Za-z0-9])")
_RATIO_AFTER = re.compile(r"\s?/\s?\d")
_DIAGNOSIS_CONTEXT = re.compile(r"\(\s*$|diagnos|\bdx\b|icd|impression|assessment|problem", re.IGNORECASE)

_VISIT_DATE_LABELS = phrases("date of service", "dos", "visit date", "date of visit", "encounter date",
                             # "seen in clinic on", "seen at the office on", and "in" as OCR may read it ("ia",
                             # with a speck: "Seen in' clinic")
                             r"(?:seen|evaluated|examined)\s+(?:\w{2}['`.,]?\s+(?:the\s+)?(?:clinic|office)\s+)?on",
                             "date of encounter", "service date", "appointment date", "exam date", "date seen",
                             "seen on", "evaluation date", "date of evaluation", "consultation date",
                             "date of consultation", "consult date", "office visit date", "visit", "seen",
                             "face-to-face date", "date of face-to-face", "f2f date", "note date", "clinic date")
_NEGATION = re.compile(r"\b(?:no|not|denies|denied|deny|negative\s+for|without|absent|free\s+of|never|ruled\s+out|"
                       r"r/o|none)\b|(?<!\w)(?<![A-Za-z]\n)-(?=\s*\w)", re.IGNORECASE)
# (a "-" before a word negates it, "-fever, -chills", but not one starting a line that runs on from a word above:
# that is the phrase wrapped, OCR's hyphen — "Reports daytime⏎-sleepiness, wakes with headaches")
_AFFIRMATION = re.compile(r"\b(?:positive\s+for|reports?|endorses?|admits?|complains?\s+of|c/o|presents?\s+with|"
                          r"but|however|yes)\b|\+", re.IGNORECASE)
# A line break ends a clause unless the line plainly runs on (it ends in a comma, a hyphen or mid-phrase).
_CLAUSE_END = re.compile(r"[.;!?]|(?<![,a-z \-])\n|\bbut\b|\bhowever\b", re.IGNORECASE)
_ANSWER_AFTER = re.compile(r"\s*[:\-]\s*(yes|y|present|positive|\+|no|n|denies|negative|absent|none)\b", re.IGNORECASE)
# "Epworth Sleepiness Scale 18/24", "ESS: 14", "Epworth score of 12": above 10 is excessive daytime sleepiness
_EPWORTH = re.compile(r"\b(?:epworth(?:\s+sleepiness)?(?:\s+(?:scale|score))?|ESS)\b(?:\s+(?:score|of|was|is|=))*"
                      r"[\s:=]*(\d{1,2})(?!\d)(?!\s*%)", re.IGNORECASE)
EPWORTH_SLEEPY = 11
EXCESSIVE_SLEEPINESS = "excessive daytime sleepiness"
_FAMILY_HISTORY = re.compile(r"family\s+history|\bFHx?\b|mother|father|brother|sister|sibling|parent",
                             re.IGNORECASE)


def diagnoses(scan: Scan) -> ExtractedField | None:
    found: list[tuple[int, int, str, ScanPage, int, int]] = []  # (page, start, code, page, start, end)
    for page, match in scan.find(_ICD10):
        if _RATIO_AFTER.match(page.folded, match.end()):
            continue  # "110/70": a blood pressure, not I10
        code = _read_icd10(match, _DIAGNOSIS_CONTEXT.search(_list_before(page, match.start())) is not None)
        if code:
            found.append((page.number, match.start(), code, page, match.start(), match.end()))
    for page, match in scan.find(_ICD10_OCR):  # a known code OCR bent: "G47:33", "G47 .33", "J96.1 1"
        code = _read_bent_icd10(match)
        overlapping = [other for other in found if other[3] is page and other[4] < match.end()
                       and match.start() < other[5]]
        if code and all(other[2] not in KNOWN_ICD10 for other in overlapping):  # "J96.1" read off "J96.1 1"
            found = [other for other in found if other not in overlapping]
            found.append((page.number, match.start(), code, page, match.start(), match.end()))
    codes: list[str] = []
    first: tuple[ScanPage, int, int] | None = None
    for _number, _start, code, page, start, end in sorted(found, key=lambda item: item[:2]):
        if code not in codes:
            codes.append(code)
            first = first or (page, start, end)
    if not codes:
        return None
    page, start, end = first
    return scan.field("diagnoses", codes, page, start, end, 0.9)


def _read_bent_icd10(match: re.Match[str]) -> str | None:
    """A known code spelled by a match of ``_ICD10_OCR``: the letter (or its look-alike digit), two digits, and
    the digits after the separator OCR bent, with a digit it set apart put back when that makes a known code."""
    letter, digits, subcategory, apart = match.groups()
    if not (letter.isalpha() or letter in "0156|£€"):
        return None
    base = letter.translate(_LETTER_LOOKALIKES).upper() + fold_digits(digits) + "." + fold_digits(subcategory).upper()
    for code in ((base + apart) if apart else None, base):
        if code in KNOWN_ICD10:
            return code
    return None


def _list_before(page: ScanPage, position: int) -> str:
    """The sentence up to ``position``, a list's semicolons included ("Diagnoses: G47.33 …; E66.01 …; I10"):
    back to a full stop or a blank line, at most 200 characters."""
    window = page.folded[max(0, position - 200):position]
    ends = [found.end() for found in re.finditer(r"(?<![0-9])[.!?]\s|\n\s*\n", window)]
    return window[ends[-1]:] if ends else window


def _read_icd10(match: re.Match[str], in_diagnosis_context: bool) -> str | None:
    """The code ``match`` spells. OCR's digit for the first letter ("647.33", "l10") is repaired only for a
    known code written with its dot or where the text is talking diagnoses: "110/70" is a blood pressure."""
    letter, digits, dotted, undotted = match.groups()
    written = match.group()
    code = letter.translate(_LETTER_LOOKALIKES).upper() + fold_digits(digits[0]) + digits[1].upper()
    if dotted:
        code += "." + dotted.upper()
    elif undotted:
        code += "." + undotted.upper()
    if not _ICD_FORMAT.match(code):
        return None
    if code in KNOWN_ICD10 and (letter.isupper() or dotted or in_diagnosis_context):
        return code
    # An unknown code is believed only as written: with its dot, its letter a letter and no OCR repairs.
    return code if dotted and written.upper() == code and letter.isalpha() else None


def face_to_face(scan: Scan) -> ExtractedField | None:
    date = labelled_date(scan, _VISIT_DATE_LABELS) or first_event_date(scan)
    symptoms = _mentioned(scan, SYMPTOMS)
    sleepy = _sleepy_by_epworth(scan)
    if sleepy and all(name != EXCESSIVE_SLEEPINESS for name, _ in symptoms):
        symptoms = sorted([*symptoms, (EXCESSIVE_SLEEPINESS, sleepy)], key=lambda item: (item[1].page, item[1].start))
    comorbidities = _mentioned(scan, COMORBIDITIES)
    if date is None and not symptoms and not comorbidities:
        return None
    value = {"date": date.value if date else None, "symptoms": [name for name, _ in symptoms],
             "comorbidities": [name for name, _ in comorbidities]}
    coded = diagnoses(scan)
    for code in coded.value if coded else []:
        condition = next((name for prefix, name in CONDITION_CODES.items() if code.startswith(prefix)), None)
        listed = value["symptoms"] if condition in SYMPTOMS else value["comorbidities"]
        if condition and condition not in listed:
            listed.append(condition)
    anchor = date or (symptoms or comorbidities)[0][1]
    return scan.from_hit("face_to_face", Hit(value, anchor.page, anchor.start, anchor.end,
                                             0.9 if date and date.confidence > 0.8 else 0.75))


def _sleepy_by_epworth(scan: Scan) -> Hit | None:
    """Where the note scores the Epworth Sleepiness Scale above 10 of 24 — excessive daytime sleepiness by the
    scale's own cut-off, whether or not the note names it in words."""
    for page, match in scan.find(_EPWORTH):
        if EPWORTH_SLEEPY <= int(match.group(1)) <= 24:
            return Hit(EXCESSIVE_SLEEPINESS, page.number, match.start(1), match.end(1))
    return None


def _mentioned(scan: Scan, vocabulary: dict[str, tuple[str, ...]]) -> list[tuple[str, Hit]]:
    """Canonical names affirmed in the text (a mention counts unless negated), in order of first mention.
    OCR may join a phrase's words with a hyphen or a speck ("falls asleep-while reading", "headaches.on
    awakening")."""
    found: list[tuple[str, Hit]] = []
    for name, synonyms in vocabulary.items():
        for page, match in scan.find(words(*(synonym.replace(r"\s+", r"(?:\s+|\s*[.-]\s*)") for synonym in synonyms))):
            if _affirmed(page, match):
                found.append((name, Hit(name, page.number, match.start(), match.end())))
                break
    return sorted(found, key=lambda item: (item[1].page, item[1].start))


def _affirmed(page: ScanPage, match: re.Match[str]) -> bool:
    text = page.folded
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, match.start())), default=0)
    line_start = text.rfind("\n", 0, match.start()) + 1
    if _FAMILY_HISTORY.search(text, line_start, match.start()):
        return False
    box = checkbox(text, match.start())
    if box is not None:
        return box
    answer = _ANSWER_AFTER.match(text, match.end())
    if answer:
        return answer.group(1).lower() in ("yes", "y", "present", "positive", "+")
    prefix = text[clause_start:match.start()]
    negation = max((m.end() for m in _NEGATION.finditer(prefix)), default=-1)
    affirmation = max((m.end() for m in _AFFIRMATION.finditer(prefix)), default=-1)
    return negation < 0 or affirmation > negation


