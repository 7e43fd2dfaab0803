"""The nightly ETL as one call: extract, then build the warehouse when it is behind (Epic: the Clarity ETL job).

The warehouse keeps its own watermark (the extract watermark it was last built from), so a run with
nothing new does nothing at all, a run whose build failed is retried by the next run even when the
extract has nothing new to add. Only the models that read the resource types changed since the last
build, and what is downstream of them, are rebuilt; staging re-reads only the resources changed
(``full`` rebuilds everything).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from osler.analytics.extract import ExtractReport, extract, types_changed_since
from osler.analytics.layout import AnalyticsLayout
from osler.analytics.transform import TransformReport, build
from osler.analytics.watermark import read_watermark, write_watermark
from osler.chronicle.store import Chronicle
from osler.config import Settings


@dataclass
class EtlReport:
    extract: ExtractReport
    transform: TransformReport | None  # None when the warehouse was already up to date (or NDJSON only)


def run_etl(chronicle: Chronicle, layout: AnalyticsLayout, *, full: bool = False, output_format: str = "parquet",
            mrn_system: str = Settings.mrn_system, on_extract: Callable[[str, int, int], None] | None = None,
            on_node: Callable[[str, str], None] | None = None) -> EtlReport:
    """Extract (see ``extract``); for Parquet, then ``dbt build`` unless the warehouse is already current."""
    extracted = extract(chronicle, layout, full=full, output_format=output_format, on_progress=on_extract)
    if output_format != "parquet":
        return EtlReport(extracted, None)
    return EtlReport(extracted, update_warehouse(layout, full=full, mrn_system=mrn_system, on_node=on_node))


def update_warehouse(layout: AnalyticsLayout, *, full: bool = False, mrn_system: str = Settings.mrn_system,
                     on_node: Callable[[str, str], None] | None = None) -> TransformReport | None:
    """``dbt build`` what the extract holds that the warehouse does not yet (everything when ``full``);
    None when it is current. A successful build records the extract watermark it reached."""
    current = read_watermark(layout.watermark_file("parquet"))
    built = read_watermark(layout.built_file)
    if not full and built == current:
        return None
    changed = None if full or not built.seq else types_changed_since(layout.extract_dir("parquet"), built.seq)
    transformed = build(layout, mrn_system=mrn_system, full_refresh=full, changed_types=changed, on_node=on_node)
    if transformed.ok:
        write_watermark(layout.built_file, current)
    return transformed
