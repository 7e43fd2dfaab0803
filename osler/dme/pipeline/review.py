"""The review queue: faxed documents the matcher would not place on its own (``needs-review`` — two
patients' cases alike, or identity short of certain, or no order for it by the case deadline), each with
the cases it might belong to and their scores; and a person's resolution of one — attach it to an order,
which is then decided again (and delivered again if its result changed), or reject it.

Every sweep of the pipeline matches the waiting documents again, so one whose case has since become
certain leaves the queue by itself; a rejected document is never matched again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osler.dme.matching import Candidate, candidates
from osler.dme.model import Document, OrderCase
from osler.dme.pipeline.deciding import decided, structured_facts
from osler.dme.pipeline.ledger import Ledger
from osler.dme.pipeline.runtime import current

WAITING = "needs-review"
REJECTED = "rejected"
ATTACHABLE_STAGES = ("open", "decided", "delivered", "failed")


class ReviewError(ValueError):
    """The document is not waiting for a person, or the order cannot take it."""


@dataclass
class Waiting:
    doc_key: str
    document: Document
    why: str
    arrived_at: float
    candidates: list[Candidate]


def queue(ledger: Ledger) -> list[Waiting]:
    """Every document waiting for a person, oldest first, with its best candidate orders."""
    with ledger.transaction() as conn:
        rows = ledger.documents_in(conn, WAITING)
        cases = [OrderCase.from_json(row.case) for stage in ATTACHABLE_STAGES
                 for row in ledger.orders_in(conn, stage) if row.case]
    waiting = []
    for row in rows:
        document = Document.from_json(row["document"])
        waiting.append(Waiting(row["doc_key"], document, row["note"] or "", row["arrived_at"],
                               candidates(document, cases)))
    return waiting


def find(waiting: list[Waiting], name: str) -> list[Waiting]:
    """The waiting documents ``name`` names: its sha256 or a prefix of it, its file name, or its key."""
    return [w for w in waiting if name in (w.doc_key, w.document.filename) or w.document.sha256.startswith(name)]


def resolve(doc_key: str, order_key: str | None) -> dict[str, Any]:
    """Attach the waiting document to ``order_key`` and decide the order again, or (``None``) reject it.
    Returns a summary, the order's case and whether it is due for delivery: a qualified open order, or
    one delivered before (delivery sends it again only if its result changed)."""
    ledger = current().ledger
    with ledger.transaction() as conn:
        row = next((r for r in ledger.documents_in(conn, WAITING) if r["doc_key"] == doc_key), None)
        if row is None:
            raise ReviewError(f"document {doc_key} is not waiting for a person")
        sha = row["sha256"][:12]
        if order_key is None:
            ledger.set_document(conn, doc_key, REJECTED, note="rejected by a person")
            return {"summary": f"document {sha} rejected", "case": None, "deliver": False}
        order = ledger.order(order_key, connection=conn)
        if order is None or order.case is None or order.stage not in ATTACHABLE_STAGES:
            stage = order.stage if order else "unknown"
            raise ReviewError(f"order {order_key} is {stage}: a document can only be attached to an order in force")
        case = OrderCase.from_json(order.case)
        case.documents.append(Document.from_json(row["document"]))
        result = decided(case, structured_facts(case), [])
        status = result.decision.status if result.decision else None
        qualified_now = order.stage == "open" and status == "qualified"
        stage = "decided" if qualified_now else order.stage
        ledger.set_document(conn, doc_key, "attached", case_key=order_key)
        ledger.set_order(order_key, order.source, stage, case=result.as_json(), decision=status, connection=conn)
    ledger.log(order_key, "reviewed", f"document {sha} attached by a person; decision {status}")
    return {"summary": f"document {sha} attached to {order_key}: {status}", "case": result.as_json(),
            "deliver": qualified_now or order.stage in ("delivered", "failed")}
