"""Matching a faxed document to the open case it belongs to, and the book of open cases.

A document is only ever attached when its patient is certain — two of the patient's identifiers agree
exactly (name, birth date, MBI, MRN, member id: the "two identifiers" of patient-safety practice), or the
MBI with a misspelt name, or a misspelt name with the birth date and the MRN — and no other patient's case
comes close. Any identifier that disagrees (same name, another birth date or MBI) rules a case out; but a
birth date or an MBI one character apart is what OCR makes of a digit, as likely a misreading as another
person, so it rules nothing out (nor does an MBI failing its format check), and it identifies nobody either.
Identifiers are compared with OCR's look-alike glyphs folded (an ``I`` for a ``1``). Two patients close
together, or evidence short of certain (a transposed birth date, a misspelt name with nothing else), means a
person decides (``needs_review``) — the pipeline's review queue (``osler dme review``); a document that
matches nobody waits and is matched again on every sweep.

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
    folded_identifier,
    hcpcs_codes,
    identifier,
    identifiers_agree,
    name_similarity,
    one_digit_apart,
    parse_date,
)
from osler.dme.model import Document, DocumentKind, ExtractedField, OrderCase
from osler.dme.qualify import merge_fields, rule_sets_for
from osler.dme.understand.validators import valid_mbi

MARGIN = 0.15  # another patient's case scoring within this of the best makes the match ambiguous

# Evidence weights; a score is a ranking aid, certainty comes from the rules in ``_certain``.
WEIGHTS = {"mbi": 0.5, "birth_date": 0.25, "birth_date_transposed": 0.08, "birth_date_misread": 0.05, "name": 0.2,
           "name_typo": 0.1, "mrn": 0.15, "member_id": 0.15, "prescriber_npi": 0.05, "prescriber_name": 0.03,
           "items": 0.05}
# The identifiers of the two-identifier rule, each agreeing exactly (look-alike glyphs aside)
IDENTIFIERS = frozenset({"name", "birth_date", "mbi", "mrn", "member_id"})


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
        return len(self.agreeing & IDENTIFIERS) >= 2 or (has("mbi") and has("name_typo")) or \
            (has("name_typo") and has("birth_date") and has("mrn"))


def _value(fields: dict[str, ExtractedField], name: str) -> Any:
    found = fields.get(name)
    return None if found is None else found.value


def _well_formed_mbi(fields: dict[str, ExtractedField]) -> str | None:
    """The MBI of ``fields`` when it passes the MBI's format check: one that fails it is a misreading (OCR
    made letters of a smudged number), no evidence for or against a patient."""
    value = _value(fields, "mbi")
    return str(value) if value and valid_mbi(str(value)) else None


def case_fields(case: OrderCase) -> dict[str, ExtractedField]:
    return merge_fields(case) if case.documents else case.fields


def _evidence(mine: dict[str, ExtractedField], kind: DocumentKind | None, case: OrderCase) -> _Evidence:
    """What speaks for and against ``case`` being the case of a document with fields ``mine``."""
    theirs = case_fields(case)
    evidence = _Evidence(case)
    mine_mbi, their_mbi = _well_formed_mbi(mine), _well_formed_mbi(theirs)
    mbi_agrees = identifiers_agree(mine_mbi, their_mbi)
    if mbi_agrees:
        evidence.add("mbi", "MBI matches")
    elif mbi_agrees is False:
        evidence.conflicts.append("MBI differs")
    elif mine_mbi and their_mbi:
        evidence.reasons.append("MBI one character apart (an OCR misreading?)")
    mine_birth, their_birth = parse_date(_value(mine, "birth_date")), parse_date(_value(theirs, "birth_date"))
    if mine_birth and their_birth:
        if mine_birth == their_birth:
            evidence.add("birth_date", "birth date matches")
        elif dates_transposed(mine_birth, their_birth):
            evidence.add("birth_date_transposed", "birth date matches with day and month swapped")
        elif one_digit_apart(mine_birth, their_birth):
            evidence.add("birth_date_misread", "birth date one digit apart (an OCR misreading?)")
        else:
            evidence.conflicts.append("birth date differs")
    similarity = _name_similarity(_value(mine, "patient_name"), theirs, case)
    if similarity is not None:
        if similarity >= NAME_SAME:
            evidence.add("name", "name matches")
        elif similarity >= NAME_TYPO:
            evidence.add("name_typo", f"name nearly matches ({similarity:.0f} %)")
        else:
            evidence.conflicts.append("name differs")
    # another MRN or member id may be another facility's or another plan's: no conflict. A Medicare member id
    # is the MBI itself, which is no second identifier.
    mbis = {folded_identifier(_value(mine, "mbi")), folded_identifier(_value(theirs, "mbi"))} - {None}
    for name, label in (("mrn", "MRN"), ("member_id", "member id")):
        mine_id = folded_identifier(_value(mine, name))
        if mine_id and mine_id == folded_identifier(_value(theirs, name)) and not (name == "member_id"
                                                                                  and mine_id in mbis):
            evidence.add(name, f"{label} matches")
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


def _name_similarity(mine: Any, theirs: dict[str, ExtractedField], case: OrderCase) -> float | None:
    """How alike ``mine`` is to the case's patient name: the best of the case's name and the names its
    documents state. The case's name is its facesheet's, which OCR may have misspelt ("Chowdttury") where
    the order attached to it spells it right; every document of a case was attached for certain, so each
    name it states is the patient's name as some page writes it."""
    names = [_value(theirs, "patient_name"), *(_value(document.fields, "patient_name") for document in case.documents)]
    found = [similarity for name in names if (similarity := name_similarity(mine, name)) is not None]
    return max(found, default=None)


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
