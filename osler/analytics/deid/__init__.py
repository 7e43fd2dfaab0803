"""De-identified research export of the OMOP tables under HIPAA Safe Harbor (45 CFR 164.514(b)(2)).

``policy.py`` decides, column by column, what survives; ``export.py`` writes the Parquet files.
"""

from osler.analytics.deid.export import DeidError, export_deidentified

__all__ = ["DeidError", "export_deidentified"]
