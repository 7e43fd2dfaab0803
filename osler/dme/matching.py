"""Matching a faxed document to the open case it belongs to, and the book of open cases.

A document is only ever attached when its patient is certain: the MBI agrees and so does the name or
the birth date, or the name and the birth date agree exactly — and no other patient's case comes close.
Any identifier that disagrees (same name, another birth date or MBI) rules a case out. Two patients
close together, or evidence short of certain (a transposed birth date, a misspelt name with nothing
else), means a person decides (``needs_review``) — the pipeline's review queue (``osler dme review``); a
document that matches nobody waits and is matched again on every sweep.

Between several open cases of the one patient (a CPAP and an oxygen order), the document goes to the case
whose rule set needs its kind and lacks it; ``also`` names the others it supports too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from osler.dme.identity import (
    NAME_SAME,
    NAME_TYPO,
    dates_transposed,
    hcpcs_codes,
    identifier,
    name_similarity,
    parse_date,
)
from osler.dme.model import Document, DocumentKind, ExtractedField, OrderCase
from osler.dme.qualify import merge_fields, rule_sets_for

MARGIN = 0.15  # another patient's case scoring within this of the best makes the match ambiguous

# Evidence weights; a score is a ranking aid, certainty comes from the rules in ``_certain``.
WEIGHTS = {"mbi": 0.5, "birth_date": 0.25, "birth_date_transposed": 0.08, "name": 0.2, "name_typo": 0.1,
           "mrn": 0.15, "prescriber_npi": 0.05, "prescriber_name": 0.03, "items": 0.05}


@dataclass(frozen=True)
class Match:
    case_key: str | None  # the case to attach to; when needs_review, the best guess (or None if ambiguous)
    score: float
    needs_review: bool
    reasons: list[str]
    also: list[str] = field(default_factory=list)  # other open cases of the same patient it also supports

    @property
    def attach(self) -> bool:
        return self.case_key is not None and not self.needs_review


@dataclass
class _Evidence:
    case: OrderCase
    score: float = 0.0
    agreeing: set[str] = field(default_factory=set)
    conflicts: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, what: str, reason: str) -> None:
        self.agreeing.add(what)
        self.score += WEIGHTS[what]
        self.reasons.append(reason)

    @property
    def identified(self) -> bool:
        """Some identity evidence at all (else the case is simply someone else's)."""
        return bool(self.agreeing & {"mbi", "birth_date", "birth_date_transposed", "name", "name_typo", "mrn"})

    @property
    def certain(self) -> bool:
        if self.conflicts:
            return False
        has = self.agreeing.__contains__
        return (has("mbi") and (has("name") or has("name_typo") or has("birth_date"))) or \
            (has("name") and has("birth_date")) or (has("name_typo") and has("birth_date") and has("mrn"))


def _value(fields: dict[str, ExtractedField], name: str) -> Any:
    found = fields.get(name)
    return None if found is None else found.value


def case_fields(case: OrderCase) -> dict[str, ExtractedField]:
    return merge_fields(case) if case.documents else case.fields


def _evidence(mine: dict[str, ExtractedField], kind: DocumentKind | None, case: OrderCase) -> _Evidence:
    """What speaks for and against ``case`` being the case of a document with fields ``mine``."""
    theirs = case_fields(case)
    evidence = _Evidence(case)
    mine_mbi, their_mbi = identifier(_value(mine, "mbi")), identifier(_value(theirs, "mbi"))
    if mine_mbi and their_mbi:
        if mine_mbi == their_mbi:
            evidence.add("mbi", "MBI matches")
        else:
            evidence.conflicts.append("MBI differs")
    mine_birth, their_birth = parse_date(_value(mine, "birth_date")), parse_date(_value(theirs, "birth_date"))
    if mine_birth and their_birth:
        if mine_birth == their_birth:
            evidence.add("birth_date", "birth date matches")
        elif dates_transposed(mine_birth, their_birth):
            evidence.add("birth_date_transposed", "birth date matches with day and month swapped")
        else:
            evidence.conflicts.append("birth date differs")
    similarity = name_similarity(_value(mine, "patient_name"), _value(theirs, "patient_name"))
    if similarity is not None:
        if similarity >= NAME_SAME:
            evidence.add("name", "name matches")
        elif similarity >= NAME_TYPO:
            evidence.add("name_typo", f"name nearly matches ({similarity:.0f} %)")
        else:
            evidence.conflicts.append("name differs")
    mine_mrn, their_mrn = identifier(_value(mine, "mrn")), identifier(_value(theirs, "mrn"))
    if mine_mrn and their_mrn and mine_mrn == their_mrn:
        evidence.add("mrn", "MRN matches")  # another MRN may be another facility's: no conflict
    mine_npi, their_npi = identifier(_value(mine, "prescriber_npi")), identifier(_value(theirs, "prescriber_npi"))
    if mine_npi and mine_npi == their_npi:
        evidence.add("prescriber_npi", "prescriber NPI matches")
    prescriber = name_similarity(_value(mine, "prescriber_name"), _value(theirs, "prescriber_name"))
    if prescriber is not None and prescriber >= NAME_SAME:
        evidence.add("prescriber_name", "prescriber matches")
    if kind == DocumentKind.DME_ORDER:
        mine_items, their_items = hcpcs_codes(_value(mine, "items")), hcpcs_codes(_value(theirs, "items"))
        if mine_items and their_items:
            if mine_items & their_items:
                evidence.add("items", "ordered items match")
            else:
                evidence.conflicts.append("a different order (other items)")
    return evidence


def _same_patient(first: OrderCase, second: OrderCase) -> bool:
    """Two open cases of one patient (then they do not compete for a document)."""
    return _evidence(case_fields(first), None, second).certain


def _relevance(document: Document, case: OrderCase) -> int:
    """2: the case's rules need this kind and it has none yet; 1: needed, already on file; 0: not needed."""
    rule_sets, _ = rule_sets_for(hcpcs_codes(_value(case_fields(case), "items")))
    needed = any(document.kind in rule_set.required_kinds for rule_set in rule_sets)
    if not needed:
        return 0
    return 1 if any(d.kind == document.kind and d.quarantined is None for d in case.documents) else 2


@dataclass(frozen=True)
class Candidate:
    """One case a document might belong to, as a person reviewing it sees it."""

    case_key: str
    score: float
    certain: bool
    reasons: list[str]  # what agrees
    conflicts: list[str]  # what rules it out


def candidates(document: Document, cases: list[OrderCase], limit: int = 3) -> list[Candidate]:
    """The cases whose patient evidence speaks for ``document`` at all, best first: what ``osler dme
    review`` shows beside a document waiting for a person."""
    found = [_evidence(document.fields, document.kind, case) for case in cases if case.superseded_by is None]
    ranked = sorted((e for e in found if e.identified), key=lambda e: (bool(e.conflicts), -e.score, e.case.key))
    return [Candidate(e.case.key, round(e.score, 2), e.certain, e.reasons, e.conflicts) for e in ranked[:limit]]


def match(document: Document, cases: list[OrderCase]) -> Match:
    candidates = [_evidence(document.fields, document.kind, case) for case in cases if case.superseded_by is None]
    conflicting = [e for e in candidates if e.identified and e.conflicts]
    candidates = sorted((e for e in candidates if e.identified and not e.conflicts), key=lambda e: -e.score)
    ruled_out = [f"{e.case.key}: {', '.join(e.conflicts)} ({', '.join(e.reasons) or 'nothing else agrees'})"
                 for e in conflicting]
    if not candidates:
        reasons = ["no open case for this patient", *(f"ruled out {r}" for r in ruled_out)]
        return Match(None, 0.0, False, reasons)
    best = candidates[0]
    rivals = [e for e in candidates[1:] if best.score - e.score <= MARGIN and not _same_patient(best.case, e.case)]
    if rivals:
        names = ", ".join(e.case.key for e in [best, *rivals])
        return Match(None, best.score, True, [f"ambiguous: {names} score within {MARGIN}", *best.reasons])
    if not best.certain:
        return Match(best.case.key, best.score, True, ["patient not certain", *best.reasons, *ruled_out])
    siblings = [e for e in candidates if e.certain and _same_patient(best.case, e.case)]
    siblings.sort(key=lambda e: (-_relevance(document, e.case), -e.score, e.case.key))
    chosen = siblings[0]
    also = [e.case.key for e in siblings[1:] if _relevance(document, e.case) > 0]
    return Match(chosen.case.key, chosen.score, False, chosen.reasons, also)
