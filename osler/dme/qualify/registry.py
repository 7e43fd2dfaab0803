"""Which rule set decides which item: HCPCS codes to rule sets, and the documents each rule set needs
before a case is complete. Supplies and accessories ride on the PAP device's coverage."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from osler.dme.model import DocumentKind
from osler.dme.qualify.context import Judgement
from osler.dme.qualify.oxygen import check_oxygen
from osler.dme.qualify.pap import check_bilevel, check_cpap

PAP_SUPPLIES = frozenset({"A7030", "A7031", "A7032", "A7033", "A7034", "A7035", "A7036", "A7037", "A7038", "A7039",
                          "A7046", "A4604", "E0561", "E0562"})


@dataclass(frozen=True)
class RuleSet:
    name: str
    codes: frozenset[str]
    required_kinds: tuple[DocumentKind, ...]  # what a case needs on file before it is complete
    check: Callable[[Judgement], None]


CPAP = RuleSet("medicare-cpap-e0601", frozenset({"E0601"}),
               (DocumentKind.DME_ORDER, DocumentKind.OFFICE_NOTE, DocumentKind.SLEEP_STUDY), check_cpap)
BILEVEL = RuleSet("medicare-bilevel-e0470", frozenset({"E0470"}),
                  (DocumentKind.DME_ORDER, DocumentKind.OFFICE_NOTE, DocumentKind.SLEEP_STUDY), check_bilevel)
OXYGEN = RuleSet("medicare-oxygen", frozenset({"E1390", "E1391", "E1392", "E0424", "E0431", "E0433", "E0434",
                                               "E0439", "E0441", "E0442", "E0443", "E0444", "K0738"}),
                 (DocumentKind.DME_ORDER, DocumentKind.OFFICE_NOTE, DocumentKind.OXYGEN_TEST), check_oxygen)
RULE_SETS = (CPAP, BILEVEL, OXYGEN)


def rule_sets_for(codes: Iterable[str]) -> tuple[list[RuleSet], list[str]]:
    """The rule sets deciding ``codes`` (in RULE_SETS order) and the codes no rule set knows."""
    codes = {code.upper() for code in codes}
    chosen = [rule_set for rule_set in RULE_SETS if rule_set.codes & codes]
    if codes & PAP_SUPPLIES and not any(r in chosen for r in (CPAP, BILEVEL)):
        chosen.insert(0, CPAP)  # supplies alone: the patient must qualify for the CPAP they are for
    known = PAP_SUPPLIES.union(*(rule_set.codes for rule_set in RULE_SETS))
    return chosen, sorted(codes - known)
