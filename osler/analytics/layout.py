"""Where analytics keeps its files under ``OSLER_HOME/analytics`` (Epic: the Clarity ETL's working directories).

One place names them all, so the extract, the dbt run and the tests agree: the extract per format (each
with its own watermark), the DuckDB warehouse, and dbt's ``target/`` and ``logs/`` (never in the package).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXTRACT_FORMATS = ("parquet", "ndjson")


@dataclass(frozen=True)
class AnalyticsLayout:
    root: Path  # OSLER_HOME/analytics

    @classmethod
    def under(cls, home: Path) -> AnalyticsLayout:
        return cls(home.resolve() / "analytics")

    def extract_dir(self, output_format: str = "parquet") -> Path:
        """Parquet goes to ``extract/`` (what dbt reads); NDJSON, the Bulk Data format, to ``ndjson/``."""
        return self.root / ("extract" if output_format == "parquet" else "ndjson")

    def watermark_file(self, output_format: str = "parquet") -> Path:
        return self.extract_dir(output_format) / "watermark.json"

    @property
    def built_file(self) -> Path:
        """The watermark of the extract the warehouse was last built from, successfully."""
        return self.root / "warehouse.watermark.json"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.root / "dbt" / "logs"
