"""``osler`` — run the server, load data, manage the database.

Every user mistake ends in one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from osler.analytics.report_cli import report_app
from osler.config import load_settings
from osler.dme.cli import dme_app
from osler.fhir.outcome import FhirError

app = typer.Typer(
    help="Osler: an open-source EHR and health-data platform. "
    "Start with `osler db upgrade`, then `osler serve`; load data with `osler load`.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Manage the Chronicle database (schema migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
vocab_app = typer.Typer(help="The OMOP vocabulary in the analytics warehouse.", no_args_is_help=True)
app.add_typer(vocab_app, name="vocab")
analytics_app = typer.Typer(help="Explore and export the analytics warehouse.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")
analytics_app.add_typer(report_app)  # report, cohort
app.add_typer(dme_app, name="dme")
console = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=1)


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on [default: 127.0.0.1]."),
    port: int = typer.Option(None, help="TCP port [default: 8000]."),
    workers: int = typer.Option(None, help="Worker processes; use one per core in production [default: 1]."),
) -> None:
    """Serve the FHIR R4 API at http://HOST:PORT/fhir (OpenAPI docs at /docs)."""
    import uvicorn

    from osler.chronicle.database import make_engine
    from osler.chronicle.migrations_runner import upgrade

    try:
        settings = load_settings(host=host, port=port, workers=workers)
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)  # workers must not race each other to create the schema
        engine.dispose()
    except Exception as error:  # a bad URL or unreachable database: one line, not a traceback
        fail(f"cannot open the database: {error}")
    # Workers are separate processes: hand them the resolved settings through the environment.
    os.environ["OSLER_HOME"] = str(settings.home)
    if settings.database_url:
        os.environ["OSLER_DATABASE_URL"] = settings.database_url
    console.print(f"Osler FHIR API on http://{settings.host}:{settings.port}/fhir "
                  f"({settings.workers} worker{'s' if settings.workers > 1 else ''})")
    uvicorn.run("osler.interfaces.fhir_api:create_app", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, log_level="warning", access_log=False)


@app.command()
def load(
    paths: list[Path] = typer.Argument(..., help="Bundle (.json) or NDJSON (.ndjson) files, folders, .tgz archives."),
    jobs: int = typer.Option(os.cpu_count() or 1, help="Worker processes validating and indexing in parallel."),
) -> None:
    """Load transaction/batch Bundles and NDJSON files. Re-running skips what is already loaded."""
    from osler.chronicle.bulk_load import LoadReport, count_units, find_files, load_file, load_files_parallel
    from osler.chronicle.store import Chronicle

    try:
        files = find_files(paths)
    except FhirError as error:
        fail(error.message)
    if not files:
        fail("no .json or .ndjson files found in the given paths")
    settings = load_settings()
    chronicle = Chronicle.from_settings(settings)
    report = LoadReport()
    started = time.perf_counter()
    columns = (TextColumn("[bold]loading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[rate]}"))
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("load", total=sum(count_units(path) for path in files), rate="")

        def advance(_: object) -> None:
            elapsed = time.perf_counter() - started
            progress.update(task, advance=1, rate=f"{report.resources / elapsed:,.0f} resources/s")

        if jobs > 1:
            load_files_parallel(chronicle, settings.resolved_database_url, files, report, jobs, advance)
        else:
            for path in files:
                load_file(chronicle, path, report, advance)
    chronicle.close()
    elapsed = time.perf_counter() - started
    rate = report.resources / elapsed if elapsed else 0.0
    console.print(f"loaded {report.resources:,} resources from {report.loaded_units} unit(s), "
                  f"skipped {report.skipped_units} already loaded, in {elapsed:.1f} s — {rate:,.0f} resources/s")
    for source, message in report.failures:
        console.print(f"[red]failed[/red] {source}: {message}", highlight=False)
    if report.failures:
        raise typer.Exit(code=1)


@app.command()
def journey(
    here: bool = typer.Option(False, "--here", help="Play in the configured store instead of a fresh one."),
) -> None:
    """Play Sarah's journey through Osler, step by step; exits non-zero if an expected outcome fails."""
    import tempfile

    from osler.chronicle.store import Chronicle
    from osler.interfaces.payers.simulator import PayerSimulator
    from osler.synth.chapters import CHAPTERS
    from osler.synth.journey import StoryClock
    from osler.synth.steps import play

    home = None if here else Path(tempfile.mkdtemp(prefix="osler-journey-"))
    settings = load_settings(home=home, database_url="" if home else None)
    chronicle = Chronicle.from_settings(settings)
    clock = StoryClock(ZoneInfo(settings.clinic_timezone), date.today())
    console.print(f"Sarah's journey on {clock.now.astimezone(ZoneInfo(settings.clinic_timezone)):%A %d %B %Y}, "
                  f"store: {settings.resolved_database_url}", highlight=False)
    gateway = PayerSimulator.from_file(settings.payer_config or None)
    state: dict[str, object] = {}
    try:
        steps = [step for chapter in CHAPTERS for step in chapter(chronicle, settings, gateway, clock)]
        passed = play(steps, state, console)
    except FhirError as error:
        console.print(f"[red]✘ the journey stopped:[/red] {error.message}")
        passed = False
    finally:
        chronicle.close()
    if not passed:
        raise typer.Exit(code=1)
    console.print("[bold green]Sarah's journey went as expected.[/bold green]")


@app.command()
def etl(
    full: bool = typer.Option(False, "--full", help="Extract everything, not only what changed since the watermark."),
    output_format: str = typer.Option("parquet", "--format",
                                      help="parquet (then dbt builds the warehouse) or ndjson (Bulk Data files only)."),
) -> None:
    """Extract the change feed into OSLER_HOME/analytics and build the reporting tables (dbt on DuckDB, or on
    PostgreSQL with OSLER_ANALYTICS_TARGET=postgres and the OSLER_ANALYTICS_PG_* variables)."""
    from osler.analytics.extract import ExtractBusy
    from osler.analytics.layout import EXTRACT_FORMATS, AnalyticsLayout
    from osler.analytics.pipeline import run_etl
    from osler.analytics.postgres import PostgresWarehouse
    from osler.analytics.transform import TransformFailed
    from osler.chronicle.store import Chronicle

    if output_format not in EXTRACT_FORMATS:
        fail(f"unknown format {output_format!r}: use one of {', '.join(EXTRACT_FORMATS)}")
    settings = load_settings()
    layout = AnalyticsLayout.under(settings.home)
    try:
        chronicle = Chronicle.from_settings(settings)
    except Exception as error:  # a bad URL or unreachable database: one line, not a traceback
        fail(f"cannot open the database: {error}")
    started = time.perf_counter()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[detail]}"))
    try:
        with Progress(*columns, console=console) as progress:
            extracting = progress.add_task("extracting", total=None, detail="")
            building = progress.add_task("building", total=None, detail="", visible=False)

            def extracted(res_type: str, done: int, total: int) -> None:
                progress.update(extracting, completed=done, total=total, detail=res_type)

            def built(node: str, status: str) -> None:
                progress.update(building, advance=1, visible=True, detail=f"{node[:40]} {status}")

            report = run_etl(chronicle, layout, full=full, output_format=output_format,
                             mrn_system=settings.mrn_system, on_extract=extracted, on_node=built)
    except (ExtractBusy, TransformFailed) as error:
        fail(str(error))
    finally:
        chronicle.close()
    elapsed = time.perf_counter() - started
    extract = report.extract
    if extract.run:
        console.print(f"extracted {extract.total:,} resources of {len(extract.resources)} type(s) "
                      f"(changes {extract.since + 1:,} to {extract.upto:,}) to {layout.extract_dir(output_format)}",
                      highlight=False)
    else:
        console.print(f"nothing new since change {extract.since:,}: the extract is up to date", highlight=False)
    transform = report.transform
    if transform is not None:
        warned = f" ({transform.tests_warned} warned)" if transform.tests_warned else ""
        on_postgres = PostgresWarehouse.from_environment()
        console.print(f"built {transform.models_built} models, {transform.tests_passed} tests passed{warned}, "
                      f"{transform.rejects:,} rejected resource(s) in reporting.rejects — "
                      f"{on_postgres.describe() if on_postgres else layout.warehouse}", highlight=False)
        for failure in transform.failures:
            console.print(f"[red]failed[/red] {failure}", highlight=False)
    console.print(f"done in {elapsed:.1f} s", highlight=False)
    if transform is not None and not transform.ok:
        raise typer.Exit(code=1)


@vocab_app.command("load")
def vocab_load(path: Path = typer.Argument(..., help="An Athena vocabulary download folder (CONCEPT.csv, …).")) -> None:
    """Load an OMOP vocabulary (Athena download) into the warehouse; the next `osler etl --full` maps with it."""
    import duckdb

    from osler.analytics.layout import AnalyticsLayout
    from osler.analytics.vocabulary import VOCABULARY_TABLES, VocabularyError, load_vocabulary

    if not path.is_dir():
        fail(f"{path} is not a folder")
    layout = AnalyticsLayout.under(load_settings().home)
    columns = (TextColumn("[bold]loading"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"))
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("vocabulary", total=len(VOCABULARY_TABLES), detail="")

            def loaded_table(table: str, rows: int) -> None:
                progress.update(task, advance=1, detail=f"{table} {rows:,} rows")

            loaded = load_vocabulary(layout.warehouse, path, on_table=loaded_table)
    except VocabularyError as error:
        fail(str(error))
    except duckdb.Error as error:  # the warehouse is locked by another process
        fail(f"cannot open the warehouse: {error}")
    console.print(f"loaded {loaded['concept']:,} concepts, {loaded['concept_relationship']:,} relationships, "
                  f"{loaded['concept_ancestor']:,} ancestor rows into {layout.warehouse}", highlight=False)


@analytics_app.command("dq")
def analytics_dq(show_all: bool = typer.Option(False, "--all", help="List passing checks too.")) -> None:
    """Run the OHDSI-style data-quality checks over the OMOP tables; exit 1 when one fails its threshold."""
    import duckdb

    from osler.analytics.layout import AnalyticsLayout
    from osler.analytics.quality import run_checks

    layout = AnalyticsLayout.under(load_settings().home)
    if not layout.warehouse.exists():
        fail(f"no warehouse at {layout.warehouse}: run `osler etl` first")
    try:
        results = run_checks(layout.warehouse)
    except duckdb.Error as error:
        fail(f"cannot check the warehouse (built by `osler etl`?): {error}")
    for result in results:
        if show_all or not result.passed:
            console.print(result.describe(), highlight=False)
    failed = sum(not result.passed for result in results)
    console.print(f"{len(results) - failed} of {len(results)} data-quality checks passed", highlight=False)
    if failed:
        raise typer.Exit(code=1)


@analytics_app.command("deid-export")
def analytics_deid_export(out: Path = typer.Argument(..., help="A new or empty folder for the Parquet files.")) -> None:
    """Write a HIPAA Safe Harbor de-identified copy of the OMOP tables (one Parquet file per table)."""
    import duckdb

    from osler.analytics.deid import DeidError, export_deidentified
    from osler.analytics.layout import AnalyticsLayout

    layout = AnalyticsLayout.under(load_settings().home)
    if not layout.warehouse.exists():
        fail(f"no warehouse at {layout.warehouse}: run `osler etl` first")
    try:
        written = export_deidentified(layout.warehouse, out)
    except DeidError as error:
        fail(str(error))
    except duckdb.Error as error:
        fail(f"cannot read the warehouse: {error}")
    console.print(f"wrote {sum(written.values()):,} de-identified rows in {len(written)} tables to {out}",
                  highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from osler.chronicle.database import make_engine
    from osler.chronicle.migrations_runner import current_revision, upgrade

    settings = load_settings()
    try:
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        console.print(f"database at revision {current_revision(engine)}: {engine.url.render_as_string()}")
    except Exception as error:
        fail(f"cannot upgrade the database: {error}")


def main() -> None:
    try:
        app()
    except ValueError as error:  # bad settings
        console.print(f"[red]error:[/red] {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
