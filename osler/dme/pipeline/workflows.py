"""The durable pipeline: DBOS workflows whose steps record their outputs, so after a crash a workflow
resumes at its first unfinished step — nothing fetched twice, nothing recomputed, nothing delivered twice.

``intake`` (workflow id = the source's idempotency key, so an order discovered twice runs once):
fetch → archive at the source → understand each document (assemble, to PDF, read pages/OCR, classify,
extract; an unreadable file is quarantined with its reason and the rest goes on) → for an EHR order,
decide and deliver; for loose faxed/mailed documents, file them and enqueue ``route``.

``route`` (one at a time across all workers: its queue's global concurrency is 1) runs
``routing.route`` — filed documents matched to open fax cases (a ``dme_order`` opens one), duplicates
dropped, an amended order superseding the earlier one, the open cases decided — and starts ``deliver``
(workflow id ``deliver:<case key>``: once per case) for each case that is qualified or past its deadline.
``review`` applies a person's resolution of a document waiting for one (``osler dme review``).

Delivery writes each destination in its own step, which first looks for the delivery record and writes
the record right after the destination accepted: a crash between the two repeats the write, which the
destinations absorb (the folder rewrites the same files, the CSV holds the row already, the webhook
receiver sees the same ``Idempotency-Key``).
"""

from __future__ import annotations

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
from osler.dme.pipeline import routing
from osler.dme.pipeline.deciding import decide_order, decided, structured_facts
from osler.dme.pipeline.review import resolve as resolve_review
from osler.dme.pipeline.runtime import current
from osler.dme.sources import Discovered

INTAKE_QUEUE = "dme-intake"
ROUTE_QUEUE = "dme-route"
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
        return routing.route(sweep)
    except BaseException:
        current().deduper = None  # it may hold documents whose attachment was just rolled back
        raise


@DBOS.workflow(max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
def deliver_fax_case(key: str) -> str:
    case = load_case_step(key)
    if case.get("superseded_by"):  # an amendment arrived between the decision and the delivery
        return "superseded"
    return deliver_case(case)


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
    structured = structured_facts(case)
    if case.source == "fax":
        redone = decided(OrderCase(key, case.source, documents, superseded_by=case.superseded_by,
                                   supersedes=case.supersedes), {}, [])
    else:
        redone = decide_order(key, case.source, documents, structured)
    runtime.ledger.log(key, "replayed", redone.decision.status if redone.decision else "")
    return redone.as_json()


# ---------------------------------------------------------------------------------- review


@DBOS.workflow()
def review(doc_key: str, order_key: str | None) -> str:
    """A person's resolution of a document waiting for one (``pipeline.review``): attach it to an order —
    decided again, and delivered if due or delivered before — or reject it."""
    outcome = review_step(doc_key, order_key)
    if outcome["deliver"]:
        return f"{outcome['summary']}; {deliver_case(outcome['case'])}"
    return outcome["summary"]


@DBOS.step()
def review_step(doc_key: str, order_key: str | None) -> dict[str, Any]:
    return resolve_review(doc_key, order_key)
