"""The decision on one case: merge its documents' fields (under the fields the case already carries), pick
the rule sets its items call for, run them.

* no order and nothing but non-DME paperwork → ``not-dme``;
* an item no rule set knows (or E0471) → ``needs-review``: a person decides;
* otherwise ``qualified`` when every rule passed, else ``missing`` with one ``Missing`` per failed rule.
Merge conflicts and unreadable documents are named in the notes either way.
"""

from __future__ import annotations

from osler.dme.identity import hcpcs_codes
from osler.dme.model import Decision, DocumentKind, OrderCase
from osler.dme.qualify.context import Judgement
from osler.dme.qualify.merge import merge
from osler.dme.qualify.orders import check_order
from osler.dme.qualify.registry import rule_sets_for


def decide(case: OrderCase) -> Decision:
    merged = merge(case)
    # A case's own fields are the pipeline's merged view (with the EHR's structured facts where it chose
    # them over the documents' readings): they stand.
    judgement = Judgement(case, {**merged.fields, **case.fields}, merged.unreadable)
    notes = [f"Could not read {d.filename}: {d.quarantined}." for d in merged.unreadable]
    notes += [f"Conflict: {conflict}." for conflict in merged.conflicts]
    codes = hcpcs_codes(judgement.value("items"))
    readable_kinds = {d.kind for d in case.documents if d.quarantined is None}
    if not codes and not judgement.has_document(DocumentKind.DME_ORDER) and not merged.unreadable \
            and readable_kinds <= {DocumentKind.NON_DME, None}:
        return Decision("not-dme", notes=[*notes, "No DME order or DME documentation in this case."])
    if not codes:
        check_order(judgement)
        return Decision("missing", judgement.missing, [*notes, *judgement.notes], "medicare-order")
    rule_sets, unknown = rule_sets_for(codes)
    name = "+".join(rule_set.name for rule_set in rule_sets)
    if unknown:
        return Decision("needs-review", notes=[*notes, f"No payer rules for HCPCS {', '.join(unknown)}: a person "
                                               "decides."], rule_set=name)
    for rule_set in rule_sets:
        rule_set.check(judgement)
    status = "missing" if judgement.missing else "qualified"
    return Decision(status, judgement.missing, [*notes, *judgement.notes], name)
