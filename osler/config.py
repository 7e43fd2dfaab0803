"""Settings: environment variables ``OSLER_*`` over an optional ``osler.toml``, over defaults.

Defaults just work on a laptop: everything lives under ``./var`` (``OSLER_HOME``), the store is
SQLite in WAL mode there.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("var"))
    database_url: str = ""
    base_url: str = ""  # public base URL of the FHIR API; derived from each request when empty
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 20 * 1024 * 1024
    default_page_size: int = 20
    max_page_size: int = 1000
    search_snapshot_ttl_seconds: int = 3600
    audit_flush_seconds: float = 0.25
    bench_endpoints: int = 0  # 1 adds /bench/blob, the ceiling endpoint of `make bench`
    clinic_timezone: str = "America/New_York"  # times are stored in UTC and shown in this zone
    mrn_system: str = "urn:osler:mrn"  # the identifier system of the MRNs Osler assigns
    payer_config: str = ""  # payer simulator configuration (JSON); empty = the shipped demo payers
    payer_timeout_seconds: float = 2.0
    eligibility_max_age_days: int = 30  # check-in re-verifies coverage older than this
    background_reactions: int = 1  # 0: the server does not react to the change feed by itself

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'osler.db').resolve()}"


def _coerce(kind: type, raw: object) -> object:
    if kind is Path or kind == "Path":
        return Path(str(raw))
    if kind is int or kind == "int":
        return int(raw)  # type: ignore[arg-type]
    if kind is float or kind == "float":
        return float(raw)  # type: ignore[arg-type]
    return str(raw)


def load_settings(**overrides: object) -> Settings:
    """Defaults ← ``osler.toml`` (in the working directory or ``OSLER_CONFIG``) ← ``OSLER_*`` ← overrides."""
    values: dict[str, object] = {}
    toml_path = Path(os.environ.get("OSLER_CONFIG", "osler.toml"))
    if toml_path.is_file():
        with toml_path.open("rb") as handle:
            values.update(tomllib.load(handle).get("osler", {}))
    for spec in fields(Settings):
        env = os.environ.get(f"OSLER_{spec.name.upper()}")
        if env is not None:
            values[spec.name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {spec.name: spec.type for spec in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown Osler setting(s): {', '.join(sorted(unknown))}")
    return Settings(**{name: _coerce(known[name], value) for name, value in values.items()})  # type: ignore[arg-type]
