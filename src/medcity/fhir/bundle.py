"""batch and transaction Bundles. A transaction is one store transaction: all of it, or nothing of it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from medcity.auth.gate import Access
from medcity.fhir import interactions
from medcity.fhir.http import check_id, if_match_version
from medcity.fhir.outcome import outcome
from medcity.fhir.searchset import searchset
from medcity.kit.errors import InvalidRequest, MedcityError, PreconditionFailed
from medcity.kit.ids import new_id
from medcity.store.repository import Store, StoredResource, Tx, check_type

JSON = dict[str, Any]
# The order in which a transaction's entries are processed (FHIR R4 3.1.0.11.2).
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}
MAX_ENTRIES = 10_000


def _entries(bundle: JSON) -> list[JSON]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidRequest("Bundle.entry must be a list of objects")
    if len(entries) > MAX_ENTRIES:
        raise InvalidRequest(f"A bundle may hold at most {MAX_ENTRIES} entries")
    for i, entry in enumerate(entries):
        request = entry.get("request")
        if (
            not isinstance(request, dict)
            or request.get("method") not in _ORDER
            or not isinstance(request.get("url"), str)
        ):
            raise InvalidRequest(f"Bundle.entry[{i}].request needs a method (GET POST PUT DELETE) and a url")
        if request["method"] in ("POST", "PUT") and not isinstance(entry.get("resource"), dict):
            raise InvalidRequest(f"Bundle.entry[{i}] ({request['method']}) needs a resource")
    return entries


def _split_url(url: str) -> tuple[str, str | None, str]:
    """'Patient/123?x=y' → ('Patient', '123', 'x=y')."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if "/fhir/" in path:
        path = path.split("/fhir/", 1)[1]
    segments = path.split("/") if path else []
    if not segments:
        raise InvalidRequest(f"Bundle request url '{url[:80]}' names no resource type")
    rtype = segments[0]
    check_type(rtype)
    rid = segments[1] if len(segments) > 1 else None
    if rid is not None:
        check_id(rid)
    return rtype, rid, parts.query


def _rewrite(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in mapping:
                out[key] = mapping[value]
            else:
                out[key] = _rewrite(value, mapping)
        return out
    if isinstance(node, list):
        return [_rewrite(item, mapping) for item in node]
    return node


def _conditional_references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and "?" in value and "/" not in value.split("?")[0]:
                found.add(value)
            else:
                _conditional_references(value, found)
    elif isinstance(node, list):
        for item in node:
            _conditional_references(item, found)


def _resolve_conditional(tx: Tx, access: Access, reference: str) -> str:
    rtype, _, query = reference.partition("?")
    check_type(rtype)
    result = tx.search(rtype, [*interactions.parse_query(query), ("_count", "2")], restrict=access.restriction,
                       strict=True)  # fmt: skip
    if len(result.matches) != 1:
        raise PreconditionFailed(
            f"Conditional reference '{reference[:120]}' matched {len(result.matches)} resources, not exactly one"
        )
    return f"{rtype}/{result.matches[0].id}"


def _response(stored: StoredResource | None, status: str) -> JSON:
    response: JSON = {"status": status}
    if stored is not None:
        response["location"] = f"{stored.type}/{stored.id}/_history/{stored.version}"
        response["etag"] = stored.etag
        response["lastModified"] = stored.last_updated
    return response


def _execute(tx: Tx, access: Access, entry: JSON, base: str) -> JSON:
    """One entry, as the equivalent REST call; returns the response entry."""
    request = entry["request"]
    method = request["method"]
    rtype, rid, query = _split_url(request["url"])
    if method == "GET":
        if rid:
            stored = interactions.read(tx, access, rtype, rid)
            return {"resource": orjson.Fragment(stored.content), "response": _response(stored, "200 OK")}
        found = interactions.search(tx, access, rtype, interactions.parse_query(query))
        return {"resource": orjson.Fragment(searchset(found, base)), "response": {"status": "200 OK"}}
    if method == "DELETE":
        if rid:
            interactions.delete(tx, access, rtype, rid)
        else:
            interactions.conditional_delete(tx, access, rtype, query)
        return {"response": {"status": "204 No Content"}}
    data: JSON = entry["resource"]
    if data.get("resourceType") != rtype:
        raise InvalidRequest(f"The entry's resource is not a {rtype}")
    if method == "POST":
        if rid:
            raise InvalidRequest("POST entries name a type, not an id")
        existing, assigned = entry.get("_assigned", (None, None))
        if existing is not None:
            access.require("read", rtype, existing)
            return {"resource": orjson.Fragment(existing.content), "response": _response(existing, "200 OK")}
        result = interactions.create(tx, access, data, if_none_exist=request.get("ifNoneExist"), rid=assigned)
        status = "200 OK" if result.existing else "201 Created"
    else:
        if_match = if_match_version(request.get("ifMatch"))
        if rid:
            if data.get("id") != rid:
                raise InvalidRequest(f"The entry's resource id must be {rid}")
            result = interactions.update(tx, access, data, if_match=if_match)
        else:
            result = interactions.conditional_update(tx, access, data, query, if_match=if_match)
        status = "201 Created" if result.created else "200 OK"
    # The stored bytes as they are: no parse and re-serialisation of every entry of a large bundle.
    return {"resource": orjson.Fragment(result.stored.content), "response": _response(result.stored, status)}


def _transaction(store: Store, access: Access, entries: list[JSON], base: str) -> JSON:
    order = sorted(range(len(entries)), key=lambda i: _ORDER[entries[i]["request"]["method"]])
    responses: dict[int, JSON] = {}
    with store.transaction() as tx:
        # Give every urn:uuid a real id first, so entries can point at each other whatever their order.
        mapping: dict[str, str] = {}
        prepared = [dict(e) for e in entries]
        for i, entry in enumerate(prepared):
            full_url = entry.get("fullUrl")
            method = entry["request"]["method"]
            if isinstance(full_url, str) and full_url.startswith("urn:uuid:") and method == "POST":
                if full_url in mapping:
                    raise InvalidRequest(f"Bundle.entry[{i}].fullUrl {full_url} is used twice")
                if_none_exist = entry["request"].get("ifNoneExist")
                existing = None
                if if_none_exist:
                    rtype = entry["resource"]["resourceType"]
                    check_type(rtype)
                    query = [*interactions.parse_query(if_none_exist), ("_count", "2")]
                    found = tx.search(rtype, query, restrict=access.restriction, strict=True).matches
                    if len(found) > 1:
                        raise PreconditionFailed(f"Bundle.entry[{i}] ifNoneExist matched more than one resource")
                    existing = found[0] if found else None
                rid = existing.id if existing else new_id()
                mapping[full_url] = f"{entry['resource']['resourceType']}/{rid}"
                # Either the match found, or a create under an id assigned now (which nobody else can know).
                entry["request"] = {**entry["request"], "ifNoneExist": None}
                entry["_assigned"] = (existing, rid)
        conditional: set[str] = set()
        for entry in prepared:
            _conditional_references(entry.get("resource"), conditional)
        for reference in sorted(conditional):
            mapping[reference] = _resolve_conditional(tx, access, reference)
        for i in order:
            entry = prepared[i]
            if "resource" in entry:
                entry["resource"] = _rewrite(entry["resource"], mapping)
            try:
                responses[i] = _execute(tx, access, entry, base)
            except MedcityError as error:
                error.diagnostics = f"Bundle.entry[{i}]: {error.diagnostics}"
                for issue in error.issues:
                    issue.diagnostics = f"Bundle.entry[{i}]: {issue.diagnostics}"
                    issue.expression = issue.expression or [f"Bundle.entry[{i}]"]
                raise
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [responses[i] for i in range(len(entries))],
    }


def _batch(store: Store, access: Access, entries: list[JSON], base: str) -> JSON:
    out = []
    for entry in entries:
        try:
            with store.transaction() as tx:
                out.append(_execute(tx, access, entry, base))
        except MedcityError as error:
            out.append({"response": {"status": f"{error.status}", "outcome": outcome(error.issues)}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def process_bundle(store: Store, access: Access, bundle: JSON, base: str) -> JSON:
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise InvalidRequest(f"Bundle.type must be transaction or batch to be processed, not '{str(kind)[:40]}'")
    entries = _entries(bundle)
    access.require(f"bundle:{kind}", None)
    if kind == "transaction":
        return _transaction(store, access, entries, base)
    return _batch(store, access, entries, base)
