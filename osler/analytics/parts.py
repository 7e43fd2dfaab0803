"""Part files of the extract: one per resource type and run, in Parquet or FHIR Bulk Data NDJSON.

Parquet parts (what the dbt staging models read) hold one row per resource changed in the run, at its
current version: res_id, version, last_updated, deleted, seq, and the resource's JSON text (null for a
deletion). NDJSON parts hold one resource per line, as the Bulk Data ``$export`` does, and leave
deletions out. Epic counterpart: the flat files of a Clarity extract.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from osler.chronicle.export import ExportBatch

PARQUET_SCHEMA = pa.schema([
    pa.field("res_id", pa.string(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("last_updated", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("deleted", pa.bool_(), nullable=False),
    pa.field("seq", pa.int64(), nullable=False),
    pa.field("resource", pa.string(), nullable=True),
])


class PartWriter(Protocol):
    def write(self, batch: ExportBatch) -> int:
        """Append a batch; how many rows were written."""

    def close(self) -> None: ...


class ParquetPart:
    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(path, PARQUET_SCHEMA, compression="zstd")

    def write(self, batch: ExportBatch) -> int:
        # The export's columns under this format's names ("content" is the part's "resource")
        self._writer.write_table(batch.table.rename_columns(PARQUET_SCHEMA.names).cast(PARQUET_SCHEMA))
        return len(batch)

    def close(self) -> None:
        self._writer.close()


class NdjsonPart:
    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, batch: ExportBatch) -> int:
        lines = [content for content in batch.table["content"].to_pylist() if content]
        for line in lines:
            self._file.write(line)
            self._file.write("\n")
        return len(lines)

    def close(self) -> None:
        self._file.close()


def open_part(directory: Path, run: str, output_format: str) -> PartWriter:
    """A writer of the new part ``directory/part-<run>.parquet`` (or ``.ndjson``)."""
    directory.mkdir(parents=True, exist_ok=True)
    if output_format == "parquet":
        return ParquetPart(directory / f"part-{run}.parquet")
    return NdjsonPart(directory / f"part-{run}.ndjson")
