"""Scoring the pipeline against a labelled corpus: the whole corpus goes into one fax inbox, a runner processes
it and reports what it decided, and the answers are compared with the labels — classification accuracy and a
confusion matrix, field-level precision/recall/F1 (micro, per field, digital vs scanned), dedupe precision/recall
(a drop is a positive), how documents were attached to cases, and decision accuracy.

``in_process_runner`` runs the pipeline's own stage functions (text → understand → dedupe → matching →
qualify) in this process, so the scores measure the code the pipeline runs, without its durable machinery."""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein
from rich.console import Console, Group
from rich.table import Table

from osler.dme.corpus import LABELS_FILE, MEDIA_TYPES, CorpusManifest, LabelledDocument, generate, write_inbox

ORDER_SCOPE = ("patient_name", "birth_date", "sex", "mrn", "mbi", "payer", "member_id", "order_date", "items",
               "prescriber_name", "prescriber_npi", "signature_present", "diagnoses")
IDENTITY = ("patient_name", "birth_date", "sex", "mrn", "mbi")
# The fields scored for each kind of document: a value a document could state. An extracted field outside its
# document's scope is not scored (an extractor may legitimately ignore a facesheet's physician, say).
FIELD_SCOPE: dict[str, tuple[str, ...]] = {
    "dme_order": ORDER_SCOPE,
    "facesheet": (*IDENTITY, "payer", "member_id"),
    "office_note": (*IDENTITY, "prescriber_name", "prescriber_npi", "signature_present", "diagnoses", "face_to_face"),
    "sleep_study": (*IDENTITY, "prescriber_name", "prescriber_npi", "diagnoses", "sleep_study"),
    "oxygen_test": (*IDENTITY, "prescriber_name", "prescriber_npi", "diagnoses", "oxygen_test"),
    "encounter_summary": (*IDENTITY, "payer", "member_id", "diagnoses"),
    "non_dme": (),
}
DROPS = ("exact", "near")
NUMBER_TOLERANCE = 0.05
MAX_ERRORS_KEPT = 200


# ---------------------------------------------------------------------------------------------------- runs


@dataclass
class DocumentResult:
    """What the pipeline decided about one input file. The parts of a fragmented document each carry the
    assembled document's result."""

    kind: str | None
    fields: dict[str, Any] = field(default_factory=dict)  # field name → value (model.py vocabulary)
    dedupe: str = "unique"  # "unique" | "exact" | "near" | "supersedes" | "superseded" (an older version, late)
    dedupe_of: str | None = None  # the input file it duplicates, supersedes or is superseded by
    case: str | None = None  # the runner's case key it was attached to (None: set aside or awaiting review)
    quarantined: str | None = None


@dataclass
class CaseResult:
    status: str
    missing: list[str] = field(default_factory=list)


@dataclass
class EvaluationRun:
    documents: dict[str, DocumentResult]  # by input file name
    cases: dict[str, CaseResult]  # by the runner's case key
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------------- values


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%B %d, %Y", "%b %d, %Y", "%d-%b-%Y", "%d %B %Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return text


def _token(value: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()


def _words(value: Any) -> str:
    return " ".join(str(value).casefold().split())


def _number_equal(expected: Any, got: Any) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    try:
        return abs(float(expected) - float(got)) <= NUMBER_TOLERANCE
    except (TypeError, ValueError):
        return False


def _name(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        family, given = value.get("family", ""), value.get("given", "")
    elif isinstance(value, str) and "," in value:
        family, given = value.split(",", 1)
    elif isinstance(value, str) and value.split():
        given, family = value.split()[0], value.split()[-1]
    else:
        return "", ""
    first = (str(given).split() or [""])[0]
    return re.sub(r"[^a-z]", "", str(family).casefold()), re.sub(r"[^a-z]", "", first.casefold())


def _setting_equal(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(expected, int | float):
        return _number_equal(expected, got)
    return _words(expected) == _words(got)


def _items_equal(expected: list[dict[str, Any]], got: Any) -> bool:
    if not isinstance(got, list) or not all(isinstance(item, dict) for item in got):
        return False

    def lines(items: list[dict[str, Any]]) -> set[tuple[str, int]]:
        return {(_token(item.get("hcpcs", "")), int(item.get("quantity") or 1)) for item in items}

    def settings(items: list[dict[str, Any]]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in items:
            merged |= item.get("settings") or {}
        return merged

    if lines(expected) != lines(got):
        return False
    stated, found = settings(expected), settings(got)
    return all(key in found and _setting_equal(value, found[key]) for key, value in stated.items())


def _record_equal(expected: dict[str, Any], got: Any, *, numbers: Iterable[str], pooled: Iterable[str] = ()) -> bool:
    """Dates as ISO, ``numbers`` within the tolerance, the ``pooled`` lists as one set (which list a condition
    is filed under — insomnia as a symptom or a comorbidity — is not scored), other strings case-insensitively."""
    if not isinstance(got, dict) or _iso(expected.get("date")) != _iso(got.get("date")):
        return False
    for key in numbers:
        if not _number_equal(expected.get(key), got.get(key)):
            return False
    pooled = tuple(pooled)
    if {_words(v) for k in pooled for v in expected.get(k) or []} != {_words(v) for k in pooled
                                                                       for v in got.get(k) or []}:
        return False
    text_keys = [k for k, v in expected.items() if isinstance(v, str) and k != "date"]
    return all(_words(expected[k]) == _words(got.get(k, "")) for k in text_keys)


def values_equal(name: str, expected: Any, got: Any) -> bool:
    """Whether an extracted value matches the label, after normalization: names case-insensitively (family name
    and first given name), dates as ISO, numbers within 0.05, identifiers without punctuation, codes as sets,
    items as sets of (HCPCS, quantity) with the labelled settings."""
    if got is None:
        return False
    if name in ("patient_name", "prescriber_name"):
        return _name(expected) == _name(got)
    if name in ("birth_date", "order_date"):
        return _iso(expected) == _iso(got)
    if name in ("mrn", "mbi", "member_id", "prescriber_npi"):
        return _token(expected) == _token(got)
    if name == "sex":
        return _words(expected)[:1] == _words(got)[:1]
    if name == "payer":
        return _words(expected) == _words(got)
    if name == "signature_present":
        return bool(expected) == bool(got)
    if name == "diagnoses":
        return isinstance(got, list) and {_token(c) for c in expected} == {_token(c) for c in got}
    if name == "items":
        return _items_equal(expected, got)
    if name == "sleep_study":
        return _record_equal(expected, got, numbers=("ahi", "rdi", "total_events", "recording_hours"))
    if name == "face_to_face":
        return _record_equal(expected, got, numbers=(), pooled=("symptoms", "comorbidities"))
    if name == "oxygen_test":
        return _record_equal(expected, got, numbers=("spo2", "pao2"))
    return expected == got


# ---------------------------------------------------------------------------------------------------- scores


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Scores:
    documents: int = 0
    cases: int = 0
    classified: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # label kind → predicted kind → count
    fields: Counts = field(default_factory=Counts)
    fields_digital: Counts = field(default_factory=Counts)
    fields_scanned: Counts = field(default_factory=Counts)
    per_field: dict[str, Counts] = field(default_factory=dict)
    dedupe: Counts = field(default_factory=Counts)
    amendments: int = 0
    amendments_superseding: int = 0
    decisions_correct: int = 0
    decision_status_correct: int = 0
    attached: int = 0
    misattached: int = 0  # attached to another patient's case: must stay 0
    unattached: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    # the first mistakes of each kind ("classification", "fields", "dedupe", "matching", "decisions"), for
    # whoever tunes the stages
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def classification_accuracy(self) -> float:
        return self.classified / self.documents if self.documents else 1.0

    @property
    def decision_accuracy(self) -> float:
        return self.decisions_correct / self.cases if self.cases else 1.0

    @property
    def decision_status_accuracy(self) -> float:
        return self.decision_status_correct / self.cases if self.cases else 1.0

    def note(self, kind: str, message: str) -> None:
        kept = self.errors.setdefault(kind, [])
        if len(kept) < MAX_ERRORS_KEPT:
            kept.append(message)

    def as_json(self) -> dict[str, Any]:
        return {"documents": self.documents, "cases": self.cases,
                "classification_accuracy": round(self.classification_accuracy, 4), "confusion": self.confusion,
                "fields": self.fields.as_json(), "fields_digital": self.fields_digital.as_json(),
                "fields_scanned": self.fields_scanned.as_json(),
                "per_field": {name: counts.as_json() for name, counts in sorted(self.per_field.items())},
                "dedupe": self.dedupe.as_json(),
                "amendments": {"total": self.amendments, "superseding": self.amendments_superseding},
                "decision_accuracy": round(self.decision_accuracy, 4),
                "decision_status_accuracy": round(self.decision_status_accuracy, 4),
                "matching": {"attached": self.attached, "misattached": self.misattached,
                             "unattached": self.unattached},
                "quarantined": self.quarantined, "seconds": round(self.seconds, 2), "errors": self.errors}

    def __rich__(self) -> Group:
        summary = Table(title="DME pipeline evaluation", show_header=True)
        for column in ("measure", "value", "target"):
            summary.add_column(column)
        rows = [("documents / cases", f"{self.documents} / {self.cases}", ""),
                ("classification accuracy", f"{self.classification_accuracy:.3f}", ""),
                ("field F1 (all)", f"{self.fields.f1:.3f}", ""),
                ("field F1 digital", f"{self.fields_digital.f1:.3f}", ">= 0.95"),
                ("field F1 scanned", f"{self.fields_scanned.f1:.3f}", ">= 0.90"),
                ("field precision / recall", f"{self.fields.precision:.3f} / {self.fields.recall:.3f}", ""),
                ("dedupe precision", f"{self.dedupe.precision:.3f}", "1.0"),
                ("dedupe recall", f"{self.dedupe.recall:.3f}", ">= 0.95"),
                ("amended orders superseding", f"{self.amendments_superseding} / {self.amendments}", "all"),
                ("decision accuracy", f"{self.decision_accuracy:.3f}", ">= 0.95"),
                ("decision status accuracy", f"{self.decision_status_accuracy:.3f}", ""),
                ("attached / misattached / unattached", f"{self.attached} / {self.misattached} / {self.unattached}",
                 "misattached 0"),
                ("quarantined", str(self.quarantined), ""), ("seconds", f"{self.seconds:.1f}", "")]
        for row in rows:
            summary.add_row(*row)
        per_field = Table(title="Fields", show_header=True)
        for column in ("field", "precision", "recall", "F1", "tp", "fp", "fn"):
            per_field.add_column(column)
        for name, counts in sorted(self.per_field.items()):
            per_field.add_row(name, f"{counts.precision:.3f}", f"{counts.recall:.3f}", f"{counts.f1:.3f}",
                              str(counts.tp), str(counts.fp), str(counts.fn))
        kinds = sorted({k for row in self.confusion.values() for k in row} | set(self.confusion))
        confusion = Table(title="Classification (rows: label, columns: predicted)", show_header=True)
        confusion.add_column("")
        for kind in kinds:
            confusion.add_column(kind[:12])
        for kind in sorted(self.confusion):
            confusion.add_row(kind, *(str(self.confusion[kind].get(k, 0) or "") for k in kinds))
        return Group(summary, per_field, confusion)


def _result_for(document: LabelledDocument, run: EvaluationRun) -> DocumentResult | None:
    return next((run.documents[name] for name in document.files if name in run.documents), None)


def _score_fields(scores: Scores, document: LabelledDocument, result: DocumentResult | None) -> None:
    if result is not None and result.dedupe in DROPS and not result.fields:
        return  # a dropped duplicate is scored by the dedupe measures, not here
    found = result.fields if result else {}
    split = scores.fields_scanned if document.scanned else scores.fields_digital
    for name in FIELD_SCOPE[document.kind]:
        expected, got = document.fields.get(name), found.get(name)
        if expected is None and got is None:
            continue
        counts = scores.per_field.setdefault(name, Counts())
        outcome = ("tp",) if expected is not None and values_equal(name, expected, got) else (
            ("fp",) if expected is None else ("fn",) if got is None else ("fp", "fn"))
        for which in outcome:
            for tally in (counts, scores.fields, split):
                setattr(tally, which, getattr(tally, which) + 1)
        if outcome != ("tp",):
            scores.note("fields", f"{document.id} {name}: expected {expected!r}, got {got!r}")


def _score_dedupe(scores: Scores, manifest: CorpusManifest, run: EvaluationRun) -> None:
    owner = {name: document.id for document in manifest.documents for name in document.files}
    groups: dict[str, list[LabelledDocument]] = defaultdict(list)
    for document in manifest.documents:
        if document.kind != "non_dme":  # set aside unread: whether its copies are dropped changes nothing
            groups[document.duplicate_of or document.id].append(document)
    for members in groups.values():
        ids = {member.id for member in members}
        correct = wrong = 0
        for member in members:
            result = _result_for(member, run)
            if result is None or result.dedupe not in DROPS:
                continue
            target = owner.get(result.dedupe_of or "")
            if len(members) > 1 and (result.dedupe_of is None or (target in ids and target != member.id)):
                correct += 1
            else:
                wrong += 1
                scores.note("dedupe", f"{member.id} dropped as a duplicate of {result.dedupe_of} ({member.kind})")
        true_positives = min(correct, len(members) - 1)
        if true_positives < len(members) - 1:
            scores.note("dedupe", f"{members[0].id}: {len(members) - 1 - true_positives} copies kept")
        scores.dedupe.tp += true_positives
        scores.dedupe.fp += wrong + correct - true_positives
        scores.dedupe.fn += len(members) - 1 - true_positives
    by_id = {document.id: document for document in manifest.documents}
    for document in manifest.documents:
        if document.supersedes and not document.duplicate_of:
            scores.amendments += 1
            newer, older = _result_for(document, run), _result_for(by_id[document.supersedes], run)
            if ((newer and newer.dedupe == "supersedes" and owner.get(newer.dedupe_of or "") == document.supersedes)
                    or (older and older.dedupe == "superseded" and owner.get(older.dedupe_of or "") == document.id)):
                scores.amendments_superseding += 1
            else:
                scores.note("dedupe", f"{document.id}: amended order not seen to supersede {document.supersedes}")


def _score_cases(scores: Scores, manifest: CorpusManifest, run: EvaluationRun) -> None:
    by_id = {document.id: document for document in manifest.documents}
    case_owner: dict[str, Counter[str]] = defaultdict(Counter)  # runner case → the label cases of its orders
    for document in manifest.documents:
        result = _result_for(document, run)
        if document.kind == "dme_order" and result and result.case:
            case_owner[result.case][document.case] += 1
    for document in manifest.documents:
        if document.kind == "non_dme":
            continue
        result = _result_for(document, run)
        owner = case_owner[result.case].most_common(1) if result and result.case else []
        if not owner:
            scores.unattached += 1
        elif owner[0][0] == document.case:
            scores.attached += 1
        else:
            scores.misattached += 1
            scores.note("matching", f"{document.id} attached to another patient's case")
    for key, label in manifest.cases.items():
        result = _result_for(by_id[label.order], run)
        decided = run.cases.get(result.case) if result and result.case else None
        if decided is None:
            scores.note("decisions", f"{key}: no decision for the order {label.order}")
            continue
        if decided.status == label.status:
            scores.decision_status_correct += 1
            if label.status == "qualified" or set(decided.missing) == set(label.missing):
                scores.decisions_correct += 1
                continue
        scores.note("decisions", f"{key} ({label.scenario}): expected {label.status} {label.missing}, "
                    f"got {decided.status} {decided.missing}")


def score(manifest: CorpusManifest, run: EvaluationRun) -> Scores:
    """Compare a run (keyed by corpus file names) with the manifest's labels."""
    scores = Scores(documents=len(manifest.documents), cases=len(manifest.cases), seconds=run.seconds)
    for document in manifest.documents:
        result = _result_for(document, run)
        predicted = (result.kind if result else None) or "none"
        row = scores.confusion.setdefault(document.kind, {})
        row[predicted] = row.get(predicted, 0) + 1
        if predicted == document.kind:
            scores.classified += 1
        else:
            scores.note("classification", f"{document.id}: classified {predicted}, is {document.kind}")
        if result and result.quarantined:
            scores.quarantined += 1
        _score_fields(scores, document, result)
    _score_dedupe(scores, manifest, run)
    _score_cases(scores, manifest, run)
    return scores


def evaluate(corpus_dir: Path, *, run: Callable[[Path], EvaluationRun]) -> Scores:
    """Mix the corpus into one fax inbox, let ``run`` process it, and score what it decided."""
    manifest = CorpusManifest.load(corpus_dir)
    with tempfile.TemporaryDirectory(prefix="osler-dme-inbox-") as folder:
        inbox = Path(folder)
        mapping = write_inbox(manifest, inbox)
        started = time.perf_counter()
        outcome = run(inbox)
        seconds = time.perf_counter() - started
    documents = {mapping[name]: _renamed(result, mapping) for name, result in outcome.documents.items()
                 if name in mapping}
    return score(manifest, EvaluationRun(documents, outcome.cases, outcome.seconds or seconds))


def _renamed(result: DocumentResult, mapping: dict[str, str]) -> DocumentResult:
    return DocumentResult(**{**asdict(result), "dedupe_of": mapping.get(result.dedupe_of or "", result.dedupe_of)})


# ---------------------------------------------------------------------------------------------------- runner

# "Ref 94N66913 - part 2 of 3", "Document #94N66913, part 2/3", "Doc ID 94N66913 (part 2 of 3)"; OCR may bend
# the words ("Documént") and misread a character of the reference, so references group by edit distance.
FRAGMENT_MARK = re.compile(r"\b(?:ref\b|doc\w*)\s*(?:#|id|no\.?)?\s*:?\s*#?\s*([0-9A-Z]{5,})\W{0,6}\s*\(?\s*part\s*"
                           r"(\d+)\s*(?:of|/)\s*(\d+)", re.IGNORECASE)
REFERENCE_EDITS = 2


def fragment_group(groups: dict[tuple[str, int], list], reference: str, total: int) -> tuple[str, int]:
    for key in groups:
        if key[1] == total and Levenshtein.distance(key[0], reference) <= REFERENCE_EDITS:
            return key
    return reference, total


def _read(path: Path) -> tuple[str, bytes, list[Any] | str]:
    """Read one inbox file into (name, PDF bytes, pages) — or the reason it is unreadable. Runs in a worker."""
    from osler.dme import text
    from osler.dme.model import sha256

    data = path.read_bytes()
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    try:
        pdf = data if media_type == "application/pdf" else text.to_pdf(data, media_type)
        return path.name, pdf, text.read_pages(pdf, document=sha256(pdf))
    except text.UnreadableDocument as error:
        return path.name, data, str(error)


def in_process_runner(*, processes: int = 2) -> Callable[[Path], EvaluationRun]:
    """A runner doing what the pipeline does, stage by stage, with the pipeline's own functions: read (OCR where
    needed, files in parallel), put fragments together, classify and extract, drop duplicates, match documents
    to orders, decide. Documents are taken in arrival (file name) order; supporting documents are matched once
    every order is known, as the pipeline does when a case's deadline has passed."""

    def run(inbox: Path) -> EvaluationRun:
        from osler.dme import dedupe, matching, qualify, text, understand
        from osler.dme.model import Document, DocumentKind, OrderCase, Page, sha256

        started = time.perf_counter()
        paths = sorted(p for p in inbox.iterdir() if p.is_file())
        with ProcessPoolExecutor(max_workers=processes) as pool:
            read = list(pool.map(_read, paths))
        results: dict[str, DocumentResult] = {}
        units: list[tuple[list[str], bytes, list[Page]]] = []  # (input files, PDF, pages)
        fragments: dict[tuple[str, int], list[tuple[int, str, bytes, list[Page]]]] = defaultdict(list)
        for name, pdf, pages in read:
            if isinstance(pages, str):
                results[name] = DocumentResult(kind=None, quarantined=pages)
                continue
            mark = FRAGMENT_MARK.search(pages[0].text if pages else "")
            if mark:
                group = fragment_group(fragments, mark.group(1).upper(), int(mark.group(3)))
                fragments[group].append((int(mark.group(2)), name, pdf, pages))
            else:
                units.append(([name], pdf, pages))
        for parts in fragments.values():
            parts.sort()
            pages = [Page(i, page.text, page.source, page.ocr_confidence)
                     for i, page in enumerate((page for part in parts for page in part[3]), 1)]
            units.append(([part[1] for part in parts], text.assemble([part[2] for part in parts]), pages))
        units.sort(key=lambda unit: unit[0][0])

        file_of: dict[str, str] = {}
        documents: list[tuple[list[str], Document]] = []
        deduper = dedupe.Deduper()
        for names, pdf, pages in units:
            digest = sha256(pdf)
            file_of.setdefault(digest, names[0])
            document = Document(digest, f"fax:{names[0]}", names[0], "application/pdf", pages)
            document.kind, document.kind_confidence = understand.classify(document)
            document.fields = understand.extract(document) if document.kind != DocumentKind.NON_DME else {}
            verdict = deduper.check(document)
            if verdict.verdict not in DROPS:
                deduper.add(document)
            for name in names:
                results[name] = DocumentResult(document.kind.value, {n: f.value for n, f in document.fields.items()},
                                               verdict.verdict, file_of.get(verdict.of or ""))
            documents.append((names, document))

        cases: dict[str, OrderCase] = {}
        case_of_file: dict[str, str] = {}
        for names, document in documents:  # orders open cases; an amended order replaces the one it amends
            result = results[names[0]]
            if document.kind != DocumentKind.DME_ORDER or result.dedupe in DROPS:
                continue
            cases[document.sha256] = OrderCase(document.sha256, document.source, [document])
            other = case_of_file.get(result.dedupe_of or "")
            if result.dedupe == "supersedes" and other in cases:
                cases[other].superseded_by = document.sha256
            elif result.dedupe == "superseded" and other in cases:
                cases[document.sha256].superseded_by = other
            case_of_file.update(dict.fromkeys(names, document.sha256))
        live = [case for case in cases.values() if case.superseded_by is None]
        for names, document in documents:
            result = results[names[0]]
            if document.kind in (DocumentKind.DME_ORDER, DocumentKind.NON_DME) or result.dedupe in DROPS:
                continue
            found = matching.match(document, live)
            if found.case_key and not found.needs_review:
                cases[found.case_key].documents.append(document)
                case_of_file.update(dict.fromkeys(names, found.case_key))
        for name, result in results.items():  # a dropped copy belongs where its original went
            result.case = case_of_file.get(name) or case_of_file.get(result.dedupe_of or "")
        decided: dict[str, CaseResult] = {}
        for case in live:
            case.fields = qualify.merge_fields(case)
            decision = qualify.decide(case)
            decided[case.key] = CaseResult(decision.status, [m.code for m in decision.missing])
        return EvaluationRun(results, decided, time.perf_counter() - started)

    return run


def main(*, cases: int, seed: int, console: Console, scanned_share: float = 0.5, corpus_dir: Path | None = None,
         processes: int = 2) -> Scores:
    """``osler dme evaluate``: score the pipeline's stages on a corpus — ``corpus_dir`` when it holds one
    (``labels.json``: say, a held-out corpus nobody tuned on), else one generated there or in a temporary
    folder from ``cases`` and ``seed``. Prints the tables and returns the scores."""
    with tempfile.TemporaryDirectory(prefix="osler-dme-corpus-") as scratch:
        root = corpus_dir or Path(scratch)
        if not (root / LABELS_FILE).exists():
            with console.status(f"Generating {cases} labelled cases (seed {seed})…"):
                generate(root, cases=cases, seed=seed, scanned_share=scanned_share)
        with console.status("Running the pipeline's stages over the mixed inbox…"):
            scores = evaluate(root, run=in_process_runner(processes=processes))
    console.print(scores)
    return scores
