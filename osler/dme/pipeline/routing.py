"""Routing faxed and mailed documents (one route at a time across all workers): put fragments together,
drop repeats — a repeat that reads more than the copy kept takes its place — open a case for each order,
let an amended order supersede the earlier one (taking over its supporting documents; an earlier order
already delivered is named in the amendment's record as the order it replaces, so it is never delivered
as a second order), match the other documents to the open cases, and decide the cases touched.

A document the matcher cannot place with certainty waits for a person (``needs-review``); every sweep
matches the waiting ones again, since a case that has gained documents may now make them certain.
"""

from __future__ import annotations

import time
from typing import Any

from osler.dme.model import Document, DocumentKind, OrderCase, fill_from
from osler.dme.pipeline.deciding import DUPLICATE_VERDICTS, decided
from osler.dme.pipeline.fragments import complete, fragment_mark, fragment_set, joined_pages
from osler.dme.pipeline.runtime import current


def route(sweep: bool) -> list[str]:
    """Match filed documents to cases and decide the open cases (one transaction); the keys of the cases
    due for delivery (see ``workflows.route_step``)."""
    runtime = current()
    ledger, stages, now = runtime.ledger, runtime.stages, time.time()
    with ledger.transaction() as conn:
        open_rows = ledger.orders_in(conn, "open")
        cases = {row.key: OrderCase.from_json(row.case) for row in open_rows if row.case}
        deadlines = {row.key: row.deadline_at or now for row in open_rows}
        deduper = _attached_deduper(conn)
        touched: set[str] = set()
        waiting = ("pending", "needs-review") if sweep else ("pending",)
        pending = _assembled(conn, ledger.documents_in(conn, *waiting))
        pending.sort(key=lambda row: row["kind"] != DocumentKind.DME_ORDER.value)  # orders open cases first
        for row in pending:
            document = Document.from_json(row["document"])
            if document.kind == DocumentKind.NON_DME:
                ledger.set_document(conn, row["doc_key"], "set-aside", note="not a DME document")
                continue
            verdict = deduper.check(document)
            if verdict.verdict in DUPLICATE_VERDICTS:
                key = _take_place(conn, cases, verdict, document, row["doc_key"]) if verdict.richer else None
                if key is None:
                    note = f"{verdict.verdict} duplicate of {verdict.of}"
                    ledger.set_document(conn, row["doc_key"], "duplicate", note=note)
                    continue
                deduper.add(document)
                runtime.deduped.add(row["doc_key"])
                touched.add(key)
                continue
            if document.kind == DocumentKind.DME_ORDER:
                key = f"fax:{document.sha256}"
                case = OrderCase(key, "fax")
                if verdict.verdict == "supersedes":
                    _supersede(conn, cases, verdict.of, case)
                elif verdict.verdict == "superseded":  # the amendment came first: this older order is retired
                    case.superseded_by = next((r["case_key"] for r in ledger.attached_rows(conn, verdict.of)),
                                              f"fax:{verdict.of}")
                cases[key] = case
                deadlines[key] = now + runtime.settings.case_deadline_hours * 3600
                ledger.set_order(key, "fax", "open", deadline_at=deadlines[key], connection=conn)
            else:
                found = stages.match(document, [case for case in cases.values() if not case.superseded_by])
                if found.case_key is None or found.needs_review:
                    waited = sweep and now - row["arrived_at"] >= runtime.settings.case_deadline_hours * 3600
                    if found.needs_review or waited:
                        reasons = "; ".join(found.reasons) or "no order matches it"
                        ledger.set_document(conn, row["doc_key"], "needs-review", note=reasons)
                    continue
                key = found.case_key
            cases[key].documents.append(document)
            ledger.set_document(conn, row["doc_key"], "attached", case_key=key)
            deduper.add(document)
            runtime.deduped.add(row["doc_key"])
            touched.add(key)
        for key in set(cases) if sweep else touched:
            case = cases[key]
            if case.superseded_by:
                ledger.set_order(key, "fax", "superseded", case=case.as_json(), connection=conn)
                continue
            result = decided(case, {}, [])
            qualified = result.decision is not None and result.decision.status == "qualified"
            due = qualified or (sweep and now >= deadlines[key])
            ledger.set_order(key, "fax", "decided" if due else "open", connection=conn, case=result.as_json(),
                             decision=result.decision.status if result.decision else None)
        due_keys = [row.key for row in ledger.orders_in(conn, "decided") if row.source == "fax"]
    for key in touched:
        ledger.log(key, "routed", f"{len(cases[key].documents)} document(s)")
    return due_keys


def _attached_deduper(conn: Any) -> Any:
    """The deduper over every attached document, kept by this process between routes (building MinHashes
    of the whole history on every route would make routing quadratic); documents another worker attached
    meanwhile are added from the ledger."""
    runtime = current()
    if runtime.deduper is None:
        runtime.deduper, runtime.deduped = runtime.stages.new_deduper(), set()
    for row in runtime.ledger.documents_in(conn, "attached", excluding=runtime.deduped):
        runtime.deduper.add(Document.from_json(row["document"]))
        runtime.deduped.add(row["doc_key"])
    return runtime.deduper


def _assembled(conn: Any, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pending documents with faxed fragments put together: complete sets become one new pending
    document (the parts are marked ``assembled``), incomplete sets keep waiting and are left out."""
    runtime = current()
    ledger, stages = runtime.ledger, runtime.stages
    whole: list[dict[str, Any]] = []
    sets: dict[tuple[str, int], list[tuple[Any, Document, dict[str, Any]]]] = {}
    for row in pending:
        document = Document.from_json(row["document"])
        mark = fragment_mark(document)
        if mark is None:
            whole.append(row)
        else:
            sets.setdefault(fragment_set(sets, mark), []).append((mark, document, row))
    for (reference, _), parts in sets.items():
        ordered = complete([(mark, document) for mark, document, _ in parts])
        if ordered is None:
            continue
        pdf = stages.assemble([runtime.cache.get(part.sha256) for part in ordered])
        digest = runtime.cache.put(pdf)
        document = Document(digest, ordered[0].source, ordered[0].filename, "application/pdf", joined_pages(ordered))
        document.kind, document.kind_confidence = stages.classify(document)
        if document.kind != DocumentKind.NON_DME:
            document.fields = stages.extract(document)
        doc_key = f"assembled:{reference}|{digest}"
        ledger.add_document(doc_key, parts[0][2]["order_key"], document.as_json(), "pending", connection=conn)
        for _, _, row in parts:
            ledger.set_document(conn, row["doc_key"], "assembled", note=f"part of {doc_key}")
        whole.append({**ledger.documents_by_key(conn, doc_key)})
    return whole


def _take_place(conn: Any, cases: dict[str, OrderCase], verdict: Any, richer: Document, doc_key: str) -> str | None:
    """A repeat that reads more than the kept copy (OCR lost a diagnosis from the copy read first) takes the
    kept copy's place in its open case; the key of that case, or ``None`` when the kept copy is in no open
    case (its order went out already: the repeat is then only a repeat)."""
    ledger = current().ledger
    for row in ledger.attached_rows(conn, verdict.of):
        case = cases.get(row["case_key"])
        if case is None:
            continue
        for replaced in (d for d in case.documents if d.sha256 == verdict.of):
            fill_from(richer, replaced)
        case.documents = [richer if d.sha256 == verdict.of else d for d in case.documents]
        ledger.set_document(conn, row["doc_key"], "duplicate", note=f"{verdict.verdict} duplicate of {richer.sha256}, "
                                                                     f"which reads more ({', '.join(verdict.richer)})")
        ledger.set_document(conn, doc_key, "attached", case_key=case.key)
        return case.key
    return None


def _supersede(conn: Any, cases: dict[str, OrderCase], old_sha: str | None, amended: OrderCase) -> None:
    """The amended order takes over the earlier order's case: its supporting documents move across and the
    earlier case, if not delivered yet, is closed as superseded; if it was, the amendment's record names it
    (``supersedes``), so the supplier replaces the order rather than filling a second one."""
    ledger = current().ledger
    old_key = next((row["case_key"] for row in ledger.attached_rows(conn, old_sha)), f"fax:{old_sha}")
    old = cases.get(old_key)
    row = ledger.order(old_key, connection=conn) if old is None else None
    if old is None and (row is None or row.case is None or row.stage == "superseded"):
        return
    old = old or OrderCase.from_json(row.case)  # type: ignore[union-attr]
    amended.supersedes = old_key
    amended.documents.extend(d for d in old.documents if d.kind != DocumentKind.DME_ORDER)
    if row is not None and row.stage in ("delivered", "failed"):
        ledger.log(old_key, "superseded", f"by {amended.key}, which arrived after this order was delivered")
        return
    old.superseded_by = amended.key
    for attached in ledger.documents_in(conn, "attached"):
        if attached["case_key"] == old_key and attached["kind"] != DocumentKind.DME_ORDER.value:
            ledger.set_document(conn, attached["doc_key"], "attached", case_key=amended.key)
    ledger.set_order(old_key, "fax", "superseded", case=old.as_json(), connection=conn)
