"""What the clinical documents establish: diagnoses (ICD-10-CM), the sleep study's type and indices, the
face-to-face visit's date, symptoms and comorbidities (negations respected), and the oxygen test."""

from __future__ import annotations

import re
from typing import Any

from osler.dme.model import ExtractedField
from osler.dme.understand.dates import find_dates
from osler.dme.understand.identity import labelled_date
from osler.dme.understand.normalize import fold_digits
from osler.dme.understand.scan import Hit, Scan, ScanPage, checkbox, phrases, words
from osler.dme.understand.vocabulary import COMORBIDITIES, CONDITION_CODES, KNOWN_ICD10, SYMPTOMS

_ICD10 = re.compile(r"(?<![A-Za-z0-9.])([A-Z0-9l|])([0-9OoIlSB]{2})(?:\.([0-9A-Z]{1,4})|([0-9A-Z]{0,4}))"
                    r"(?![A-Za-z0-9])")
_ICD_FORMAT = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
_LETTER_LOOKALIKES = str.maketrans({"6": "G", "1": "I", "l": "I", "|": "I", "5": "S", "2": "Z", "8": "B", "0": "O"})
_DIAGNOSIS_CONTEXT = re.compile(r"\(\s*$|diagnos|\bdx\b|icd|impression|assessment|problem", re.IGNORECASE)

_STUDY_DATE_LABELS = phrases("study date", "date of study", "test date", "date of test", "recording date",
                             "date recorded", "night of", "date of service", "dos", "date performed", "performed on",
                             "study performed", "date of recording", "sleep study date", "exam date",
                             "date of exam", "service date", "testing date", "date(s) of study", "date tested",
                             "date of procedure", "procedure date", "recorded on", "collection date",
                             "date collected", "collected", "specimen date", "date/time", "date of testing")
_NOT_EVENT_DATE = re.compile(r"birth|dob|d\.o\.b|born|report|sign|print|fax|interpret|read|received|order|sent|"
                             r"dictat|transcri|admi|discharge|referr", re.IGNORECASE)
_FAX_HEADER = re.compile(r"\bFROM\b.*\bTO\b|\bPAGE\s*\d+\s*(?:/|of)\s*\d+|\bP\.\s?\d{3}", re.IGNORECASE)
_HST = words(r"home\s+sleep\s+(?:apnea\s+)?(?:test(?:ing)?|study)", "HSAT", "HST", r"out[\s-]of[\s-]cent(?:er|re)",
             "OCST", r"portable\s+monitor\w*", r"type\s+(?:III|3|IV|4)\s+(?:device|study|monitor)", "WatchPAT",
             "unattended", r"home\s+study")
_PSG = words(r"polysomno\w*", "PSG", r"in[\s-]lab(?:oratory)?", r"attended", r"split[\s-]night",
             r"type\s+(?:I|1)\s+study", r"laboratory\s+sleep\s+study", r"sleep\s+stag\w*", "EEG",
             r"facility[\s-]based", r"titration")
_INDEX_VALUE = r"[^\n\d<>]{0,40}?(\d{1,3}(?:\.\d{1,2})?)(?!\.?\d)(?!\s*%)(?!\s*(?:min|sec|hour|hr|am|pm)\b)"
_NOT_OVERALL = re.compile(r"(?:rem|nrem|non-?rem|supine|non-?supine|lateral|prone|side|left|right|central|"
                          r"obstructive\s+apnea|criteria|threshold|if|baseline|goal|residual|on\s+cpap|titrat\w*|"
                          r"treatment|at\s+\d+\s*cm)\W*$", re.IGNORECASE)
_AHI = re.compile(r"\b(?:p?AHI|apn(?:o)?ea[\s-]*hypopn(?:o)?ea\s+index)\b(?:\s*\((?:p?AHI)\))?"
                  r"(?:\s*,?\s*(?:overall|total|all\s+night))?" + _INDEX_VALUE, re.IGNORECASE)
# "6.2 events per hour (AHI)": the value written before the index's name.
_AHI_AFTER = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*(?:events?\s*)?(?:/|per)\s*(?:hour|hr|h)\.?\s*"
                        r"\(\s*p?AHI\s*\)", re.IGNORECASE)
_ANOTHER_PHRASE = re.compile(r"\.\s|supine|rem\b|lateral|prone|side", re.IGNORECASE)
_REI = re.compile(r"\b(?:REI|respiratory\s+event\s+index)\b(?:\s*\(REI\))?" + _INDEX_VALUE, re.IGNORECASE)
_RDI = re.compile(r"\b(?:p?RDI|respiratory\s+disturbance\s+index)\b(?:\s*\(p?RDI\))?" + _INDEX_VALUE, re.IGNORECASE)
_PER_HOUR = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*(?:events?|episodes?)?\s*(?:/|per)\s*(?:hour|hr|h)\b",
                       re.IGNORECASE)
_OTHER_INDEX = re.compile(r"\b(?:ODI|RDI|REI|arousal|PLM\w*|desaturation|central|CAI|limb|snor\w*|respiratory\s+"
                          r"(?:disturbance|event)\s+index|disturbance)\b", re.IGNORECASE)
_EARLIER = re.compile(r"\b(?:prior|previous|comparison|earlier|last|old)\b", re.IGNORECASE)
_COMPARISON = re.compile(r"[<>]|greater|less|more\s+than|at\s+least|above|below|≥|≤", re.IGNORECASE)
_TOTAL_EVENTS = re.compile(r"\b(?:total\s+(?:number\s+of\s+)?(?:respiratory\s+|apnea\s*(?:\+|and|/|&)\s*hypopnea\s+|"
                           r"resp\.?\s+)?events|total\s+apneas?\s*(?:\+|and|&|/)\s*hypopneas?|apneas?\s*\+\s*hypopneas?"
                           r"|number\s+of\s+(?:apneas?\s+and\s+hypopneas?|respiratory\s+events)|total\s+a\s*\+\s*h)"
                           r"[^\n\d]{0,20}(\d{1,4})(?!\s*(?:/|per)\s*h)(?!\.\d)", re.IGNORECASE)
_DURATION = (r"[^\d]{0,25}(?:(\d{1,2}):(\d{2})(?:\s*(?:hh:mm|hours|hrs|h))?"
             r"|(\d{1,2})\s*h(?:(?:ou)?rs?)?\.?\s*(\d{1,2})\s*m(?:in(?:utes)?)?"
             r"|(\d{1,4}(?:\.\d{1,2})?)\s*(hours?|hrs?|h|minutes?|mins?|m)\b)")
_RECORDING_TIME = re.compile(r"\b(?:total\s+recording(?:\s+time)?|recording\s+time|TRT|total\s+monitoring\s+time|"
                             r"monitoring\s+time|study\s+duration|recording\s+duration|valid\s+recording\s+time|"
                             r"total\s+study\s+time|time\s+in\s+bed|TIB)\b" + _DURATION, re.IGNORECASE)
_SLEEP_TIME = re.compile(r"\b(?:total\s+sleep\s+time|TST|sleep\s+time)\b" + _DURATION, re.IGNORECASE)

_VISIT_DATE_LABELS = phrases("date of service", "dos", "visit date", "date of visit", "encounter date",
                             r"(?:seen|evaluated|examined)\s+(?:in\s+(?:the\s+)?(?:clinic|office)\s+)?on",
                             "date of encounter", "service date", "appointment date", "exam date", "date seen",
                             "seen on", "evaluation date", "date of evaluation", "consultation date",
                             "date of consultation", "consult date", "office visit date", "visit", "seen",
                             "face-to-face date", "date of face-to-face", "f2f date", "note date", "clinic date")
_NEGATION = re.compile(r"\b(?:no|not|denies|denied|deny|negative\s+for|without|absent|free\s+of|never|ruled\s+out|"
                       r"r/o|none)\b|(?<!\w)-(?=\s*\w)", re.IGNORECASE)
_AFFIRMATION = re.compile(r"\b(?:positive\s+for|reports?|endorses?|admits?|complains?\s+of|c/o|presents?\s+with|"
                          r"but|however|yes)\b|\+", re.IGNORECASE)
# A line break ends a clause unless the line plainly runs on (it ends in a comma, a hyphen or mid-phrase).
_CLAUSE_END = re.compile(r"[.;!?]|(?<![,a-z \-])\n|\bbut\b|\bhowever\b", re.IGNORECASE)
_ANSWER_AFTER = re.compile(r"\s*[:\-]\s*(yes|y|present|positive|\+|no|n|denies|negative|absent|none)\b", re.IGNORECASE)
_FAMILY_HISTORY = re.compile(r"family\s+history|\bFHx?\b|mother|father|brother|sister|sibling|parent",
                             re.IGNORECASE)

_SPO2_WORD = (r"(?:sp\s*[o0]\s*[2z]|sa\s*[o0]\s*[2z]|o\s*[2z]\s*sat(?:uration)?s?|oxygen\s+sat(?:uration)?s?|"
              r"\bsats?\b|pulse\s+ox(?:imetry)?|saturation|nadir|lowest)")
_SPO2_CONTEXT = re.compile(_SPO2_WORD + r"|room\s+air|\bRA\b", re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\d.])(\d{2}(?:\.\d)?)\s*%")
_NOT_A_READING = re.compile(r"(?:below|under|<=?|>=?|at\s+or\s+below|less\s+than|threshold|criteri\w*|mean|average|"
                            r"median|goal|target|keep|maintain|titrate)[^%\n]{0,14}$", re.IGNORECASE)
_PAO2 = re.compile(r"(?<![A-Za-z])(?:pa\s*[o0]\s*2|p\s*[o0]\s*2|partial\s+pressure\s+of\s+(?:arterial\s+)?oxygen)"
                   r"(?![A-Za-z0-9])[^\n\d]{0,20}(\d{2,3}(?:\.\d)?)", re.IGNORECASE)
_ON_OXYGEN = re.compile(r"\bon\s+\d+(?:\.\d)?\s*l\b|\bwith\s+(?:supplemental\s+)?(?:o2|oxygen)\b"
                        r"|\bon\s+(?:supplemental\s+)?(?:o2|oxygen)\b|\d+(?:\.\d)?\s*(?:l/min|lpm|liters?)"
                        r"|\bwith\s+\d+\s*l\b", re.IGNORECASE)
_CONDITIONS = {"exercise": re.compile(r"exercis|exertion|ambulat|walk|6\s*-?\s*min|6MW|treadmill|activity|"
                                      r"during\s+(?:activity|exercise)", re.IGNORECASE),
               "sleep": re.compile(r"sleep|overnight|nocturnal|night", re.IGNORECASE),
               "rest": re.compile(r"\brest|resting|sitting|seated|supine\s+at\s+rest|\bABG\b|arterial\s+blood\s+gas",
                                  re.IGNORECASE)}
_QUALIFYING = re.compile(r"qualif", re.IGNORECASE)


def diagnoses(scan: Scan) -> ExtractedField | None:
    codes: list[str] = []
    first: tuple[ScanPage, int, int] | None = None
    for page, match in scan.find(_ICD10):
        code = _read_icd10(match, _DIAGNOSIS_CONTEXT.search(_sentence_before(page, match.start())) is not None)
        if code and code not in codes:
            codes.append(code)
            first = first or (page, match.start(), match.end())
    if not codes:
        return None
    page, start, end = first
    return scan.field("diagnoses", codes, page, start, end, 0.9)


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


def sleep_study(scan: Scan) -> ExtractedField | None:
    ahi = (_first_index(scan, _AHI_AFTER) or _first_index(scan, _AHI) or _first_index(scan, _REI)
           or _per_hour(scan))
    rdi = _first_index(scan, _RDI)
    events = _first_number(scan, _TOTAL_EVENTS)
    recording = _hours(scan, _RECORDING_TIME)
    sleep = _hours(scan, _SLEEP_TIME)
    hours = recording or sleep
    ahi_value = ahi.value if ahi else None
    if ahi_value is None and rdi is None and events and hours:  # computed only when no index is stated
        ahi_value = round(events.value / hours.value, 1)
    if ahi is None and rdi is None and events is None:
        return None
    date = labelled_date(scan, _STUDY_DATE_LABELS) or _first_event_date(scan)
    value: dict[str, Any] = {"date": date.value if date else None, "type": _study_type(scan), "ahi": ahi_value,
                             "rdi": rdi.value if rdi else None, "total_events": events.value if events else None,
                             "recording_hours": hours.value if hours else None}
    anchor = ahi or rdi or events
    confidence = 0.95 if date and ahi else 0.8
    return scan.from_hit("sleep_study", Hit(value, anchor.page, anchor.start, anchor.end, confidence))


def _first_index(scan: Scan, pattern: re.Pattern[str]) -> Hit | None:
    """The first overall value of an index: not a positional or REM one, not a criterion ("AHI ≥ 15"), not
    an earlier study's, and not a value that belongs to the next phrase ("(AHI). Supine AHI: 8.7")."""
    for page, match in scan.find(pattern):
        before = page.folded[max(0, match.start() - 25):match.start()]
        between = page.folded[match.end(1) if match.start(1) < match.start() else match.start():
                              max(match.start(1), match.start())]
        if (_NOT_OVERALL.search(before) or _COMPARISON.search(between) or _ANOTHER_PHRASE.search(between)
                or _EARLIER.search(_sentence_before(page, match.start()))):
            continue
        value = float(match.group(1))
        if value <= 200:
            return Hit(value, page.number, match.start(1), match.end(1))
    return None


def _per_hour(scan: Scan) -> Hit | None:
    """"23.4 events/hour" with no index named: the AHI, unless the line names another index."""
    for page, match in scan.find(_PER_HOUR):
        line = _line_before(page, match)
        if (not any(pattern.search(line) for pattern in (_OTHER_INDEX, _NOT_OVERALL, _COMPARISON))
                and not _EARLIER.search(_sentence_before(page, match.start()))):
            return Hit(float(match.group(1)), page.number, match.start(1), match.end(1), 0.8)
    return None


def _sentence_before(page: ScanPage, position: int) -> str:
    """The sentence up to ``position``, across wrapped lines (at most 120 characters back)."""
    window = page.folded[max(0, position - 120):position]
    ends = [found.end() for found in re.finditer(r"[.;]\s|\n\s*\n", window)]
    return window[ends[-1]:] if ends else window


def _line_before(page: ScanPage, match: re.Match[str]) -> str:
    return page.folded[page.folded.rfind("\n", 0, match.start()) + 1:match.start()]


def _first_number(scan: Scan, pattern: re.Pattern[str]) -> Hit | None:
    for page, match in scan.find(pattern):
        return Hit(int(match.group(1)), page.number, match.start(1), match.end(1))
    return None


def _hours(scan: Scan, pattern: re.Pattern[str]) -> Hit | None:
    for page, match in scan.find(pattern):
        hours_part, minutes_part, h_part, m_part, amount, unit = match.groups()
        if hours_part:
            hours = int(hours_part) + int(minutes_part) / 60
        elif h_part:
            hours = int(h_part) + int(m_part) / 60
        else:
            hours = float(amount) / (60 if unit.lower().startswith("m") else 1)
        if 0.5 <= hours <= 16:
            return Hit(round(hours, 2), page.number, match.start(), match.end())
    return None


def _first_event_date(scan: Scan) -> Hit | None:
    """The first date that no label marks as a birth, report, signature or order date, and not the date a
    fax machine stamped on its header line."""
    for page in scan.pages:
        for found in find_dates(page.folded):
            before = page.folded[max(0, found.start - 30):found.start]
            line_before = before[before.rfind("\n") + 1:]
            line = page.folded[page.folded.rfind("\n", 0, found.start) + 1:page.folded.find("\n", found.end)]
            if not _NOT_EVENT_DATE.search(line_before) and not _FAX_HEADER.search(line):
                return Hit(found.iso, page.number, found.start, found.end, 0.7)
    return None


def _study_type(scan: Scan) -> str:
    score = {"HST": 0.0, "PSG": 0.0}
    for study_type, pattern in (("HST", _HST), ("PSG", _PSG)):
        for page, match in scan.find(pattern):
            in_title = page.number == 1 and match.start() < 400
            score[study_type] += 3 if in_title else 1
    return "HST" if score["HST"] > score["PSG"] else "PSG"


def face_to_face(scan: Scan) -> ExtractedField | None:
    date = labelled_date(scan, _VISIT_DATE_LABELS) or _first_event_date(scan)
    symptoms = _mentioned(scan, SYMPTOMS)
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


def _mentioned(scan: Scan, vocabulary: dict[str, tuple[str, ...]]) -> list[tuple[str, Hit]]:
    """Canonical names affirmed in the text (a mention counts unless negated), in order of first mention."""
    found: list[tuple[str, Hit]] = []
    for name, synonyms in vocabulary.items():
        for page, match in scan.find(words(*synonyms)):
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


def oxygen_test(scan: Scan) -> ExtractedField | None:
    """The qualifying reading: the lowest SpO2 taken without supplemental oxygen (a qualifying value the
    report names wins), or the PaO2; the condition from that reading's line, else from the document."""
    readings: list[tuple[bool, float, ScanPage, int, int]] = []
    for page, match in scan.find(_PERCENT):
        value = float(match.group(1))
        line = _line_around(page, match.start(), match.end())
        # the words naming the reading may stand on its line or, in a form, on the line above it
        context = page.folded[_line_start_above(page.folded, match.start()):match.start()]
        if (50 <= value <= 100 and _SPO2_CONTEXT.search(context) and not _ON_OXYGEN.search(line)
                and not _NOT_A_READING.search(context)):
            readings.append((bool(_QUALIFYING.search(line)), value, page, match.start(1), match.end(1)))
    pao2 = next(((float(m.group(1)), page, m.start(1), m.end(1)) for page, m in scan.find(_PAO2)
                 if 20 <= float(m.group(1)) <= 150), None)
    if not readings and pao2 is None:
        return None
    value: dict[str, Any] = {"date": None, "spo2": None, "pao2": pao2[0] if pao2 else None, "condition": None}
    if readings:
        _qualifying, spo2, page, start, end = min(readings, key=lambda reading: (not reading[0], reading[1]))
        value["spo2"] = _plain_number(spo2)
    else:
        _pao2, page, start, end = pao2
    value["pao2"] = _plain_number(value["pao2"]) if value["pao2"] is not None else None
    value["condition"] = _condition(_line_around(page, start, end)) or _document_condition(scan)
    date = labelled_date(scan, _STUDY_DATE_LABELS) or _first_event_date(scan)
    value["date"] = date.value if date else None
    return scan.field("oxygen_test", value, page, start, end, 0.9 if date else 0.75)


def _line_start_above(text: str, position: int) -> int:
    """Where the line above ``position``'s line starts, when ``position``'s line has no words before it."""
    line_start = text.rfind("\n", 0, position) + 1
    if re.search(r"[A-Za-z]", text[line_start:position]) or line_start == 0:
        return line_start
    return text.rfind("\n", 0, line_start - 1) + 1


def _plain_number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _line_around(page: ScanPage, start: int, end: int) -> str:
    line_start = page.folded.rfind("\n", 0, start) + 1
    line_end = page.folded.find("\n", end)
    return page.folded[line_start:len(page.folded) if line_end < 0 else line_end]


def _condition(text: str) -> str | None:
    for condition, pattern in _CONDITIONS.items():
        if pattern.search(text):
            return condition
    return None


def _document_condition(scan: Scan) -> str:
    counts = {condition: sum(1 for _ in scan.find(pattern)) for condition, pattern in _CONDITIONS.items()}
    best = max(counts, key=lambda condition: counts[condition])
    return best if counts[best] else "rest"
