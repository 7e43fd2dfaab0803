"""What an order says: its date, the items (HCPCS code, quantity, settings), the prescriber and their
NPI, and whether it is signed."""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz.distance import Levenshtein

from osler.dme.model import ExtractedField
from osler.dme.understand.identity import labelled_date
from osler.dme.understand.normalize import fold_digits
from osler.dme.understand.people import parse_person
from osler.dme.understand.scan import Scan, ScanPage, checkbox, choose, phrases, words
from osler.dme.understand.validators import valid_npi
from osler.dme.understand.vocabulary import DEVICE_WORDS, HCPCS

_DEVICE_PATTERNS = tuple((re.compile(pattern, re.IGNORECASE), code) for pattern, code in DEVICE_WORDS)
_ORDER_DATE_LABELS = phrases("order date", "date of order", "date ordered", "ordered on", "ordered date", "order dt",
                             "date written", "written date", "prescription date", "rx date", "date of prescription",
                             "initial order date", "date of rx", "order signed date", "dwo date", "swo date",
                             "date order written", "original order date", "revised order date", "amended order date")
_SIGNATURE_DATE = re.compile(r"signature[^\n]{0,60}?\bdate\b|signed\s+(?:on|date)|date\s+signed", re.IGNORECASE)
_OTHER_DATES = r"birth|dob|study|test|visit|service|admi|discharge|print|fax|received|sent|collect|report|effective"

# A code: a letter and four digits, OCR's letter-for-digit swaps allowed in the digit positions.
# OCR reads an E as £, € or B, a 0 as a D or Q, a 1 as a bar or "!" ("EQ60!", "BO562")
_HCPCS = re.compile(r"(?<![A-Za-z0-9])([AEKB£€])[ ]?([0-9OoIlSBDQ]{3}[0-9OoIlSBDQ|!\]])(?![A-Za-z0-9])")
# (a labelled quantity may be a digit OCR read as its look-alike letter: "quantity Z." for 2, "Qty: l" for 1)
_E_LOOKALIKES = str.maketrans({"£": "E", "€": "E", "B": "E"})  # no B code is DME equipment or supplies
_QUANTITY = re.compile(r"(?:\b(?:qty|quantity|units?)|#|\bx)[\s:.=\-'\"]{0,4}(\d{1,3}|(?-i:[ZSIl|!]))(?![\w|!])"
                       r"|\b(\d{1,3})\s*(?:each|ea|units?)\b", re.IGNORECASE)
# A table row's quantity: the first number standing alone after the code ("A7038 Filter, disposable 2",
# "E0601 CPAP device 1 Pressure: 7 cmH2O"), not a setting with its unit, not a decimal, not a number with a
# leading zero (no quantity is written so; "Portable 02 system" is OCR's O2).
_ROW_NUMBER = re.compile(r"(?<![\w.])(?!0\d)(\d{1,2})(?![\w.%/-])"
                         r"(?!\s*(?:[c¢]m|l\b|lpm|liters?|mm|hours?|h\b|months?))", re.IGNORECASE)
# (or the end of a range, "auto-titrating range 4 to 12 cm H2O", its unit OCR's "¢m")
_SETTING_BEFORE = re.compile(r"(?:[ie]pap|pressure|min|max|@|\bat|flow|rate|ahi|rdi|\d\s+to)\W*$", re.IGNORECASE)
_RANGE_AFTER = re.compile(r"\s*(?:/|-|to)\s*\d", re.IGNORECASE)
_ITEM_WINDOW = 160
_WRAPPED_ROW_LINES = 2
_NUMBER = r"(\d{1,2}(?:\.\d)?)"
_CM = r"\s*(?:[ce¢]m\s*(?:of\s*)?(?:h\s*[2z]\s*[o0]|water)?|cwp)?"  # OCR reads the c of cm as an e or a ¢
_BILEVEL = re.compile(rf"\bipap\b[^\d]{{0,12}}{_NUMBER}{_CM}[^\d]{{0,15}}\bepap\b[^\d]{{0,12}}{_NUMBER}"
                      rf"|\b(?:bi-?level|bipap|bpap)\b[^\n\d]{{0,20}}{_NUMBER}\s*/\s*{_NUMBER}", re.IGNORECASE)
_RANGE = re.compile(rf"\b(?:auto|apap|autopap|auto-?cpap|auto-?titrat\w*|range|pressure\s+range)\b[^\d]{{0,30}}"
                    rf"{_NUMBER}{_CM}[\s'\",.]*(?:-|to)[\s'\"]*{_NUMBER}"
                    rf"|\bmin(?:imum)?\.?\s*(?:pressure)?\s*(?:of|:|=|@)?\s*{_NUMBER}{_CM}[,;/ ]*(?:and\s+)?"
                    rf"max(?:imum)?\.?\s*(?:pressure)?\s*(?:of|:|=|@)?\s*{_NUMBER}", re.IGNORECASE)
_FIXED = re.compile(rf"\b(?:c?pap|pressure|setting)\b(?:\s*(?:setting|level|pressure))?\s*"
                    rf"(?:of|at|@|=|:|set\s+(?:at|to)|is)?\s*{_NUMBER}{_CM}(?!\s*(?:-|to)\s*\d)"
                    rf"|{_NUMBER}\s*(?:cm\s*(?:of\s*)?(?:h\s*[2z]\s*[o0]|water)|cwp)", re.IGNORECASE)
_PRESSURE_LIMITS = (3.0, 30.0)
_PILLOW = r"p[il1|t]{1,2}l?lows?"  # "pillow" as OCR may read its i and l's ("ptllow", "pi1low")
_MASKS = {"nasal-pillows": words(rf"nasal\s+{_PILLOW}", rf"{_PILLOW}(?:\s+mask)?", rf"{_PILLOW}\s+interface"),
          "full-face": words(r"full[\s-]*face(?:\s+mask)?", r"oro-?nasal(?:\s+mask)?", "FFM", r"total\s+face"),
          "nasal": words(r"nasal\s+(?:mask|cushion|interface)", r"nasal(?=\s*(?:\]|\)|$))")}
_HUMIDIFIER_NO = re.compile(r"\b(?:no|without|w/o|decline[sd]?)\s+(?:heated\s+)?humidif\w*|humidif\w*\s*[:\-]?\s*"
                            r"(?:no|none|n|not\s+needed|declined)\b", re.IGNORECASE)
_HUMIDIFIER = words(r"heated\s+humidifier", r"humidifier", r"humidification", r"E0562", r"E0561")
_OXYGEN_FLOW = re.compile(r"(\d{1,2}(?:\.\d{1,2})?|0?\.\d{1,2})\s*(?:-\s*\d{1,2}\s*)?(?:l/min|lpm|l\s*pm|l\s*per\s*min"
                          r"\w*|liters?\s*(?:per|/)\s*min\w*|l(?=\s*(?:via|nc|by|o2|oxygen|nasal|continuous|\b)))",
                          re.IGNORECASE)
_OXYGEN_USE = {"continuous": words("continuous(?:ly)?", r"24/7", r"24\s+hours(?:\s+a\s+day|\s*/\s*day)?",
                                   r"at\s+all\s+times", r"around\s+the\s+clock"),
               "nocturnal": words("nocturnal(?:ly)?", r"at\s+night", "nightly", r"during\s+sleep", r"with\s+sleep",
                                  "qhs", r"sleep\s+only", r"at\s+bedtime", r"night\s*time"),
               "exertional": words(r"exertion(?:al)?", r"with\s+(?:activity|exercise|ambulation)", "ambulatory",
                                   r"during\s+(?:activity|exercise|ambulation)", r"on\s+exertion")}
_USE_LABEL = phrases("use", "usage", "frequency", "oxygen use", "o2 use", "duration", "how used", "when used",
                     "delivery", "mode of use")

_PRESCRIBER_LABELS = (
    (phrases("ordering physician", "ordering provider", "ordering practitioner", "ordering clinician", "ordering md",
             "prescribing physician", "prescribing provider", "prescribing practitioner", "prescriber",
             "referring physician", "referring provider", "ordered by", "treating physician", "treating practitioner",
             "physician name", "provider name", "practitioner name", "prescriber name", "ordering physician name",
             "physician (printed name)", "printed name", "attending physician", "attending", "referred by",
             "referral from", "requested by", "requesting physician", "requesting provider"), 0.95),
    (phrases("physician", "provider", "practitioner", "doctor", "md", "clinician", "signed by",
             "electronically signed by", "rendering provider") + r"[ ]*[:#-]?", 0.8),
)
_PRESCRIBER_CONTEXT_LINES = (0, 1)  # a bare "Physician:" may be the second line of "Interpreting\nphysician:"
_NOT_PRESCRIBER_CONTEXT = r"supplier|practice|group|facility|patient|interpret|technolog|scor|pharmac|company"
# ten digits, OCR's look-alikes among them ("277495289]": a 1 read as a bracket)
_NPI = re.compile(r"(?<![A-Za-z0-9])([0-9OoIlSB|\]!]{10})(?![A-Za-z0-9])")
# Lines above an NPI searched for its owner: a form's cell may wrap "Interpreting⏎physician:⏎Name⏎MD, NPI …"
_NPI_OWNER_LINES = 3
# "NPIL:", and OCR's "NP!", "NP]", "NP1" or "NPl" for the I
_NPI_LABEL = re.compile(r"(?<![A-Za-z])NP[I1l|!\]][lI1|]?(?![A-Za-z])|national\s+provider", re.IGNORECASE)
_PERSON_CONTEXT = re.compile(r"ordering|ordered|prescrib|referr|physician|provider|practitioner|doctor|treating|"
                             r"attending|signature|signed|individual|type\s*1", re.IGNORECASE)
_PRESCRIBER_WORDS = re.compile(r"ordering|ordered|prescrib|referr|treating|attending|signature|signed",
                               re.IGNORECASE)
_NOT_THE_ORDERING_PHYSICIAN = re.compile(r"interpret|read\s+by|reading|technolog|scored\s+by|\bcc\b", re.IGNORECASE)
_ORGANISATION_CONTEXT = re.compile(r"practice|group|clinic|facility|organi[sz]ation|billing|hospital|center|centre|"
                                   r"supplier|company|agency|pharmacy|\bDME\b|vendor|type\s*2|\borg\b|\bLLC\b|"
                                   r"\bInc\b|associates", re.IGNORECASE)

_SIGNED = re.compile(r"electronically\s+(?:signed|authenticated|approved)|e-?signed|digitally\s+signed|signed\s+"
                     r"electronically|authenticated\s+by|/s/\s*[A-Za-z]|\bsigned\s+by\s*:?\s*[A-Za-z]", re.IGNORECASE)
_SIGNATURE_LABEL = re.compile(r"\b(?:signature|signed|sign)\b[^\n:;]{0,30}[:;][ ]*", re.IGNORECASE)  # ";": OCR's colon
_NOT_PRESCRIBER_SIGNATURE = re.compile(r"patient|beneficiary|caregiver|witness|supplier|representative|guardian|"
                                       r"technician|technologist|delivery|received", re.IGNORECASE)
_UNSIGNED = re.compile(r"\bunsigned\b|not\s+(?:been\s+)?signed|awaiting\s+signature|pending\s+signature|"
                       r"signature\s+(?:required|pending|missing)", re.IGNORECASE)


def order_date(scan: Scan) -> ExtractedField | None:
    hit = labelled_date(scan, _ORDER_DATE_LABELS)
    if hit is None:  # an order's date is its signature date when it prints no other
        hit = labelled_date(scan, r"(?:date|dated)", exclude_before=_OTHER_DATES, confidence=0.75)
    return scan.from_hit("order_date", hit) if hit else None


def items(scan: Scan) -> ExtractedField | None:
    """The ordered items: every HCPCS code printed (in order), or the device named in words when no code is;
    the PAP or oxygen item carries the settings the order states."""
    found: dict[str, dict[str, Any]] = {}
    first: tuple[ScanPage, int, int] | None = None
    for page, match in scan.find(_HCPCS):
        code = match.group(1).upper().translate(_E_LOOKALIKES) + fold_digits(match.group(2))
        if code not in HCPCS:
            code = _misread_device_code(page, match, code) or code
        if code in HCPCS and code not in found:
            found[code] = {"hcpcs": code, "quantity": _quantity(page, match.end()), "settings": {}}
            first = first or (page, match.start(), match.end())
    confidence = 0.95
    if not found:
        inferred = _device_in_words(scan)
        if inferred is None:
            return None
        code, page, match = inferred
        found[code] = {"hcpcs": code, "quantity": 1, "settings": {}}
        first, confidence = (page, match.start(), match.end()), 0.75
    _attach_settings(scan, list(found.values()))
    page, start, end = first
    return scan.field("items", list(found.values()), page, start, end, confidence)


def _misread_device_code(page: ScanPage, match: re.Match[str], code: str) -> str | None:
    """The device code a code no table knows stands for when OCR misread one digit of it ("E0801") and its
    row names the device in words ("Continuous positive airway pressure (CPAP) device")."""
    row_end = page.folded.find("\n", page.folded.find("\n", match.end()) + 1)  # the row may wrap once
    row = page.folded[match.end():len(page.folded) if row_end < 0 else row_end]
    for pattern, device in _DEVICE_PATTERNS:
        if pattern.search(row) and device[0] == code[0] and Levenshtein.distance(device, code) == 1:
            return device
    return None


def _quantity(page: ScanPage, after: int) -> int:
    """The quantity written for the item whose code ends at ``after``: on the code's own line (up to the next
    code) a "qty" / "quantity", else the number standing alone in its table row; else a "qty" on the lines a
    wrapped row runs on to (at most ``_WRAPPED_ROW_LINES``, never past the next code); 1 when none is
    written."""
    text = page.folded
    line_end = text.find("\n", after)
    line_end = len(text) if line_end < 0 else line_end
    next_code = _HCPCS.search(text, after, after + _ITEM_WINDOW)
    if next_code:  # prose lists items on one line: the next item's quantity is not this one's
        line_end = min(line_end, next_code.start())
    wrapped_end = line_end
    for _ in range(_WRAPPED_ROW_LINES):
        following = text.find("\n", wrapped_end + 1)
        wrapped_end = len(text) if following < 0 else following
    wrapped_end = min(wrapped_end, next_code.start() if next_code else after + _ITEM_WINDOW)
    labelled = _QUANTITY.search(text, after, max(line_end, wrapped_end))
    found = ((labelled if labelled and labelled.start() < line_end else None)  # "quantity⏎2": prose wrapped
             or next((number for number in _ROW_NUMBER.finditer(text, after, line_end)
                      if not _SETTING_BEFORE.search(text, max(after, number.start() - 12), number.start())
                      and not _RANGE_AFTER.match(text, number.end())), None)
             or labelled)
    if found:
        number = int(fold_digits(next(group for group in found.groups() if group)))
        if 0 < number < 100:
            return number
    return 1


def _device_in_words(scan: Scan) -> tuple[str, ScanPage, re.Match[str]] | None:
    for pattern, code in _DEVICE_PATTERNS:
        for page, match in scan.find(pattern):
            return code, page, match
    return None


def _attach_settings(scan: Scan, ordered: list[dict[str, Any]]) -> None:
    kinds = {item["hcpcs"]: HCPCS[item["hcpcs"]][0] for item in ordered}
    pap = next((item for item in ordered if kinds[item["hcpcs"]] == "pap"), None)
    oxygen = next((item for item in ordered if kinds[item["hcpcs"]] == "oxygen"), None)
    if pap is not None:
        pap["settings"] = pap_settings(scan, has_humidifier_code="E0562" in kinds or "E0561" in kinds)
    if oxygen is not None:
        oxygen["settings"] = oxygen_settings(scan)


def pap_settings(scan: Scan, *, has_humidifier_code: bool = False) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    settings.update(_pressures(scan))
    mask = choose(scan, _MASKS)
    if mask:
        settings["mask"] = mask[0]
    humidifier = _humidifier(scan, has_humidifier_code)
    if humidifier is not None:
        settings["humidifier"] = humidifier
    return settings


def _pressures(scan: Scan) -> dict[str, float]:
    for _page, match in scan.find(_BILEVEL):
        ipap, epap = (float(value) for value in match.groups() if value)
        if _plausible(ipap, epap) and ipap > epap:
            return {"ipap": _number(ipap), "epap": _number(epap)}
    for _page, match in scan.find(_RANGE):
        low, high = (float(value) for value in match.groups() if value)
        if _plausible(low, high) and low < high:
            return {"pressure_min": _number(low), "pressure_max": _number(high)}
    for page, match in scan.find(_FIXED):
        value = float(next(group for group in match.groups() if group))
        if _plausible(value) and not _in_study_context(page, match.start()):
            return {"pressure": _number(value)}
    return {}


def _in_study_context(page: ScanPage, position: int) -> bool:
    """A pressure on a line about a titration or an earlier device is not the ordered setting."""
    line = page.folded[page.folded.rfind("\n", 0, position) + 1:position].lower()
    return any(word in line for word in ("titration", "previous", "prior", "old ", "leak"))


def _plausible(*pressures: float) -> bool:
    return all(_PRESSURE_LIMITS[0] <= pressure <= _PRESSURE_LIMITS[1] for pressure in pressures)


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _humidifier(scan: Scan, has_code: bool) -> bool | None:
    for _page, _match in scan.find(_HUMIDIFIER_NO):
        return False
    for page, match in scan.find(_HUMIDIFIER):
        state = checkbox(page.folded, match.start())
        if state is not None:
            return state
        return True
    return True if has_code else None


def oxygen_settings(scan: Scan) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for _page, match in scan.find(_OXYGEN_FLOW):
        flow = float(match.group(1))
        if 0.1 <= flow <= 15:
            settings["oxygen_lpm"] = _number(flow)
            break
    for page, _label, value in scan.labelled(_USE_LABEL, r"[^\n]{1,80}"):
        chosen = choose(scan, _OXYGEN_USE, within=(page, value.start(), value.end()))
        if chosen:
            settings["oxygen_use"] = chosen[0]
            return settings
    chosen = choose(scan, _OXYGEN_USE)
    if chosen:
        settings["oxygen_use"] = chosen[0]
    return settings


def prescriber_name(scan: Scan) -> ExtractedField | None:
    for (labels, confidence), context_lines in zip(_PRESCRIBER_LABELS, _PRESCRIBER_CONTEXT_LINES, strict=True):
        for page, label, value in scan.labelled(labels, r"[^\n]", exclude_before=_NOT_PRESCRIBER_CONTEXT,
                                                context_lines=context_lines):
            start, end = _name_span(scan, page, value.start())
            person = parse_person(page.folded[start:end])
            if person is None:  # the name may go on where a form's cell or the line wrapped
                start, end = _name_span(scan, page, value.start(), wrapped_after=label.end())
                person = parse_person(page.folded[start:end])
            if person is None:  # or OCR read its comma as a full stop ("Farquhar. Kwame M.D.")
                start, end = _name_span(scan, page, value.start(), sentence_ends=False)
                person = parse_person(page.folded[start:end])
            if person:
                return scan.field("prescriber_name", person, page, start, end, confidence)
    return None


def _name_span(scan: Scan, page: ScanPage, start: int, *, wrapped_after: int | None = None,
               sentence_ends: bool = True) -> tuple[int, int]:
    """The span of a clinician's name written at ``start``: up to an NPI, a number or a parenthesis on its
    line ("Dr. Jane Doe NPI 123..."), and a sentence's end unless not ``sentence_ends``; with
    ``wrapped_after`` (its label's end), taking in the next line where the name wrapped."""
    start, end = scan.segment(page, start, name=sentence_ends)
    if wrapped_after is not None:
        end = scan.wrapped_name_end(page, wrapped_after, start, end)
    cut = re.search(r"\bNPI\b|\d|\(", page.folded[start:end])
    if cut:
        end = start + cut.start()
        while end > start and page.folded[end - 1] in " ,.-#:":
            end -= 1
    return start, end


def prescriber_npi(scan: Scan) -> ExtractedField | None:
    """The NPI labelled as an individual's (ordering/prescribing physician) in preference to a practice's,
    a supplier's or an interpreting physician's: whichever kind of word stands nearest before the number
    decides. A number failing the check digit is still what the order says (the rules report it), but a
    valid one wins and the invalid one comes with a low confidence."""
    best: tuple[int, bool, ScanPage, re.Match[str], str] | None = None
    for page, match in scan.find(_NPI):
        number = fold_digits(match.group(1))
        context = page.folded[_previous_line_start(page.folded, match.start(), _NPI_OWNER_LINES):match.start()]
        if not _NPI_LABEL.search(context):
            continue
        candidate = (_npi_owner_score(context), valid_npi(number), page, match, number)
        if candidate[0] > 0 and (best is None or candidate[:2] > best[:2]):
            best = candidate
    if best is None:
        return None
    score, valid, page, match, number = best
    confidence = (0.97 if score == 2 else 0.85) if valid else 0.5
    return scan.field("prescriber_npi", number, page, match.start(1), match.end(1), confidence)


def _previous_line_start(text: str, position: int, lines: int = 2) -> int:
    """Where the text ``lines`` lines above ``position``'s line starts (the NPI's label and its owner's)."""
    start = text.rfind("\n", 0, position)
    for _ in range(lines):
        if start <= 0:
            return 0
        start = text.rfind("\n", 0, start)
    return start + 1


def _npi_owner_score(context: str) -> int:
    """2 when the nearest owner word before the NPI names a person, 0 for an organisation or for a physician
    who reads studies rather than orders equipment, 1 when unclear."""
    reader = max((found.end() for found in _NOT_THE_ORDERING_PHYSICIAN.finditer(context)), default=-1)
    if reader > max((found.end() for found in _PRESCRIBER_WORDS.finditer(context)), default=-1):
        return 0
    person = max((found.end() for found in _PERSON_CONTEXT.finditer(context)), default=-1)
    organisation = max((found.end() for found in _ORGANISATION_CONTEXT.finditer(context)), default=-1)
    if person == organisation:
        return 1
    return 2 if person > organisation else 0


def signature_present(scan: Scan) -> ExtractedField:
    """True with the signing words quoted; False quoting an empty signature line or an "unsigned" note;
    False without provenance when the document has no signature evidence at all."""
    for page, match in scan.find(_SIGNED):
        if not _NOT_PRESCRIBER_SIGNATURE.search(_line_before(page, match.start())):
            return scan.field("signature_present", True, page, match.start(), match.end(), 0.95)
    empty: tuple[ScanPage, int, int] | None = None
    for page, label in scan.find(_SIGNATURE_LABEL):
        if _NOT_PRESCRIBER_SIGNATURE.search(_line_before(page, label.end())):
            continue
        start, end = scan.segment(page, label.end())
        written = re.sub(r"[_\s.\-]|\bdate\b", "", page.folded[start:end], flags=re.IGNORECASE)
        if re.search(r"[A-Za-z]{2,}", written) and not re.search(r"on\s*file|required|here", written, re.IGNORECASE):
            return scan.field("signature_present", True, page, label.start(), end, 0.85)
        empty = empty or (page, label.start(), label.end())
    for page, match in scan.find(_UNSIGNED):
        return scan.field("signature_present", False, page, match.start(), match.end(), 0.9)
    if empty:
        page, start, end = empty
        return scan.field("signature_present", False, page, start, end, 0.85)
    return ExtractedField("signature_present", False, 0.6)


def _line_before(page: ScanPage, position: int) -> str:
    return page.folded[page.folded.rfind("\n", 0, position) + 1:position]
