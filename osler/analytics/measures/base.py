"""What every measure shares: opening the warehouse read-only, the reporting window, and the result shape.

A measure reads the Caboodle-like ``warehouse`` schema that ``osler etl`` builds (``dbt/models/warehouse``)
from a read-only DuckDB connection, and returns a ``MeasureResult``: a title, typed rows, and ``as_json()``.
(Epic: the Caboodle data behind Radar dashboards.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import duckdb

Row = TypeVar("Row")


class WarehouseMissing(Exception):
    """The warehouse has not been built (no file, or no ``warehouse`` schema in it): run ``osler etl`` first."""


@contextmanager
def open_warehouse(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the DuckDB warehouse at ``path`` whose default schema is ``warehouse``,
    so that ``PatientDim`` names the dimension (the file ``warehouse.duckdb`` is also a catalog named
    ``warehouse``, which makes ``warehouse.PatientDim`` ambiguous)."""
    if not path.is_file():
        raise WarehouseMissing(f"no warehouse at {path}: run `osler etl` first")
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise WarehouseMissing(f"cannot open the warehouse at {path}: {error}") from error
    try:
        catalog = connection.execute("select current_database()").fetchone()[0]  # type: ignore[index]
        built = connection.execute("select count(*) from information_schema.tables where table_schema = 'warehouse' "
                                   "and table_name = 'PatientDim'").fetchone()
        if not built or not built[0]:
            raise WarehouseMissing(f"the warehouse at {path} has no star schema yet: run `osler etl` first")
        connection.execute(f'use "{catalog}".warehouse')
        yield connection
    finally:
        connection.close()


@dataclass(frozen=True)
class Window:
    """The days a measure looks at, both ends included; ``last`` is the latest day of data by default."""

    first: date | None
    last: date

    @classmethod
    def of(cls, connection: duckdb.DuckDBPyConnection, *, weeks: int | None = None,
           as_of: date | None = None) -> Window:
        """The last ``weeks`` ISO weeks up to ``as_of`` (all of the data when ``weeks`` is None)."""
        last = as_of or latest_day(connection)
        if weeks is None:
            return cls(None, last)
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        monday = last - timedelta(days=last.isoweekday() - 1)
        return cls(monday - timedelta(weeks=weeks - 1), last)

    def bounds(self) -> tuple[date, date]:
        """(first, last) for a SQL ``between``; the first day of the calendar when the window is open."""
        return self.first or date.min, self.last

    def as_json(self) -> dict[str, str | None]:
        return {"first": self.first.isoformat() if self.first else None, "last": self.last.isoformat()}


def latest_day(connection: duckdb.DuckDBPyConnection) -> date:
    """The last day of the calendar (DateDim), i.e. of the data; today when the warehouse is empty."""
    row = connection.execute("select max(Date) from DateDim").fetchone()
    return row[0] if row and row[0] else date.today()


@dataclass
class MeasureResult(Generic[Row]):
    """One measure's answer: what it is, over which window, and its rows (dataclasses)."""

    title: str
    window: Window
    rows: list[Row] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "window": self.window.as_json(),
                "rows": [_jsonable(dataclasses.asdict(row)) for row in self.rows]}  # type: ignore[call-overload]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in row.items()}


def quantiles(column: str) -> str:
    """SQL for how many values ``column`` has, its median and its 90th percentile (linear interpolation)."""
    return (f"count({column}), quantile_cont({column}, 0.5), quantile_cont({column}, 0.9)")


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)
