"""FHIR R4 search over the Chronicle: ``parse_search`` (query.py) turns query pairs into a
``SearchQuery`` (model.py); ``match_pks`` (engine.py, with filters.py) and ``include_pks``
(includes.py) run it as SQL.

Paging, ``_summary``, ``_elements`` and ``_total`` are the caller's: this package only decides which
resources match and in what order, and which ones the page includes.
"""

from osler.chronicle.search.engine import match_pks, match_statement
from osler.chronicle.search.includes import include_pks
from osler.chronicle.search.model import Include, SearchQuery
from osler.chronicle.search.query import parse_search

__all__ = ["Include", "SearchQuery", "include_pks", "match_pks", "match_statement", "parse_search"]
