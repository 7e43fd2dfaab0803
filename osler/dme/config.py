"""Settings of the DME pipeline: ``OSLER_DME_*`` environment variables over the ``[dme]`` table of
``osler.toml``, over defaults that run on a laptop (everything under ``OSLER_HOME/dme``, DBOS on SQLite).

A source or destination is on when its setting is given: ``fhir_url`` + ``supplier`` (the FHIR source),
``fax_folder``, ``maildir``; ``output_folder``, ``webhook_url``, ``csv_path``. ``database_url`` names the
DBOS system database; a PostgreSQL URL there lets several workers share one queue (and the ledger).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from osler.config import load_settings


@dataclass(frozen=True)
class DmeSettings:
    home: Path = Path()  # resolved to OSLER_HOME/dme by load_dme_settings when not given
    supplier: str = ""  # the supplier's Organization id on the EHR's FHIR server
    fhir_url: str = ""
    fhir_token: str = ""  # bearer token for the FHIR source
    fax_folder: str = ""
    maildir: str = ""
    output_folder: str = ""
    webhook_url: str = ""
    csv_path: str = ""
    case_deadline_hours: float = 72.0  # how long a faxed case waits for missing documents before delivery
    ocr_processes: int = 2
    database_url: str = ""  # DBOS system database; default SQLite under home
    concurrency: int = 4  # orders processed at once by one worker
    queue_polling_seconds: float = 0.05  # DBOS's default 1 s drains ~2 orders/s on SQLite
    discover_seconds: float = 2.0  # how often `run` asks the sources for new orders
    webhook_attempts: int = 5
    webhook_backoff_seconds: float = 0.5  # first retry delay; doubles each attempt
    executor_id: str = ""  # unique per worker process when several share one PostgreSQL
    stages: str = ""  # module providing STAGES (the stage functions); default the real osler.dme ones

    @property
    def system_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'dbos.sqlite').resolve()}"

    @property
    def ledger_url(self) -> str:
        """The pipeline's own records sit beside DBOS's: the same PostgreSQL, or their own SQLite file
        (sharing DBOS's file would make the two contend for SQLite's single writer lock)."""
        return self.database_url or f"sqlite:///{(self.home / 'ledger.sqlite').resolve()}"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"


def _coerce(kind: object, raw: object) -> object:
    if kind in (Path, "Path"):
        return Path(str(raw))
    if kind in (int, "int"):
        return int(raw)  # type: ignore[arg-type]
    if kind in (float, "float"):
        return float(raw)  # type: ignore[arg-type]
    return str(raw)


def load_dme_settings(**overrides: object) -> DmeSettings:
    """Defaults ← ``[dme]`` of ``osler.toml`` ← ``OSLER_DME_*`` ← overrides (``None`` means not given)."""
    values: dict[str, object] = {}
    toml_path = Path(os.environ.get("OSLER_CONFIG", "osler.toml"))
    if toml_path.is_file():
        with toml_path.open("rb") as handle:
            values.update(tomllib.load(handle).get("dme", {}))
    known = {spec.name: spec.type for spec in fields(DmeSettings)}
    for name in known:
        env = os.environ.get(f"OSLER_DME_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update({name: value for name, value in overrides.items() if value is not None})
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown DME setting(s): {', '.join(sorted(unknown))}")
    try:
        settings = DmeSettings(**{name: _coerce(known[name], value) for name, value in values.items()})  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise ValueError(f"bad DME setting: {error}") from None
    if "home" not in values:
        settings = replace(settings, home=load_settings().home / "dme")
    if settings.case_deadline_hours < 0 or settings.concurrency < 1 or settings.webhook_attempts < 1:
        raise ValueError("case_deadline_hours must be ≥ 0, concurrency and webhook_attempts ≥ 1")
    return settings
