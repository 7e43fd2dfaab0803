"""The durable pipeline: DBOS workflows whose steps record their outputs, so after a crash a workflow
resumes at its first unfinished step — nothing fetched twice, nothing recomputed, nothing delivered twice.

``intake`` (workflow id = the source's idempotency key, so an order discovered twice runs once):
fetch → archive at the source → understand each document (assemble, to PDF, read pages/OCR, classify,
extract; an unreadable file is quarantined with its reason and the rest goes on) → for an EHR order,
decide and deliver; for loose faxed/mailed documents, file them and enqueue ``route``.

``route`` (one at a time across all workers: its queue's global concurrency is 1) matches filed
documents to open fax cases (a ``dme_order`` opens one), drops duplicates, lets an amended order
supersede the earlier one, decides every open case, and starts ``deliver`` (workflow id
``deliver:<case key>``: once per case) for each case that is qualified or past its deadline.

Delivery writes each destination in its own step, which first looks for the delivery record and writes
the record right after the destination accepted: a crash between the two repeats the write, which the
destinations absorb (the folder rewrites the same files, the CSV holds the row already, the webhook
receiver sees the same ``Idempotency-Key``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID

from osler.dme.deliver import (
    DeliveryFailed,
    append_csv,
    billing_rows,
    deliver_to_folder,
    delivery_record,
    missing_request,
    order_packet,
    post_webhook,
    result_digest,
)
from osler.dme.model import Document, DocumentKind, ExtractedField, OrderCase
from osler.dme.pipeline.fragments import complete, fragment_mark, joined_pages
from osler.dme.pipeline.runtime import current
from osler.dme.sources import Discovered

INTAKE_QUEUE = "dme-intake"
ROUTE_QUEUE = "dme-route"
DUPLICATE_VERDICTS = ("exact", "near")
# Fields an EHR order states in structured resources: they outrank what is read from its documents.
STRUCTURED_WINS = {"patient_name", "birth_date", "sex", "mrn", "mbi", "payer", "member_id", "order_date", "items",
                   "prescriber_name", "prescriber_npi", "signature_present", "diagnoses"}
MAX_RECOVERY_ATTEMPTS = 1000  # a worker killed again and again must not give up on an order


# ---------------------------------------------------------------------------------- intake


@DBOS.workflow(max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
def intake(item: dict[str, Any]) -> str:
    discovered = Discovered(**item)
    fetched = fetch_step(item)
    archive_step(item)
    documents = [understand_step(discovered.key, file) for file in fetched["files"]]
    if fetched["is_order"]:
        case = decide_order_step(discovered.key, discovered.source, documents, fetched["fields"])
        return deliver_case(case)
    file_documents_step(discovered.key, documents)
    with SetWorkflowID(f"route:{discovered.key}"):
        DBOS.retrieve_queue(ROUTE_QUEUE).enqueue(route)
    return "filed"


@DBOS.step()
def fetch_step(item: dict[str, Any]) -> dict[str, Any]:
    """The item's files into the cache; returns their sha256s (the bytes never enter the step record)."""
    runtime = current()
    discovered = Discovered(**item)
    fetched = runtime.sources[discovered.source].fetch(discovered)
    files = [{"source": file.source, "filename": file.filename,
              "parts": [[runtime.cache.put(data), media] for data, media in file.parts]} for file in fetched.files]
    runtime.ledger.log(discovered.key, "fetched", f"{len(files)} file(s)")
    return {"is_order": fetched.is_order, "files": files,
            "fields": {name: field.as_json() for name, field in fetched.fields.items()}}


@DBOS.step()
def archive_step(item: dict[str, Any]) -> None:
    discovered = Discovered(**item)
    current().sources[discovered.source].archive(discovered)


@DBOS.step()
def understand_step(order_key: str, file: dict[str, Any]) -> dict[str, Any]:
    return understand(order_key, file).as_json()


def understand(order_key: str, file: dict[str, Any]) -> Document:
    """One received file → a Document with pages, kind and fields, or quarantined with the reason."""
    runtime = current()
    stages = runtime.stages
    raw_digest = file["parts"][0][0]
    try:
        pdfs = [data if media == "application/pdf" else stages.to_pdf(data, media)
                for data, media in ((runtime.cache.get(digest), media) for digest, media in file["parts"])]
        pdf = pdfs[0] if len(pdfs) == 1 else stages.assemble(pdfs)
        digest = runtime.cache.put(pdf)
        document = Document(digest, file["source"], file["filename"], "application/pdf")
        document.pages = stages.read_pages(pdf, document=digest, ocr_processes=runtime.settings.ocr_processes)
    except stages.unreadable as error:
        reason = str(error) or type(error).__name__
        runtime.ledger.quarantine(order_key, raw_digest, file["filename"], reason)
        runtime.ledger.log(order_key, "quarantined", f"{file['filename']}: {reason}")
        return Document(raw_digest, file["source"], file["filename"], file["parts"][0][1], quarantined=reason)
    document.kind, document.kind_confidence = stages.classify(document)
    if document.kind != DocumentKind.NON_DME:
        document.fields = stages.extract(document)
    runtime.ledger.log(order_key, "understood", f"{file['filename']}: {document.kind.value}, "
                                                f"{len(document.pages)} page(s), {len(document.fields)} field(s)")
    return document


# ------------------------------------------------------------------------------- EHR orders


@DBOS.step()
def decide_order_step(key: str, source: str, documents: list[dict[str, Any]],
                      structured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    case = decide_order(key, source, [Document.from_json(d) for d in documents],
                        {name: ExtractedField.from_json(f) for name, f in structured.items()})
    runtime = current()
    runtime.ledger.set_order(key, source, "decided", decision=case.decision.status if case.decision else None,
                             case=case.as_json())
    runtime.ledger.log(key, "decided", case.decision.status if case.decision else "")
    return case.as_json()


def decide_order(key: str, source: str, documents: list[Document],
                 structured: dict[str, ExtractedField]) -> OrderCase:
    """An EHR order's case: its readable DME documents less duplicates, fields merged with the structured
    facts of its FHIR resources, and the payer decision."""
    stages = current().stages
    deduper = stages.new_deduper()
    kept: list[Document] = []
    notes: list[str] = []
    for document in documents:
        if document.quarantined is None and document.kind == DocumentKind.NON_DME:
            notes.append(f"set aside {document.filename}: not a DME document")
            continue
        if document.quarantined is None:
            verdict = deduper.check(document)
            if verdict.verdict in DUPLICATE_VERDICTS:
                notes.append(f"dropped {document.filename}: {verdict.verdict} duplicate")
                continue
            deduper.add(document)
        kept.append(document)
    case = OrderCase(key, source, kept)
    return _decided(case, structured, notes)


def _decided(case: OrderCase, structured: dict[str, ExtractedField], notes: list[str]) -> OrderCase:
    stages = current().stages
    merged = stages.merge_fields(case)
    merged.update({name: field for name, field in structured.items() if name in STRUCTURED_WINS or name not in merged})
    case.fields = merged
    case.decision = stages.decide(case)
    for document in case.documents:
        if document.quarantined and not any(document.filename in note for note in case.decision.notes):
            case.decision.notes.append(f"unreadable document {document.filename}: {document.quarantined}")
    case.decision.notes.extend(notes)
    return case


# ---------------------------------------------------------------------- faxed documents


@DBOS.step()
def file_documents_step(item_key: str, documents: list[dict[str, Any]]) -> None:
    ledger = current().ledger
    for document in documents:
        state = "quarantined" if document["quarantined"] else "pending"
        ledger.add_document(f"{item_key}|{document['sha256']}", item_key, document, state)


@DBOS.workflow(max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
def route(sweep: bool = False) -> int:
    ready = route_step(sweep)
    for key in ready:
        with SetWorkflowID(f"deliver:{key}"):
            DBOS.retrieve_queue(INTAKE_QUEUE).enqueue(deliver_fax_case, key)
    return len(ready)


@DBOS.step()
def route_step(sweep: bool) -> list[str]:
    """Match filed documents to cases, decide the open cases; the keys of cases due for delivery: those
    qualified and, in a ``sweep`` (the worker's periodic pass), those past their deadline — an unmatched
    document past the deadline then goes to a person.

    One transaction: a crash leaves the ledger as it was. Returns every decided, undelivered case (not
    only those decided now), so a crash after the commit but before DBOS recorded this step loses none.
    """
    try:
        return _route(sweep)
    except BaseException:
        current().deduper = None  # it may hold documents whose attachment was just rolled back
        raise


def _route(sweep: bool) -> list[str]:
    runtime = current()
    ledger, stages, now = runtime.ledger, runtime.stages, time.time()
    with ledger.transaction() as conn:
        open_rows = ledger.orders_in(conn, "open")
        cases = {row.key: OrderCase.from_json(row.case) for row in open_rows if row.case}
        deadlines = {row.key: row.deadline_at or now for row in open_rows}
        deduper = _attached_deduper(conn)
        touched: set[str] = set()
        pending = _assembled(conn, ledger.documents_in(conn, "pending"))
        pending.sort(key=lambda row: row["kind"] != DocumentKind.DME_ORDER.value)  # orders open cases first
        for row in pending:
            document = Document.from_json(row["document"])
            if document.kind == DocumentKind.NON_DME:
                ledger.set_document(conn, row["doc_key"], "set-aside", note="not a DME document")
                continue
            verdict = deduper.check(document)
            if verdict.verdict in DUPLICATE_VERDICTS:
                note = f"{verdict.verdict} duplicate of {verdict.of}"
                ledger.set_document(conn, row["doc_key"], "duplicate", note=note)
                continue
            if document.kind == DocumentKind.DME_ORDER:
                key = f"fax:{document.sha256}"
                case = OrderCase(key, "fax")
                if verdict.verdict == "supersedes":
                    _supersede(conn, cases, verdict.of, case)
                elif verdict.verdict == "superseded":  # the amendment came first: this older order is retired
                    case.superseded_by = f"fax:{verdict.of}"
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
            decided = _decided(case, {}, [])
            qualified = decided.decision is not None and decided.decision.status == "qualified"
            due = qualified or (sweep and now >= deadlines[key])
            ledger.set_order(key, "fax", "decided" if due else "open", connection=conn, case=decided.as_json(),
                             decision=decided.decision.status if decided.decision else None)
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
    sets: dict[str, list[tuple[Any, Document, dict[str, Any]]]] = {}
    for row in pending:
        document = Document.from_json(row["document"])
        mark = fragment_mark(document)
        if mark is None:
            whole.append(row)
        else:
            sets.setdefault(mark.reference, []).append((mark, document, row))
    for reference, parts in sets.items():
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


def _supersede(conn: Any, cases: dict[str, OrderCase], old_sha: str | None, amended: OrderCase) -> None:
    """The amended order takes over the earlier order's case: its supporting documents move across and the
    earlier case, if not delivered yet, is closed as superseded."""
    ledger = current().ledger
    old_key = f"fax:{old_sha}"
    old = cases.get(old_key)
    if old is None:
        return
    old.superseded_by = amended.key
    amended.documents.extend(d for d in old.documents if d.kind != DocumentKind.DME_ORDER)
    for row in ledger.documents_in(conn, "attached"):
        if row["case_key"] == old_key and row["kind"] != DocumentKind.DME_ORDER.value:
            ledger.set_document(conn, row["doc_key"], "attached", case_key=amended.key)
    ledger.set_order(old_key, "fax", "superseded", case=old.as_json(), connection=conn)


@DBOS.workflow(max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
def deliver_fax_case(key: str) -> str:
    return deliver_case(load_case_step(key))


@DBOS.step()
def load_case_step(key: str) -> dict[str, Any]:
    row = current().ledger.order(key)
    if row is None or row.case is None:
        raise LookupError(f"no decided case {key}")
    return row.case


# -------------------------------------------------------------------------------- delivery


def deliver_case(case_json: dict[str, Any]) -> str:
    """Deliver a decided case to every configured destination, each in its own durable step."""
    case = OrderCase.from_json(case_json)
    digest = result_digest(case)
    packet = packet_step(case_json)
    settings = current().settings
    outcome = "delivered"
    if settings.output_folder:
        folder_step(case_json, digest, packet)
    if settings.webhook_url:
        try:
            webhook_step(case_json, digest)
        except DeliveryFailed as error:
            outcome = "failed"
            current().ledger.log(case.key, "delivery-failed", str(error))
    if settings.csv_path:
        csv_step(case_json, digest)
    mark_delivered_step(case_json, outcome, digest)
    return outcome


@DBOS.step()
def packet_step(case_json: dict[str, Any]) -> str:
    cache = current().cache
    return cache.put(order_packet(OrderCase.from_json(case_json), cache.get))


@DBOS.step()
def folder_step(case_json: dict[str, Any], digest: str, packet: str) -> None:
    runtime = current()
    case = OrderCase.from_json(case_json)
    if runtime.ledger.delivered(case.key, "folder", digest):
        return
    letter = missing_request(case)
    deliver_to_folder(Path(runtime.settings.output_folder), case.key, runtime.cache.get(packet),
                      {**delivery_record(case), "result": digest}, letter)
    runtime.ledger.record_delivery(case.key, "folder", digest)


@DBOS.step()
def webhook_step(case_json: dict[str, Any], digest: str) -> None:
    runtime = current()
    settings = runtime.settings
    case = OrderCase.from_json(case_json)
    if runtime.ledger.delivered(case.key, "webhook", digest):
        return
    attempts = post_webhook(settings.webhook_url, {**delivery_record(case), "result": digest},
                            f"{case.key}#{digest[:16]}", attempts=settings.webhook_attempts,
                            backoff_seconds=settings.webhook_backoff_seconds)
    runtime.ledger.record_delivery(case.key, "webhook", digest)
    runtime.ledger.log(case.key, "webhook", f"accepted after {attempts} attempt(s)")


@DBOS.step()
def csv_step(case_json: dict[str, Any], digest: str) -> None:
    runtime = current()
    case = OrderCase.from_json(case_json)
    if runtime.ledger.delivered(case.key, "csv", digest):
        return
    append_csv(Path(runtime.settings.csv_path), billing_rows(case, digest))
    runtime.ledger.record_delivery(case.key, "csv", digest)


@DBOS.step()
def mark_delivered_step(case_json: dict[str, Any], outcome: str, digest: str) -> None:
    ledger = current().ledger
    case = OrderCase.from_json(case_json)
    ledger.set_order(case.key, case.source, "delivered" if outcome == "delivered" else "failed", case=case_json,
                     decision=case.decision.status if case.decision else None)
    ledger.log(case.key, outcome, f"result {digest[:16]}")


# ---------------------------------------------------------------------------------- replay


@DBOS.workflow()
def replay(key: str) -> str:
    """Re-run understanding and the decision from the cached files; deliver again only if the result
    changed (a new result digest: the destinations get a new version, the webhook a new key)."""
    before = load_case_step(key)
    after = replay_step(key, before)
    if result_digest(OrderCase.from_json(after)) == result_digest(OrderCase.from_json(before)):
        return "unchanged"
    return f"changed: {deliver_case(after)}"


@DBOS.step()
def replay_step(key: str, before: dict[str, Any]) -> dict[str, Any]:
    runtime = current()
    case = OrderCase.from_json(before)
    documents = [understand(key, {"source": d.source, "filename": d.filename, "parts": [[d.sha256, d.media_type]]})
                 for d in case.documents]
    structured = {name: field for name, field in case.fields.items() if field.extractor == "fhir"}
    if case.source == "fax":
        redone = _decided(OrderCase(key, case.source, documents, superseded_by=case.superseded_by), {}, [])
    else:
        redone = decide_order(key, case.source, documents, structured)
    runtime.ledger.log(key, "replayed", redone.decision.status if redone.decision else "")
    return redone.as_json()
