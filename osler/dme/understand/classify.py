"""Which kind of document this is, by weighted evidence: each kind has phrases (titles, section headings,
the vocabulary of its body) with weights; a phrase in a page's first lines (its title area; a fax
machine's header line is no part of it) counts ``TITLE_FACTOR`` times when it stands on a heading line — a
short line (``HEADING_WORDS`` words at most), not a sentence of a short page's body ("Discussed results;
DME order sent to supplier." is what a progress note says, not what it is). The best-scoring kind wins when it
reaches ``MIN_SCORE`` and beats the non-DME evidence; otherwise the document is ``non_dme``. Confidence
grows with the margin over the runner-up."""

from __future__ import annotations

import re
import unicodedata

from osler.dme.model import Document, DocumentKind
from osler.dme.understand.events import FAX_HEADER
from osler.dme.understand.labels import TITLE_WORDS, repair_title_words
from osler.dme.understand.normalize import fold
from osler.dme.understand.scan import words

TITLE_LINES = 8
TITLE_FACTOR = 3.0
HEADING_WORDS = 6
TITLE_LINE_WORDS = 3
MIN_SCORE = 4.0
_SPECKS = re.compile(r"[\"'`\u201c\u201d\u2018\u2019\u00b0~*]")  # what OCR leaves between words, in no phrase
# A period, comma or colon between two words of a heading line ("RE: New Patient. Visit", "Progress: Note"): a
# title is no sentence
_HEADING_SPECK = re.compile(r"(?<=[A-Za-z])[.,:;](?= [A-Za-z])|(?<=[A-Za-z] )[.,:;](?=[A-Za-z])")  # "CLINICAL .SUMMARY"

# (weight, phrases) per kind; phrases are regex fragments (see ``scan.words``).
EVIDENCE: dict[DocumentKind, tuple[tuple[float, tuple[str, ...]], ...]] = {
    DocumentKind.DME_ORDER: (
        (5, (r"detailed\s+written\s+order", r"standard\s+written\s+order", r"certificate\s+of\s+medical\s+necessity",
             "DWO", "SWO", "CMN", r"DME\s+(?:order|prescription|rx)", r"durable\s+medical\s+equipment\s+(?:order|rx|"
             r"prescription)", r"(?:equipment|supply|supplies|device)\s+order", r"order\s+for\s+(?:durable|home|"
             r"cpap|bi-?level|oxygen|equipment|dme)", r"(?:cpap|pap|oxygen|bi-?level)\s+(?:order|prescription|rx)",
             r"prescription\s+for\s+(?:cpap|oxygen|equipment|dme|durable)", r"written\s+order\s+prior\s+to\s+delivery",
             r"WOPD", r"physician\s+order\s+form", r"home\s+oxygen\s+order", r"medical\s+equipment\s+order")),
        (2.5, (r"E0601", r"E047[01]", r"E1390", r"E1392", r"E0431", r"E0562", r"K0738", r"A70\d\d", r"HCPCS",
               r"length\s+of\s+need", r"(?:lifetime|99\s+months)", r"refills?", r"supplier", r"item\s+ordered",
               r"items?\s+(?:ordered|requested)", r"equipment\s+ordered", r"dispense", r"deliver(?:y)?\s+to")),
        (1, (r"qty", r"quantity", r"ordering\s+(?:physician|provider|practitioner)", r"prescrib\w+", r"NPI",
             r"mask", r"humidifier", r"cm\s*H2O", r"l/min", r"lpm", r"settings?")),
    ),
    DocumentKind.FACESHEET: (
        (6, (r"face\s*sheet", r"(?:patient\s+)?demographics", r"demographics?\s+(?:sheet|report|form)",
             r"admission\s+record", r"patient\s+data\s+sheet", r"registration\s+record",
             r"registration\s+(?:form|summary|sheet)", r"patient\s+information\s+(?:sheet|form)",
             r"patient\s+registration", r"admission\s+face\s*sheet", r"patient\s+profile")),
        (2, (r"emergency\s+contact", r"guarantor", r"subscriber", r"marital\s+status", r"employer", r"race",
             r"ethnicity", r"preferred\s+language", r"primary\s+(?:insurance|payer|payor|coverage)",
             r"secondary\s+(?:insurance|payer|payor|coverage)", r"primary\s+care\s+physician", r"patient\s+information",
             r"relationship\s+to\s+(?:patient|insured)", r"religion", r"home\s+phone")),
        (0.5, (r"address", r"phone", r"insurance", r"policy", r"member\s+id", r"group\s+(?:number|#)")),
    ),
    DocumentKind.OFFICE_NOTE: (
        (5, (r"progress\s+note", r"office\s+visit", r"clinic\s+(?:note|visit)", r"history\s+of\s+present\s+illness",
             r"face[\s-]to[\s-]face", r"consultation\s+(?:note|report)", r"sleep\s+(?:medicine\s+)?consult(?:ation)?",
             r"new\s+patient\s+(?:visit|evaluation)", r"follow[\s-]?up\s+visit", r"office\s+note",
             r"outpatient\s+(?:note|visit)", r"pulmonary\s+(?:consult(?:ation)?|clinic\s+note)", r"visit\s+note",
             r"evaluation\s+and\s+management", r"telehealth\s+visit", r"SOAP\s+note")),
        (2, ("HPI", r"chief\s+complaint", r"review\s+of\s+systems", "ROS", r"physical\s+exam(?:ination)?",
             r"assessment\s*(?:and|&|/)\s*plan", "subjective", "objective", r"past\s+medical\s+history", "PMH",
             r"epworth", r"mallampati", r"neck\s+circumference", r"social\s+history", r"medications?",
             r"allergies", r"vital\s+signs", "vitals", r"reason\s+for\s+visit", r"impression")),
        (0.5, (r"snor\w+", r"daytime\s+sleepiness", r"BMI", r"blood\s+pressure", r"plan")),
    ),
    DocumentKind.SLEEP_STUDY: (
        (6, (r"polysomno\w+", r"home\s+sleep\s+(?:apnea\s+)?(?:test|study)", "HSAT", "PSG",
             r"sleep\s+study\s+(?:report|results|interpretation)", r"sleep\s+(?:study|test)", r"split[\s-]night",
             r"out[\s-]of[\s-]cent(?:er|re)\s+sleep\s+test", r"(?:cpap\s+)?titration\s+study",
             r"sleep\s+(?:disorders?\s+)?(?:center|lab(?:oratory)?)\s+report", "WatchPAT")),
        (2.5, (r"apn(?:o)?ea[\s-]*hypopn(?:o)?ea\s+index", "AHI", "RDI", "REI", r"respiratory\s+(?:disturbance|event)"
               r"\s+index", r"sleep\s+efficiency", r"sleep\s+latency", r"total\s+sleep\s+time", r"recording\s+time",
               r"oxygen\s+desaturation\s+index", "ODI", r"arousal\s+index", r"sleep\s+architecture",
               r"REM\s+(?:sleep|latency)", r"hypopneas?", r"apneas?")),
        (0.5, (r"snor\w+", r"supine", r"interpret\w*", r"technologist", r"recommend\w*")),
    ),
    DocumentKind.OXYGEN_TEST: (
        (6, (r"overnight\s+(?:pulse\s+)?oximetry", r"arterial\s+blood\s+gas(?:es)?", "ABG",
             r"(?:6|six)[\s-]*minute\s+walk(?:\s+test)?", "6MWT", r"ambulatory\s+oximetry",
             r"oxygen\s+(?:saturation\s+)?(?:qualification|qualifying|assessment|evaluation|titration)\s*(?:test|"
             r"study|form|report)?", r"exercise\s+oximetry", r"nocturnal\s+oximetry", r"pulse\s+oximetry\s+(?:test|"
             r"report|study)", r"home\s+oxygen\s+(?:evaluation|qualification)",
             r"(?:resting|pulse|finger|continuous)\s+oximetry", r"oximetry\s+(?:test|report|study|results)",
             # a plain title ("Qualifying Oxygen Test", "Oxygen Saturation Study"): the title is all there may be
             # of the kind when OCR garbles the one reading under it
             r"(?:qualifying\s+)?oxygen\s+(?:saturation\s+)?(?:test|study)(?:\s+(?:results|report))?",
             r"(?:saturation|desaturation)\s+(?:test|study)")),
        (2.5, (r"oximetry", r"s\W?p\s*[o0]\s*2",  # OCR may set a glyph inside "SpO2" ("S$pO2")
               r"pa\s*[o0]\s*2", r"pac\s*[o0]\s*2", r"room\s+air",
               r"oxygen\s+saturation",
               r"desaturation", r"nadir", r"hco3", r"(?:time|minutes)\s+(?:below|under|at\s+or\s+below|<=?)\s*88",
               r"with\s+(?:supplemental\s+)?oxygen", r"\bpH\b", r"heart\s+rate", r"distance\s+walked")),
        (0.5, (r"rest(?:ing)?", r"exertion", r"ambulat\w+", r"l/min", r"lpm")),
    ),
    DocumentKind.ENCOUNTER_SUMMARY: (
        (6, (r"discharge\s+summary", r"encounter\s+summary", r"after\s+visit\s+summary", r"clinical\s+summary",
             r"hospital\s+course", r"visit\s+summary", r"(?:transition|continuity)\s+of\s+care", r"care\s+summary",
             r"summary\s+of\s+care", r"hospital\s+discharge", r"admission\s+summary", r"inpatient\s+summary")),
        (2, (r"admission\s+date", r"discharge\s+date", r"date\s+of\s+(?:admission|discharge)",
             r"discharge\s+(?:diagnos[ie]s|medications|instructions|disposition)", r"admitting\s+diagnosis",
             r"attending\s+physician", r"length\s+of\s+stay", r"inpatient", r"admitted", r"discharged",
             r"encounter\s+(?:date|type|diagnos[ie]s)")),
        (0.5, (r"follow[\s-]?up", r"medications?", r"problems?\s+list", r"active\s+problems")),
    ),
    DocumentKind.NON_DME: (
        (6, (r"laboratory\s+(?:report|results)", r"lab\s+(?:report|results)", r"complete\s+blood\s+count",
             r"comprehensive\s+metabolic\s+panel", r"lipid\s+panel", r"immuni[sz]ation\s+(?:record|history)",
             r"vaccin\w+\s+(?:record|administration)", r"(?:patient\s+)?(?:billing\s+)?statement",
             r"amount\s+due", r"explanation\s+of\s+benefits", r"radiology\s+report", r"x-?ray\s+report",
             r"(?:MRI|CT)\s+(?:report|of\s+the)", r"referral\s+(?:to|for)\s+(?:physical\s+therapy|cardiology|"
             r"orthopedic|dermatology|podiatry|ophthalmology|gastroenterology|\w+\s+therapy)",
             r"physical\s+therapy", r"pathology\s+report", r"prior\s+authori[sz]ation\s+(?:denial|approval)",
             r"dental", r"eye\s+exam", r"mammogra\w+", r"colonoscopy", r"medication\s+list", r"consent\s+form",
             r"HIPAA\s+(?:notice|authori[sz]ation)", r"invoice", r"receipt", r"appointment\s+reminder")),
        (2.5, (r"reference\s+range", r"specimen", r"collected", r"result(?:ed)?", r"CBC", r"hemoglobin",
               r"glucose", r"creatinine", r"vaccine", r"lot\s+(?:#|number)", r"balance", r"please\s+remit",
               r"payment", r"charges", r"CPT", r"findings", r"impression")),
    ),
}
_COMPILED = {kind: tuple((weight, words(*phrases)) for weight, phrases in tiers) for kind, tiers in EVIDENCE.items()}


def scores(text: str) -> dict[DocumentKind, float]:
    """Each kind's evidence score over ``text`` (its first lines weighted as a title)."""
    text = fold(text)
    headings = _heading_spans(text)
    result = {}
    for kind, tiers in _COMPILED.items():
        total = 0.0
        for weight, pattern in tiers:
            seen: set[str] = set()
            for match in pattern.finditer(text):
                phrase = match.group().lower()
                repeat = phrase in seen  # a repeated phrase adds a little, not its full weight again
                seen.add(phrase)
                titled = weight >= 5 and any(start <= match.start() < end for start, end in headings)
                factor = TITLE_FACTOR if titled else 1.0
                total += weight * factor * (0.1 if repeat else 1.0)
        result[kind] = total
    return result


def _heading_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of the heading lines of the title area: of the first ``TITLE_LINES`` lines with words
    on them, not counting the header line(s) a fax machine stamps on top of the page, those of at most
    ``HEADING_WORDS`` words."""
    counted = 0
    position = 0
    spans = []
    for line in text.splitlines(keepends=True):
        start, position = position, position + len(line)
        if line.strip() and not FAX_HEADER.search(line):
            if len(line.split()) <= HEADING_WORDS:
                spans.append((start, position))
            counted += 1
            if counted == TITLE_LINES:
                break
    return spans


def _cleared_headings(text: str) -> str:
    """``text`` (same length) with the periods and commas OCR put between the words of its heading lines
    cleared, and a title word whose first letter OCR set apart joined again ("Pulmonary F ollow-up Visit"),
    so that a heading's phrase reads whole."""
    cleared = list(text)
    for start, end in _heading_spans(text):
        heading = _SPLIT_TITLE_WORD.sub(_joined_title_word, _HEADING_SPECK.sub(" ", text[start:end]))
        # a title line proper (a few words), not a labelled line of the title area ("Medicare ID: ...")
        title_line = len(heading.split()) <= TITLE_LINE_WORDS
        cleared[start:end] = repair_title_words(heading, heading=True) if title_line else heading
    return "".join(cleared)


# A capital set apart from the rest of its word by a space: joined only when that makes a title word ("A summary
# of care" keeps its article)
_SPLIT_TITLE_WORD = re.compile(r"(?<![\w-])([A-Z]) ([a-z][a-z-]+)")


def _joined_title_word(found: re.Match[str]) -> str:
    joined = found.group(1) + found.group(2)
    return joined + " " if joined.lower() in TITLE_WORDS else found.group()


def _ocr_repaired(text: str) -> str:
    """An OCR'd page's text with specks between words cleared (a title read as 'CLINICAL "SUMMARY', a heading
    as 'New Patient. Visit') and misread title words put right, so that its phrases still count."""
    return repair_title_words(_cleared_headings(_SPECKS.sub(" ", _plain_letters(text))))


def _plain_letters(text: str) -> str:
    """``text`` (same length) with accented letters OCR made of plain ones ("Néw Patient Visit") read plain: no
    kind's phrase holds an accent."""
    return "".join(plain if len(plain := unicodedata.normalize("NFKD", char)[:1]) == 1 and plain.isascii()
                   and char.isalpha() else char for char in text)


def classify(document: Document) -> tuple[DocumentKind, float]:
    """The document's kind and a confidence in 0..1."""
    by_kind = scores("\n\f".join(_ocr_repaired(page.text) if page.source == "ocr" else page.text
                                  for page in document.pages))
    ranked = sorted(by_kind.items(), key=lambda item: item[1], reverse=True)
    dme_ranked = [item for item in ranked if item[0] is not DocumentKind.NON_DME]
    best_kind, best = dme_ranked[0]
    runner_up = max(dme_ranked[1][1], by_kind[DocumentKind.NON_DME])
    if best < MIN_SCORE or by_kind[DocumentKind.NON_DME] > best:
        margin = (by_kind[DocumentKind.NON_DME] - best) / max(by_kind[DocumentKind.NON_DME], MIN_SCORE)
        return DocumentKind.NON_DME, round(max(0.3, min(0.95, 0.6 + 0.35 * margin)), 3)
    return best_kind, round(min(0.99, 0.5 + 0.5 * (best - runner_up) / best), 3)
