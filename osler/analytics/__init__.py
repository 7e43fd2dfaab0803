"""Analytics: the nightly extract of the Chronicle and the dbt models built on it (Epic: Clarity, Caboodle).

``extract`` reads the change feed into Parquet (or FHIR Bulk Data NDJSON) under ``OSLER_HOME/analytics``;
``transform`` runs the dbt project in ``dbt/`` (staging → intermediate → reporting) on DuckDB by default;
``pipeline`` runs both, as ``osler etl`` does.
"""
