"""Searchset, history and transaction-response Bundles, assembled from stored JSON text.

Stored resources are spliced in as the exact text the Chronicle holds: re-parsing and re-dumping
every resource of every page would cost more than the search itself. Only ``_elements`` and
``_summary`` (which must change the resource) parse it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson

from osler.chronicle.history import HistoryPage
from osler.chronicle.records import SearchPage, Stored
from osler.chronicle.transactions import EntryResult
from osler.fhir.elements import apply_elements, apply_summary
from osler.fhir.instants import format_instant, now_us
from osler.fhir.outcome import operation_outcome


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def _resource_text(stored: Stored, page: SearchPage | None = None) -> str:
    if page is not None and page.elements:
        return _dump(apply_elements(stored.resource, page.elements))
    if page is not None and page.summary and page.summary != "false":
        return _dump(apply_summary(stored.resource, page.summary))
    return stored.content or "{}"


def _bundle_text(head: dict[str, Any], entries: list[str]) -> bytes:
    head_text = _dump(head)
    if not entries:
        return head_text.encode()
    return (head_text[:-1] + ',"entry":[' + ",".join(entries) + "]}").encode()


def search_links(base: str, path: str, page: SearchPage) -> list[dict[str, str]]:
    url = f"{base}/{path}" if path else base
    self_url = f"{url}?{page.query_string}" if page.query_string else url
    links = [{"relation": "self", "url": self_url}]
    if page.cursors:
        separator = "&" if page.query_string else ""
        links.append({"relation": "first", "url": self_url})
        links += [{"relation": relation, "url": f"{url}?{page.query_string}{separator}_cursor={cursor}"}
                  for relation, cursor in page.cursors.items()]
    elif page.snapshot_id and page.count > 0:
        def at(offset: int) -> str:
            return f"{url}?_getpages={page.snapshot_id}&_offset={offset}&_count={page.count}"

        total = page.total if page.total is not None else page.offset + page.count + 1
        links.append({"relation": "first", "url": at(0)})
        if page.offset > 0:
            links.append({"relation": "previous", "url": at(max(page.offset - page.count, 0))})
        if page.offset + page.count < total:
            links.append({"relation": "next", "url": at(page.offset + page.count)})
        last = ((total - 1) // page.count) * page.count if total else 0
        links.append({"relation": "last", "url": at(last)})
    return links


def searchset(base: str, path: str, page: SearchPage) -> bytes:
    head: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                            "meta": {"lastUpdated": format_instant(now_us())}}
    if page.total is not None:
        head["total"] = page.total
    head["link"] = search_links(base, path, page)
    entries = []
    for stored, mode in [(s, "match") for s in page.matches] + [(s, "include") for s in page.included]:
        entries.append(f'{{"fullUrl":"{base}/{stored.res_type}/{stored.res_id}","resource":'
                       f'{_resource_text(stored, page)},"search":{{"mode":"{mode}"}}}}')
    if page.issues:
        outcome = operation_outcome(page.issues)
        entries.append(_dump({"resource": outcome, "search": {"mode": "outcome"}}))
    return _bundle_text(head, entries)


def history(base: str, path: str, page: HistoryPage) -> bytes:
    url = f"{base}/{path}/_history" if path else f"{base}/_history"
    head: dict[str, Any] = {"resourceType": "Bundle", "type": "history", "total": page.total}

    def at(offset: int) -> str:
        return f"{url}?_anchor={page.anchor}&_offset={offset}&_count={page.count}"

    links = [{"relation": "self", "url": at(page.offset)}]
    if page.offset > 0:
        links.append({"relation": "previous", "url": at(max(page.offset - page.count, 0))})
    if page.offset + page.count < page.total:
        links.append({"relation": "next", "url": at(page.offset + page.count)})
    head["link"] = links
    entries = []
    for entry in page.entries:
        stored = entry.stored
        item: dict[str, Any] = {
            "fullUrl": f"{base}/{stored.res_type}/{stored.res_id}",
            "request": {"method": entry.method,
                        "url": f"{stored.res_type}/{stored.res_id}" if entry.method != "POST" else stored.res_type},
            "response": {"status": "410 Gone" if stored.deleted else ("201 Created" if stored.version == 1 else
                                                                      "200 OK"),
                         "etag": stored.etag, "lastModified": stored.last_updated_instant},
        }
        text = _dump(item)
        if not stored.deleted and stored.content:
            text = text[:-1] + ',"resource":' + stored.content + "}"
        entries.append(text)
    return _bundle_text(head, entries)


def transaction_response(base: str, kind: str, results: list[EntryResult]) -> bytes:
    head = {"resourceType": "Bundle", "type": f"{kind}-response"}
    entries = []
    for result in results:
        response: dict[str, Any] = {"status": result.status}
        stored = result.stored
        if stored is not None and not result.status.startswith("204"):
            response["location"] = f"{stored.res_type}/{stored.res_id}/_history/{stored.version}"
            response["etag"] = stored.etag
            response["lastModified"] = stored.last_updated_instant
        if result.outcome is not None:
            response["outcome"] = result.outcome
        entry: dict[str, Any] = {"response": response}
        if stored is not None and not result.status.startswith("204"):
            entry["fullUrl"] = f"{base}/{stored.res_type}/{stored.res_id}"
        if result.body is not None:
            entry["resource"] = result.body
        entries.append(_dump(entry))
    return _bundle_text(head, entries)


def status_line(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"
