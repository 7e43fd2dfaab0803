"""People's names as forms write them — "SMITH, JOHN A", "John A. Smith", "Dr. Jane Doe, MD", "Doe, Jane
DO" — read into ``{"family", "given"}``: titles, credentials, suffixes and middle initials dropped, names
written in capitals given their usual case."""

from __future__ import annotations

import re

_TITLES = {"mr", "mrs", "ms", "miss", "dr", "doctor", "prof"}
_CREDENTIALS = {"md", "do", "np", "pa", "pa-c", "fnp", "fnp-c", "fnp-bc", "dnp", "rn", "aprn", "crnp", "anp", "acnp",
                "facp", "fccp", "faasm", "phd", "mph", "dds", "dpm", "mbbs", "rpsgt", "pac", "agpcnp-bc", "cnp", "ms"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
_NOT_NAMES = {"the", "and", "was", "is", "with", "for", "to", "of", "on", "at", "by", "in", "signature", "signed",
              "date", "name", "patient", "physician", "provider", "unknown", "none", "n/a", "na", "npi", "dob",
              "male", "female", "street", "st", "ave", "road", "rd", "suite", "clinic", "center", "medical",
              "hospital", "group", "practice", "health", "associates", "sleep", "pulmonary", "presented",
              "seen", "year", "old", "order", "equipment", "mrn", "phone", "fax", "address", "yes", "no",
              "prescription", "dme", "report", "study", "test", "testing", "oximetry", "nocturnal", "overnight",
              "results", "summary", "note", "visit", "evaluation", "letter", "request", "referral", "cpap", "bipap",
              "oxygen", "durable", "certificate", "necessity", "written", "detailed", "standard", "form", "apnea",
              "information", "demographics", "sheet", "face", "progress", "office", "discharge", "encounter",
              "therapy", "pap", "walk", "minute", "arterial", "blood", "gas", "polysomnography", "home",
              "respiratory", "data", "interpretation", "findings", "who", "whom", "it", "may", "dear", "supplier",
              "practitioner", "treating", "ordering", "prescribing", "referring", "attending", "interpreting",
              "prescriber", "clinician", "doctor", "individual", "organization", "facility", "billing", "ordered",
              "referred", "interpreted", "electronically", "digitally", "reviewed", "dictated", "approved",
              # words of document titles, which a letter's "RE:" line names instead of a patient
              "diagnostic", "polysomnogram", "hsat", "hst", "psg", "attended", "unattended", "in-lab", "analysis",
              "qualifying", "qualification", "resting", "pulse", "ambulatory", "exercise", "six-minute",
              "amended", "revised", "corrected", "consultation", "consult", "medicine", "follow-up", "new",
              "clinical", "continuity", "care", "after", "registration", "profile", "admission", "saturation",
              "titration", "split-night", "type", "record", "records", "documentation", "notes", "attached",
              # words of the labels beside a name, which a scrambled grid may put where the name should be
              "sex", "gender", "birth", "birthdate", "age"}
_PARTICLES = {"van", "von", "de", "del", "della", "da", "di", "la", "le", "du", "st", "bin", "al", "ten", "ter"}
_SPECKS = "'\"`,:;|_-\u00b0~*/\\"  # what OCR leaves at a word's edges: stray quotes, specks, rule fragments
# A name printed in capitals, as OCR may read it: a lower-case l for an I ("MEl"), digits for letters ("J0HN").
_DIGIT_LETTERS = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "|": "I"})
_TOKEN = re.compile(r"^[A-Za-z][A-Za-z'\-]*$")


def parse_person(text: str) -> dict[str, str] | None:
    """``{"family", "given"}`` from a written name, or None when ``text`` does not look like one."""
    text = re.sub(r"\([^)]*\)", " ", text).strip(" ,.;:-_")
    # a middle initial OCR glued to the given name with a speck ("Nadia'A. Underwood"): the initial apart again
    text = re.sub(r"\b([A-Za-z]{2,})['`]([A-Z])\.(?=\s)", r"\1 \2.", text)
    text = re.sub(r"^\d[\W\d]*(?=[A-Za-z])", "", text)  # a row's number or a speck OCR read as one ("3 McAllister")
    # "ESPINOZA. AISHA": a full stop after a whole first word (not an initial or a title) is OCR's comma
    text = re.sub(r"^([A-Za-z'\-]{3,})\.(?=\s+[A-Z])", lambda found: found.group(1) + ("." if found.group(1).lower()
                  in _TITLES else ","), text)
    if re.search(r"^\S+\s+[A-Za-z]\.?,", text):  # "Vernon E, Kowalczyk": OCR's comma for an initial's full stop
        text = re.sub(r"^(\S+\s+[A-Za-z])\.?,", r"\1.", text)
    if "," in text:
        family_part, _, given_part = text.partition(",")
        given_tokens = _name_tokens(given_part)
        family_tokens = _name_tokens(family_part)
        if given_tokens and family_tokens and len(family_tokens) <= 3:
            return _person(" ".join(family_tokens), given_tokens[0])
        text = text.replace(",", " ")  # "Jane Doe, MD" or "Jane Doe, Jr": the comma closed the name
    tokens = _name_tokens(text)
    if len(tokens) < 2 or len(tokens) > 4:
        return None
    family_start = next((i for i in range(1, len(tokens) - 1) if tokens[i].lower() in _PARTICLES), len(tokens) - 1)
    return _person(" ".join(tokens[family_start:]), tokens[0])


def _name_tokens(text: str) -> list[str]:
    tokens = []
    for raw in text.replace(",", " ").split():
        raw = raw.strip(_SPECKS)
        token = raw.replace(".", "") if raw.replace(".", "").lower() in _CREDENTIALS else _ocr_repaired(raw.strip("."))
        if not token:
            continue
        lowered = token.lower().replace(".", "")
        if lowered in _TITLES or lowered in _CREDENTIALS or lowered in _SUFFIXES or len(token) == 1:
            continue
        if not _TOKEN.match(token) or lowered in _NOT_NAMES:
            return tokens  # the name ended: what follows is the form's next words ("Jane Doe, MD Individual NPI")
        tokens.append(token)
    return tokens


def _ocr_repaired(token: str) -> str:
    """``token`` with OCR's look-alikes read back as letters when the rest of it is plainly a name: digits
    amid letters ("J0HN"), and a lower-case l amid capitals ("MEl", "WlLLIAM")."""
    letters = sum(char.isalpha() for char in token)
    if letters >= 2 and any(char in "0158|" for char in token) and letters >= len(token) - 2:
        token = token.translate(_DIGIT_LETTERS)
    if "l" in token and len(token) >= 3 and token.replace("l", "").isupper():
        token = token.replace("l", "I")
    return token


def _person(family: str, given: str) -> dict[str, str]:
    return {"family": _usual_case(family), "given": _usual_case(given)}


def _usual_case(name: str) -> str:
    """Capitals (or all lower case) to "Title Case"; a name written in mixed case is kept as written."""
    if name.isupper() or name.islower():
        return "-".join(part.capitalize() if "'" not in part else part.title() for part in name.split("-"))
    return name
