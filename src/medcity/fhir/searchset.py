"""Search and history results as Bundles. Stored bytes are embedded as they are (orjson.Fragment), unless
`_summary` or `_elements` ask for less."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from medcity.store.repository import StoredResource
from medcity.store.search import SearchResult
from medcity.store.validate import summary_elements

_MANDATORY = ("resourceType", "id", "meta")
_SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}


def _shaped(stored: StoredResource, summary: str | None, elements: list[str] | None) -> Any:
    if not elements and summary in (None, "false"):
        return orjson.Fragment(stored.content)
    data = stored.resource
    if elements:
        keep = set(elements) | set(_MANDATORY)
    elif summary == "true":
        keep = set(summary_elements(stored.type))
    elif summary == "text":
        keep = {"text", *_MANDATORY}
    else:  # data
        keep = set(data) - {"text"}
    shaped = {k: v for k, v in data.items() if k in keep}
    meta = dict(shaped.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), _SUBSETTED]
    shaped["meta"] = meta
    return shaped


def searchset(result: SearchResult, base: str) -> bytes:
    self_query = urlencode(result.params_used)
    links = [{"relation": "self", "url": f"{base}/{result.resource_type}" + (f"?{self_query}" if self_query else "")}]
    if result.snapshot:

        def page(offset: int) -> str:
            return f"{base}?_getpages={result.snapshot}&_offset={offset}&_count={result.count}"

        links.append({"relation": "first", "url": page(0)})
        if result.has_next:
            links.append({"relation": "next", "url": page(result.offset + result.count)})
        if result.offset > 0:
            links.append({"relation": "previous", "url": page(max(0, result.offset - result.count))})
    entries = [
        {
            "fullUrl": f"{base}/{m.type}/{m.id}",
            "resource": _shaped(m, result.summary, result.elements),
            "search": {"mode": "match"},
        }
        for m in result.matches
    ] + [
        {
            "fullUrl": f"{base}/{m.type}/{m.id}",
            "resource": _shaped(m, result.summary, None),
            "search": {"mode": "include"},
        }
        for m in result.included
    ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if result.total is not None:
        bundle["total"] = result.total
    bundle["link"] = links
    if result.summary != "count":
        bundle["entry"] = entries
    return orjson.dumps(bundle)


def history_bundle(versions: list[tuple[StoredResource, str]], total: int, base: str, self_url: str) -> bytes:
    entries = []
    for stored, method in versions:
        entry: dict[str, Any] = {
            "fullUrl": f"{base}/{stored.type}/{stored.id}",
            "request": {"method": method, "url": f"{stored.type}/{stored.id}" if method != "POST" else stored.type},
            "response": {
                "status": {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}[method],
                "etag": stored.etag,
                "lastModified": stored.last_updated,
            },
        }
        if not stored.deleted:
            entry["resource"] = orjson.Fragment(stored.content)
        entries.append(entry)
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "history",
            "total": total,
            "link": [{"relation": "self", "url": self_url}],
            "entry": entries,
        }
    )
