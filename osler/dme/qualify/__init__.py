"""Payer qualification of DME order cases: merge the documents' fields into one view (``merge_fields``)
and decide qualified / missing what / needs review / not DME (``decide``), one module per rule set."""

from osler.dme.qualify.decide import decide
from osler.dme.qualify.merge import Merged, merge, merge_fields
from osler.dme.qualify.registry import RULE_SETS, RuleSet, rule_sets_for

__all__ = ["RULE_SETS", "Merged", "RuleSet", "decide", "merge", "merge_fields", "rule_sets_for"]
