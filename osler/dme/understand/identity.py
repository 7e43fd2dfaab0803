"""Who the document is about and who pays: patient name, birth date, sex, MRN, MBI, payer and member id."""

from __future__ import annotations

import re

from osler.dme.model import ExtractedField
from osler.dme.understand.dates import find_dates
from osler.dme.understand.normalize import fold_digits, letters_like
from osler.dme.understand.people import parse_person
from osler.dme.understand.scan import OCR_E, Hit, Scan, ScanPage, phrases
from osler.dme.understand.validators import valid_mbi

_ANY = r"[^\n]"
_PATIENT_LABELS = (  # (labels, confidence, lines above the label that must not name someone else)
    (phrases("patient name", "patient's name", "pt name", "pt. name", "name of patient", "patient full name",
             "beneficiary name", "member name", "client name", "resident name", "patient legal name",
             "name (last, first)", "patient (last, first)"), 0.95, 0),
    # the colon as OCR may read it: a semicolon, a "!", or a full stop before the name ("Patient. KOWALCZYK, VERNON")
    (phrases("patient", "pt", "beneficiary", "member", "client", "resident", "re") + r"[ ]*(?:[:;!]|\.(?=[ ]+[A-Z]))",
     0.85, 0),
    # a bare "Name:" belongs to whatever block it is in: "Emergency Contact" on the line above rules it out
    (phrases("name", "full name", "legal name") + r"[ ]*:", 0.75, 1),
)
_NOT_PATIENT_CONTEXT = (r"physician|provider|doctor|practitioner|prescriber|practice|facility|contact|guarantor|"
                        r"insured|subscriber|emergency|company|employer|supplier|referr|ordering|spouse|parent|"
                        r"pharmacy|agency|witness|representative|caregiver|interpreter|technolog")
# (a speck OCR left before the given name is passed over: "FITZGERALD, 'OTIS"; a middle initial may be read
# with a second glyph and a colon for its stop, "Kwame EF. Thibodeaux", "Fatima Jd: Espinoza", when a name
# follows it)
_NAME_WORDS = (r"[A-Z][A-Za-z'\-]+(?:[,.]\s*['`\"]?[A-Z][A-Za-z'\-]+)?(?:[ ]+(?:[A-Z]\.?|[a-z]\.|[A-Z][A-Za-z]?[.:]"
               r"(?=[ ]+[A-Z][a-z]))[-,'`]?(?![A-Za-z'\-]))?(?:[ ]+[A-Z][A-Za-z'\-]+){0,2}")
# Letters and narratives name the patient in a sentence: "Re patient Leon K. Valenzuela", "This concerns ..."
# (OCR may read its rn as an m, or put a speck after the lead word: "This concerns. DOE, JANE")
_PATIENT_WORD = rf"(?:pati{OCR_E}nt|pt\.?)"
_NARRATIVE_PATIENT = re.compile(rf"(?i:\b(?:re:?[ ]+{_PATIENT_WORD}|regarding(?:[ ]+{_PATIENT_WORD})?|"
                                rf"conce(?:rn|m)(?:s|ing)(?:[ ]+{_PATIENT_WORD})?|certify[ ]+that|{_PATIENT_WORD}|for))"
                                r"[.,:;]?[ ]+(?P<name>" + _NAME_WORDS + ")")
# What may follow a name's label when the name is on the next line: nothing, or a hint ("(Last,") the cell wrapped
_HINT_ONLY = re.compile(r"[ ]*(?:\([^)\n]*\)?)?[\W_]*$", re.MULTILINE)
_FAMILY_ALONE = re.compile(r"^[ ]*([A-Z][A-Za-z'\-]+),[\W_]*$", re.MULTILINE)  # "McAllister, ." on a line of its own
_GIVEN_FIRST = re.compile(r"[ ]*([A-Z][A-Za-z'\-]+)\b")
_NEXT_LINE_WITH_WORDS = re.compile(r"\n[ ]*(?=\S)")
_BIRTH_LABELS = phrases("date of birth", "birth date", "birthdate", "dob", "d.o.b", "born on", "born", "birth dt",
                        r"(?:[d0][.:]?[ ]?[o0][.:]?[ ]?b\.?)",  # "D.0.B.", "0.0.B.", "D:0.B.": OCR's zeros and colons
                        r"(?:bom(?:[ ]+on)?)")  # "born" with its rn read as an m
_SEX_LABELS = phrases("sex", "gender", "sex/gender", "birth sex", "sex assigned at birth", "legal sex", "sex at birth",
                      "gender identity", "biological sex", "administrative sex", "sex (m/f)")
_SEX_VALUE = re.compile(r"(female|male|f|m|woman|man)\b", re.IGNORECASE)
_AGE_SEX = re.compile(r"\b\d{1,3}[- ]?(?:year|yr|y)[- ]?(?:old|o\.?)?,?\s+(female|male|woman|man|gentleman|lady|"
                      r"f|m)\b", re.IGNORECASE)
_MRN_LABELS = phrases("mrn", "medical record number", "medical record #", "medical record no", "med rec #",
                      "med rec no", "med rec number", "mr #", "mr no", "mr number", "chart #", "chart number",
                      "chart no", "chart id", "patient id", "patient #", "pt id", "pt #", "record #", "record number",
                      "ehr id", "patient number", "hospital number", "mrn #")
_IDENTIFIER = re.compile(r"(?=[A-Z0-9-]*\d[A-Z0-9-]*\d[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{2,19}(?![A-Za-z0-9])",
                         re.IGNORECASE)
_SPLIT_PREFIX = re.compile(r"([A-Z]{1,3})[ ](\d{5,12})(?![A-Za-z0-9])")
_MBI_LABELS = phrases("mbi", "medicare beneficiary identifier", "medicare beneficiary id", "medicare id",
                      "medicare #", "medicare number", "medicare no", "medicare claim number", "hicn",
                      "medicare id number", "beneficiary id", "medicare mbi",
                      r"(?:medicare[\s,.'`]*[1l|\[\]]d)")  # its "ID" as OCR reads the I: "Medicare 1D", "[D"
# Eleven characters, optionally printed 4-3-4 with dashes or spaces; checked position by position later.
_MBI_SHAPE = re.compile(r"(?<![A-Za-z0-9])[0-9A-Z]{4}[- ]?[0-9A-Z]{3}[- ]?[0-9A-Z]{4}(?![A-Za-z0-9])")
# Labelled, its eleven characters may be split anywhere: OCR reads a 1 as " I" ("4F25T5 IQR67"), or as a
# bar or bracket ("|AW2-RC2-DP80"), or an 8 as "&".
_MBI_GLYPH = r"[0-9A-Za-z|\[\]&]"
_MBI_SPACED = re.compile(rf"(?<![A-Za-z0-9])(?:{_MBI_GLYPH}[- ]?){{10}}{_MBI_GLYPH}(?![A-Za-z0-9])")
_MBI_ONE_EXTRA = re.compile(rf"(?<![A-Za-z0-9])(?:{_MBI_GLYPH}[- ]?){{11}}{_MBI_GLYPH}(?![A-Za-z0-9])")
_MBI_DIGIT_POSITIONS = (0, 3, 6, 9, 10)
_MBI_EITHER_POSITIONS = (2, 5)  # letter or digit, but never S, L, O, I, B or Z: those there are digits misread
_MBI_EXCLUDED_LETTERS = "SLOIBZ"
_MBI_LETTER_POSITIONS = (1, 4, 7, 8)
# A digit where the format pins a letter is a letter misread, when only one letter an MBI may hold looks like it
# (a 7 is a T; a 0 might be a D or a Q, so it stays and the reading fails the format check)
_MBI_DIGIT_LETTERS = str.maketrans({
    digit: letters for digit in "0123456789"
    if len(letters := "".join(set(letters_like(digit)) - set(_MBI_EXCLUDED_LETTERS))) == 1})
_PAYER_LABELS = phrases("primary insurance", "insurance", "payer", "payor", "primary payer", "primary payor",
                        "insurance carrier", "carrier", "health plan", "plan name", "insurance plan",
                        "insurance company", "insurance name", "coverage", "primary coverage", "ins", "primary ins",
                        "insurer", "insurance provider")
_KNOWN_PAYERS = re.compile(r"\b(?:medicare(?:\s+part\s+b|\s+advantage)?|medicaid|aetna(?:\s+medicare)?|"
                           r"united\s*health\s*care|uhc|humana|cigna|blue\s+cross(?:\s+blue\s+shield)?|bcbs|"
                           r"anthem|kaiser(?:\s+permanente)?|tricare|wellcare|molina|centene|ambetter)\b",
                           re.IGNORECASE)
_PAYER_TEXT = re.compile(r"[A-Za-z]{3,}")
_PAYER_WORDS = re.compile(r"insur|health|medicare|medicaid|advantage|blue|care|mutual|life|plan\b|"
                          + _KNOWN_PAYERS.pattern, re.IGNORECASE)
_IDENTIFIER_AFTER = re.compile(r"\s*(?:#|id\b|number|no\b|beneficiary|mbi|card|claim|part\s+[abd]\s+(?:id|#))",
                               re.IGNORECASE)
_NOT_PAYER = re.compile(r"^(?:none|n/a|self[ -]?pay|secondary|primary|tertiary|see\b)", re.IGNORECASE)
_MEMBER_LABELS = phrases("member id", "member #", "member number", "member no", "subscriber id", "subscriber #",
                         "subscriber number", "policy #", "policy number", "policy id", "policy no", "insurance id",
                         "id #", "id number", "identification number", "member identification", "insured id",
                         "certificate number", "member id #", "plan id")


def patient_name(scan: Scan) -> ExtractedField | None:
    for labels, confidence, context_lines in _PATIENT_LABELS:
        exclude = _NOT_PATIENT_CONTEXT if confidence < 0.95 else None
        for page, _label, value in scan.labelled(labels, _ANY, exclude_before=exclude, context_lines=context_lines):
            start, end = scan.segment(page, value.start(), name=True)
            person = parse_person(page.folded[start:end])
            if person is None:  # the name may go on where a form's cell or the line wrapped
                end = scan.wrapped_name_end(page, _label.end(), start, end)
                person = parse_person(page.folded[start:end])
            if person is None:  # or OCR read its comma as a full stop ("FITZGERALD. LLOYD Birth Date: ...")
                start, end = scan.segment(page, value.start())
                person = parse_person(page.folded[start:end])
            if person is None:  # or a form's cell wrapped around its label
                person, start, end = _name_in_wrapped_cell(scan, page, _label.end(), value.start())
            if person:
                return scan.field("patient_name", person, page, start, end, confidence)
    for page, found in scan.find(_NARRATIVE_PATIENT):
        person = parse_person(found.group("name"))
        if person:
            return scan.field("patient_name", person, page, found.start("name"), found.end("name"), 0.7)
    return None


def _name_in_wrapped_cell(scan: Scan, page: ScanPage, label_end: int,
                          value_start: int) -> tuple[dict[str, str] | None, int, int]:
    """A name in a grid's cell that OCR read as lines around its label: the label wrapped with its hint and
    the name on the line after ("Patient Name (Last,⏎McAllister, Wendell DOB: ...⏎First):"), or the name
    wrapped at its comma around a label standing alone ("McAllister,⏎Name: DOB: 09/03/1940⏎Carmen"). Blank
    lines OCR put between a cell's lines are passed over."""
    text = page.folded
    line_start, line_end = text.rfind("\n", 0, label_end) + 1, _line_end(text, label_end)
    below_start = _skip_blank_lines(text, line_end)
    if below_start < len(text) and _HINT_ONLY.match(text, label_end, line_end):
        start, end = scan.segment(page, below_start, name=True)
        return parse_person(text[start:end]), start, end
    _, value_end = scan.segment(page, value_start)
    above_end = len(text[:line_start].rstrip())
    if value_end > value_start or above_end == 0:  # the label has a value of its own: no wrapped cell
        return None, 0, 0
    above = _FAMILY_ALONE.search(text, text.rfind("\n", 0, above_end) + 1, above_end)
    below = _GIVEN_FIRST.match(text, below_start, _line_end(text, below_start))
    if above and below:
        return parse_person(f"{above.group(1)}, {below.group(1)}"), above.start(1), below.end(1)
    return None, 0, 0


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end < 0 else end


def _skip_blank_lines(text: str, line_end: int) -> int:
    """Where the first line with words on it after the line ending at ``line_end`` starts."""
    following = _NEXT_LINE_WITH_WORDS.search(text, line_end)
    return following.end() if following else len(text)


def birth_date(scan: Scan) -> ExtractedField | None:
    hit = labelled_date(scan, _BIRTH_LABELS, birth=True)
    return scan.from_hit("birth_date", hit) if hit else None


def labelled_date(scan: Scan, labels: str, *, birth: bool = False, exclude_before: str | None = None,
                  confidence: float = 0.95) -> Hit | None:
    """The first date written right after one of ``labels`` (same line or the next); nothing but the
    label's separator or hint may stand between them."""
    for page, label, _value in scan.labelled(labels, "", exclude_before=exclude_before):
        window_end = _end_of_next_line(page.folded, label.end())
        for found in find_dates(page.folded, birth=birth, start=label.end(), end=window_end):
            gap = page.folded[label.end():found.start].lstrip(" .:#=-")
            if len(gap) <= 30 and ":" not in gap and not re.search(r"[A-Za-z]{3,}", gap):
                return Hit(found.iso, page.number, found.start, found.end, confidence)
            break
    return None


def _end_of_next_line(text: str, start: int) -> int:
    first = text.find("\n", start)
    if first < 0:
        return len(text)
    if not text[start:first].strip():
        second = text.find("\n", first + 1)
        return len(text) if second < 0 else second
    return first


def sex(scan: Scan) -> ExtractedField | None:
    for page, _label, value in scan.labelled(_SEX_LABELS, _SEX_VALUE):
        return scan.field("sex", _sex_word(value.group(1)), page, value.start(1), value.end(1), 0.95)
    for page, found in scan.find(_AGE_SEX):
        return scan.field("sex", _sex_word(found.group(1)), page, found.start(1), found.end(1), 0.8)
    return None


def _sex_word(word: str) -> str:
    return "female" if word.lower() in ("female", "f", "woman", "lady") else "male"


def mrn(scan: Scan) -> ExtractedField | None:
    for page, _label, value in scan.labelled(_MRN_LABELS, _SPLIT_PREFIX):  # "MR 4800306": OCR split the prefix off
        return scan.field("mrn", value.group(1) + value.group(2), page, value.start(), value.end(), 0.9)
    for page, _label, value in scan.labelled(_MRN_LABELS, _IDENTIFIER):
        return scan.field("mrn", value.group().strip("-"), page, value.start(), value.end(), 0.95)
    return None


def mbi(scan: Scan) -> ExtractedField | None:
    """A labelled MBI first, else any token of the MBI's exact format; OCR's letters in digit positions
    (O for 0, l for 1, S for 5) are read as digits, and a digit in a letter position as the one letter it
    can be (7 for T), because the format pins those positions."""
    labelled = [(page, value) for page, _label, value in scan.labelled(_MBI_LABELS, _MBI_SHAPE)]
    labelled += [(page, value) for page, _label, value in scan.labelled(_MBI_LABELS, _MBI_SPACED)]
    anywhere = list(scan.find(_MBI_SHAPE))
    for candidates, confidence in ((labelled, 0.97), (anywhere, 0.85)):
        for page, found in candidates:
            value = read_mbi(found.group())
            if value:
                return scan.field("mbi", value, page, found.start(), found.end(), confidence)
    for page, _label, found in scan.labelled(_MBI_LABELS, _MBI_ONE_EXTRA):
        value = read_mbi_with_extra(found.group())
        if value:
            return scan.field("mbi", value, page, found.start(), found.end(), 0.8)
    for page, found in labelled:  # labelled but malformed: what the form says, for the rules to reject
        return scan.field("mbi", re.sub(r"[- ]", "", found.group()).upper(), page, found.start(), found.end(), 0.5)
    return None


def read_mbi(text: str) -> str | None:
    """The MBI ``text`` spells (separators dropped, digit positions de-OCRed), or None if not one."""
    characters = list(re.sub(r"[- ]", "", text).upper())
    if len(characters) != 11:
        return None
    for position in _MBI_DIGIT_POSITIONS:
        characters[position] = fold_digits(characters[position])
    for position in _MBI_EITHER_POSITIONS:
        if characters[position] in _MBI_EXCLUDED_LETTERS:
            characters[position] = fold_digits(characters[position])
    for position in _MBI_LETTER_POSITIONS:
        characters[position] = characters[position].translate(_MBI_DIGIT_LETTERS)
    candidate = "".join(characters)
    return candidate if valid_mbi(candidate) else None


def read_mbi_with_extra(text: str) -> str | None:
    """The MBI a 12-character reading spells when OCR doubled a character ("FMO0" for "FM0") or put a speck
    among them ("8JDOTKSPM8&7"): of the valid MBIs that dropping one character gives, the one that needs the
    fewest misreadings — a glyph read for another, a character that is not one of a doubled pair dropped —
    or None when none or several tie."""
    characters = re.sub(r"[- ]", "", text).upper()
    if len(characters) != 12:
        return None
    read_as = fold_digits(characters)
    misreadings: dict[str, int] = {}
    for i in range(12):
        kept = characters[:i] + characters[i + 1:]
        reading = read_mbi(kept)
        if reading:
            doubled = read_as[i] in read_as[i - 1:i] + read_as[i + 1:i + 2]
            count = sum(a != b for a, b in zip(kept, reading, strict=True)) + (0 if doubled else 1)
            misreadings[reading] = min(count, misreadings.get(reading, count))
    fewest = sorted(misreadings, key=misreadings.__getitem__)
    if not fewest or (len(fewest) > 1 and misreadings[fewest[0]] == misreadings[fewest[1]]):
        return None
    return fewest[0]


def payer(scan: Scan) -> ExtractedField | None:
    for labels, value_check, exclude in ((_PAYER_LABELS, _PAYER_TEXT, r"\b(?:secondary|tertiary)\W*$"),
                                         (phrases("plan"), _PAYER_WORDS, r"\b(?:assessment|treatment|care|and|&)\b")):
        for page, label, value in scan.labelled(labels + r"(?:[ ]*[:#-]|(?=[ ]+is\b))", _ANY, exclude_before=exclude):
            start, end = scan.segment(page, value.start(), sentence=True)
            if "\n" in page.folded[label.start():start]:  # a form's cell: the name may wrap onto one more line
                end = scan.wrapped_end(page, end)
            elif re.search(r"\b(?:is|was)\s+$", label.group(), re.IGNORECASE):  # prose wraps a sentence on
                end = scan.sentence_end(page, end)
            elif scan.fills_line(page, end):  # the value ran into the margin: its rest is on the next line
                end = scan.wrapped_end(page, end)
            name = " ".join(page.folded[start:end].split())
            if value_check.search(name) and not _NOT_PAYER.search(name):
                return scan.field("payer", name, page, start, end, 0.9)
    for page, found in scan.find(_KNOWN_PAYERS):
        if not _IDENTIFIER_AFTER.match(page.folded, found.end()):  # "Medicare #: ..." names an identifier
            return scan.field("payer", found.group(), page, found.start(), found.end(), 0.7)
    return None


def member_id(scan: Scan) -> ExtractedField | None:
    for page, _label, value in scan.labelled(_MEMBER_LABELS, _IDENTIFIER,
                                             exclude_before=r"\b(?:secondary|tertiary|group)\W*$"):
        return scan.field("member_id", value.group().strip("-"), page, value.start(), value.end(), 0.9)
    return None

