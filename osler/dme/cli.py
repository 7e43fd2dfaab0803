"""``osler dme …`` — run the DME order-intake pipeline and look at what it did.

``run`` is a worker plus the poller (``--once``: process what the sources hold now, then exit);
``status``, ``show``, ``quarantine`` read the ledger; ``review`` lists the documents waiting for a
person with their candidate orders and applies a person's answer; ``replay`` re-runs an order from its
cached files and delivers again only if the result changed; ``demo`` seeds an Osler server with orders and a fax
folder with faxes and runs the pipeline once; ``evaluate`` scores the pipeline on the synthetic corpus.
A user mistake ends in one clear line and a non-zero exit.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from osler.dme.config import DmeSettings, load_dme_settings

if TYPE_CHECKING:
    from osler.dme.pipeline.ledger import Ledger
    from osler.dme.pipeline.review import Waiting
    from osler.dme.pipeline.runner import Counts, Worker

dme_app = typer.Typer(help="DME order intake: sources → documents → decision → delivered packet.",
                      no_args_is_help=True, add_completion=False)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=1)


def settings_or_fail(**overrides: object) -> DmeSettings:
    try:
        return load_dme_settings(**overrides)
    except ValueError as error:
        fail(str(error))
        raise  # unreachable: fail exits


def _counts_table(counts: Counts) -> Table:
    table = Table(title="DME pipeline", show_header=True)
    for column in ("discovered", "in progress", "delivered", "quarantined", "needs review", "failed"):
        table.add_column(column, justify="right")
    table.add_row(*(str(getattr(counts, name.replace(" ", "_"))) for name in
                    ("discovered", "in progress", "delivered", "quarantined", "needs review", "failed")))
    return table


@dme_app.command()
def run(
    once: bool = typer.Option(False, "--once", help="Process what the sources hold now, then exit."),
    fax_folder: Path = typer.Option(None, help="Watch this fax folder [OSLER_DME_FAX_FOLDER]."),
    fhir_url: str = typer.Option(None, help="Poll this FHIR R4 base URL [OSLER_DME_FHIR_URL]."),
    supplier: str = typer.Option(None, help="The supplier's Organization id there [OSLER_DME_SUPPLIER]."),
    output: Path = typer.Option(None, help="Deliver packets into this folder [OSLER_DME_OUTPUT_FOLDER]."),
) -> None:
    """Run a worker: discover new orders, process them durably, deliver them. Ctrl-C stops it."""
    settings = settings_or_fail(fax_folder=fax_folder and str(fax_folder), fhir_url=fhir_url, supplier=supplier,
                                output_folder=output and str(output))
    if not (settings.fax_folder or settings.maildir or settings.fhir_url):
        fail("no source configured: give --fax-folder, --fhir-url with --supplier, or OSLER_DME_MAILDIR")
    if settings.fhir_url and not settings.supplier:
        fail("the FHIR source needs the supplier's Organization id: give --supplier or OSLER_DME_SUPPLIER")
    if not (settings.output_folder or settings.webhook_url or settings.csv_path):
        fail("no destination configured: give --output, OSLER_DME_WEBHOOK_URL or OSLER_DME_CSV_PATH")
    worker = _start_worker(settings)
    started = time.perf_counter()
    try:
        with Live(_counts_table(worker.counts()), console=console, refresh_per_second=4) as live:
            def refresh() -> None:
                live.update(_counts_table(worker.counts()))

            if once:
                worker.drain(refresh)
            else:
                worker.run_forever(refresh)
            refresh()
    except KeyboardInterrupt:
        console.print("stopped: unfinished orders resume at the next start")
    finally:
        counts = worker.counts()
        worker.stop()
    console.print(f"{counts.delivered} delivered, {counts.quarantined} quarantined, {counts.needs_review} need review,"
                  f" {counts.failed} failed in {time.perf_counter() - started:.1f} s", highlight=False)
    if counts.failed:
        raise typer.Exit(code=1)


def _start_worker(settings: DmeSettings) -> Worker:
    from osler.dme.pipeline.runner import Worker

    try:
        worker = Worker(settings)
        worker.start()
    except Exception as error:  # an unreachable database, a missing stage module: one line, no traceback
        fail(f"cannot start the DME worker: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        raise  # unreachable: fail exits
    return worker


def _ledger(settings: DmeSettings) -> Ledger:
    from osler.dme.pipeline.ledger import Ledger

    if not settings.database_url and not settings.home.is_dir():
        fail(f"no DME pipeline has run under {settings.home}: start one with `osler dme run`")
    try:
        return Ledger(settings.ledger_url)
    except Exception as error:
        fail(f"cannot open the DME ledger: {str(error).splitlines()[0]}")
        raise  # unreachable: fail exits


@dme_app.command()
def status() -> None:
    """Counts of orders by stage and decision, of documents by state, and of quarantined files."""
    ledger = _ledger(settings_or_fail())
    counts = ledger.counts()
    ledger.close()
    table = Table(show_header=True)
    table.add_column("what")
    table.add_column("state")
    table.add_column("count", justify="right")
    for group, label in (("stages", "orders by stage"), ("decisions", "orders by decision"),
                         ("documents", "faxed documents"), ("quarantined", "quarantine"), ("items", "source items")):
        for state, count in sorted(counts[group].items()):
            table.add_row(label, str(state), str(count))
    out.print(table)


def _one_order(ledger: Ledger, order: str) -> str:
    keys = ledger.find_orders(order)
    if not keys:
        fail(f"no order {order!r}: see `osler dme status`")
    if len(keys) > 1:
        fail(f"{order!r} names {len(keys)} orders; give more of the key")
    return keys[0]


@dme_app.command()
def show(order: str = typer.Argument(..., help="Order key, or its end (DeviceRequest id, fax sha256 prefix).")) -> None:
    """An order's fields with where each was read, its decision, and the history of its steps."""
    from osler.dme.deliver import show_source, show_value
    from osler.dme.model import OrderCase

    ledger = _ledger(settings_or_fail())
    key = _one_order(ledger, order)
    row = ledger.order(key)
    history, delivered = ledger.history(key), ledger.deliveries(key)
    ledger.close()
    out.print(f"[bold]{key}[/bold]  stage {row.stage}, decision {row.decision or '-'}", highlight=False)
    if row.case:
        case = OrderCase.from_json(row.case)
        documents = {d.sha256: d for d in case.documents}
        table = Table("field", "value", "source", "confidence")
        for name, field in case.fields.items():
            table.add_row(name, show_value(name, field.value), show_source(field, documents), f"{field.confidence:.2f}")
        out.print(table)
        for document in case.documents:
            state = f"unreadable: {document.quarantined}" if document.quarantined else \
                f"{document.kind.value if document.kind else '?'} ({document.kind_confidence:.2f})"
            out.print(f"document {document.filename}: {state}", highlight=False)
        if case.decision:
            for missing in case.decision.missing:
                out.print(f"[yellow]missing[/yellow] {missing.code}: {missing.message}", highlight=False)
            for note in case.decision.notes:
                out.print(f"note: {note}", highlight=False)
    for event in history:
        out.print(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(event['at']))}Z  {event['step']:<14} "
                  f"{event['detail'] or ''}", highlight=False)
    for delivery in delivered:
        out.print(f"delivered to {delivery['destination']} (result {delivery['digest'][:16]})", highlight=False)


@dme_app.command()
def replay(order: str = typer.Argument(..., help="Order key, or its end.")) -> None:
    """Re-run an order from its cached files; deliver again only if the result changed."""
    from dbos import DBOS, SetWorkflowID

    from osler.dme.pipeline import workflows

    settings = settings_or_fail()
    ledger = _ledger(settings)
    key = _one_order(ledger, order)
    row = ledger.order(key)
    ledger.close()
    if row.stage not in ("delivered", "failed") or row.case is None:
        fail(f"{key} is {row.stage}: only a delivered order can be replayed")
    worker = _start_worker(settings)
    try:
        with SetWorkflowID(f"replay:{key}:{time.time():.3f}"):
            outcome = DBOS.start_workflow(workflows.replay, key).get_result()
    finally:
        worker.stop()
    out.print(f"{key}: {outcome}", highlight=False)


@dme_app.command("review")
def review_queue(
    document: str = typer.Argument(None, help="A waiting document: its sha256 (or a prefix) or file name."),
    attach: str = typer.Option(None, "--attach", help="Attach it to this order (key or its end); decide again."),
    reject: bool = typer.Option(False, "--reject", help="Reject it: never matched again."),
) -> None:
    """The documents waiting for a person, with the orders they might belong to and their scores; with a
    document and --attach ORDER or --reject, resolve it."""
    from osler.dme.pipeline import review

    settings = settings_or_fail()
    ledger = _ledger(settings)
    waiting = review.queue(ledger)
    if document is None:
        ledger.close()
        if attach or reject:
            fail("name the document to resolve: osler dme review DOCUMENT --attach ORDER | --reject")
        _print_queue(waiting)
        return
    named = review.find(waiting, document)
    if len(named) != 1:
        ledger.close()
        fail(f"no document {document!r} waits for a person: see `osler dme review`" if not named else
             f"{document!r} names {len(named)} waiting documents; give more of the sha256")
    if attach and reject:
        ledger.close()
        fail("give --attach ORDER or --reject, not both")
    order_key = _one_order(ledger, attach) if attach else None
    ledger.close()
    if not (attach or reject):
        _print_queue(named)
        return
    out.print(_resolve(settings, named[0].doc_key, order_key), highlight=False)


def _print_queue(waiting: list[Waiting]) -> None:
    if not waiting:
        out.print("no document waits for a person")
        return
    table = Table("document", "file", "kind", "waiting since", "why", "candidate orders (score)")
    for item in waiting:
        shown = "\n".join(f"{c.case_key} ({c.score:.2f}{', certain' if c.certain else ''}"
                          f"{'; ' + ', '.join(c.conflicts) if c.conflicts else ''})" for c in item.candidates)
        table.add_row(item.document.sha256[:12], item.document.filename,
                      item.document.kind.value if item.document.kind else "?",
                      time.strftime("%Y-%m-%d %H:%M", time.gmtime(item.arrived_at)), item.why, shown or "none")
    out.print(table)


def _resolve(settings: DmeSettings, doc_key: str, order_key: str | None) -> str:
    from dbos import DBOS, SetWorkflowID

    from osler.dme.pipeline import workflows

    worker = _start_worker(settings)
    try:
        with SetWorkflowID(f"review:{doc_key}:{time.time():.3f}"):
            return str(DBOS.start_workflow(workflows.review, doc_key, order_key).get_result())
    except ValueError as error:  # the review's own refusal (the order is superseded…): one line
        fail(str(error))
        raise  # unreachable: fail exits
    finally:
        worker.stop()


@dme_app.command("quarantine")
def quarantine_list() -> None:
    """Files that could not be read, with the reason; the rest of their order went on."""
    ledger = _ledger(settings_or_fail())
    rows = ledger.quarantined()
    ledger.close()
    if not rows:
        out.print("nothing quarantined")
        return
    table = Table("order", "file", "reason")
    for row in rows:
        table.add_row(row["order_key"], row["filename"] or row["document"][:12], row["reason"])
    out.print(table)


@dme_app.command()
def demo(
    fhir_url: str = typer.Option(None, help="Seed this Osler server instead of starting one in a temporary home."),
) -> None:
    """Seed an Osler server with a supplier, patients, DME orders and documents, and a fax folder with faxes;
    run the pipeline once and print the delivered packets and decisions."""
    from osler.dme.demo import run_demo

    try:
        run_demo(fhir_url, out)
    except RuntimeError as error:
        fail(str(error))


@dme_app.command()
def evaluate(
    corpus: Path = typer.Option(None, help="A corpus folder written earlier; default: generate one in a temp folder."),
    cases: int = typer.Option(40, min=1, help="Synthetic cases to generate."),
    seed: int = typer.Option(7, help="Random seed of the generated corpus."),
    scanned_share: float = typer.Option(0.5, min=0.0, max=1.0, help="Share of scanned (OCRed) documents."),
    processes: int = typer.Option(2, min=1, help="Processes reading (OCRing) files in parallel."),
) -> None:
    """Score classification, extraction, deduplication and decisions on a labelled synthetic corpus, every
    document of every case mixed into one inbox."""
    import tempfile

    from osler.dme.corpus import LABELS_FILE, generate
    from osler.dme.evaluate import evaluate as score_corpus
    from osler.dme.evaluate import in_process_runner

    if corpus is not None and not (corpus / LABELS_FILE).is_file():
        fail(f"{corpus} holds no labelled corpus ({LABELS_FILE} is missing)")
    with tempfile.TemporaryDirectory(prefix="osler-dme-corpus-") as folder:
        if corpus is None:
            corpus = Path(folder)
            with console.status(f"generating {cases} cases"):
                generate(corpus, cases=cases, seed=seed, scanned_share=scanned_share)
        with console.status("reading, classifying, extracting, deduplicating, deciding"):
            scores = score_corpus(corpus, run=in_process_runner(processes=processes))
    out.print(scores)
