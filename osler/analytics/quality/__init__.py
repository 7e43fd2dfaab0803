"""Data-quality checks over the OMOP tables (OHDSI: DataQualityDashboard), run as SQL in the warehouse.

The checks are data (``data/*.csv``, derived from DQD's own check definitions by
``scripts/build_omop_spec.py``); ``checks.py`` turns each kind into one SQL query, ``run.py`` runs them.
"""

from osler.analytics.quality.checks import Check, load_checks
from osler.analytics.quality.run import CheckResult, run_checks

__all__ = ["Check", "CheckResult", "load_checks", "run_checks"]
