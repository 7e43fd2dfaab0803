"""Comparing a run with the corpus labels: classification, fields, dedupe (a drop is a positive; an amended
order must supersede), how documents were attached to cases, and decisions."""

from __future__ import annotations

from collections import Counter, defaultdict

from osler.dme.corpus import CorpusManifest, LabelledDocument
from osler.dme.evaluate.results import DocumentResult, EvaluationRun
from osler.dme.evaluate.scores import Counts, Scores
from osler.dme.evaluate.values import FIELD_SCOPE, values_equal

DROPS = ("exact", "near")


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
    _score_amendments(scores, manifest, run, owner)


def _score_amendments(scores: Scores, manifest: CorpusManifest, run: EvaluationRun, owner: dict[str, str]) -> None:
    """An amended order counts as recognized when one of its copies superseded one of the original's copies —
    or one of the original's copies was seen as superseded by one of the amendment's. Whichever copy arrived
    first is the one the pipeline keeps (the others are dropped as its duplicates), so it is the one that
    supersedes."""
    by_id = {document.id: document for document in manifest.documents}
    copies: dict[str, set[str]] = defaultdict(set)  # a document → it and its labelled copies
    for document in manifest.documents:
        copies[document.duplicate_of or document.id].add(document.id)

    def seen_as(verdict: str, members: set[str], other: set[str]) -> bool:
        results = (_result_for(by_id[member], run) for member in members)
        return any(result and result.dedupe == verdict and owner.get(result.dedupe_of or "") in other
                   for result in results)

    for document in manifest.documents:
        if document.supersedes and not document.duplicate_of:
            scores.amendments += 1
            newer, older = copies[document.id], copies[document.supersedes]
            if seen_as("supersedes", newer, older) or seen_as("superseded", older, newer):
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
