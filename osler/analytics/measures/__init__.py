"""Dashboard measures over the warehouse star schema (Epic: Caboodle-backed Radar dashboards and Signal).

Open the warehouse with ``open_warehouse(path)`` and call a measure; each returns a ``MeasureResult``
(title, window, typed rows, ``as_json()``).
"""

from osler.analytics.measures.base import MeasureResult, WarehouseMissing, Window, open_warehouse
from osler.analytics.measures.no_shows import NoShowRow, no_show_rate
from osler.analytics.measures.quality import QualityRow, quality_measures
from osler.analytics.measures.signals import SignalRow, signals
from osler.analytics.measures.utilization import UtilizationRow, utilization
from osler.analytics.measures.wait_times import WaitTimeRow, wait_times

__all__ = [
    "MeasureResult", "NoShowRow", "QualityRow", "SignalRow", "UtilizationRow", "WaitTimeRow", "WarehouseMissing",
    "Window", "no_show_rate", "open_warehouse", "quality_measures", "signals", "utilization", "wait_times",
]
