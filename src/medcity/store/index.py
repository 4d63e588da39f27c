"""Extract the search-index rows of a resource from its compiled search parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from medcity.store.searchparams import KeyChain, SearchParam, registry
from medcity.store.values import MAX_INDEXED, MIN_MS, date_range, normalize_text

JSON = dict[str, Any]
# Served from the resource row itself, so not indexed again.
_COLUMN_PARAMS = frozenset({"_id", "_lastUpdated"})
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def _walk(node: Any, keys: tuple[str, ...]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, keys)
        return
    if not keys:
        yield node
        return
    if isinstance(node, dict) and keys[0] in node:
        yield from _walk(node[keys[0]], keys[1:])


def _strings(value: Any, leaf: str) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        parts = _NAME_PARTS if leaf == "HumanName" else _ADDRESS_PARTS if leaf == "Address" else ("text",)
        for part in parts:
            item = value.get(part)
            for text in item if isinstance(item, list) else [item]:
                if isinstance(text, str):
                    yield text


def _tokens(value: Any, leaf: str) -> Iterator[tuple[str | None, str | None, str | None]]:
    if isinstance(value, bool):
        yield None, "true" if value else "false", None
    elif isinstance(value, str):
        yield None, value, None
    elif isinstance(value, dict):
        if leaf == "CodeableConcept":
            text = value.get("text")
            codings = value.get("coding") or []
            for coding in codings:
                yield coding.get("system"), coding.get("code"), text or coding.get("display")
            if text and not codings:
                yield None, None, text
        elif leaf == "Identifier":
            yield value.get("system"), value.get("value"), (value.get("type") or {}).get("text")
        elif leaf == "ContactPoint":
            yield value.get("system"), value.get("value"), None
        elif "code" in value or "system" in value:
            yield value.get("system"), value.get("code"), value.get("display")


def _dates(value: Any) -> Iterator[tuple[int, int]]:
    if isinstance(value, str):
        span = date_range(value)
        if span:
            yield span
    elif isinstance(value, dict):
        if "start" in value or "end" in value:
            start = date_range(value["start"]) if "start" in value else None
            end = date_range(value["end"]) if "end" in value else None
            yield (start[0] if start else MIN_MS), (end[1] if end else 2**62)
        for event in value.get("event", []):
            yield from _dates(event)


def _reference(value: Any, ref_types: tuple[str, ...]) -> tuple[str | None, str] | None:
    ref = value.get("reference") if isinstance(value, dict) else value if isinstance(value, str) else None
    if not isinstance(ref, str) or not ref:
        return None
    parts = ref.split("/")
    # Relative "Type/id" or "Type/id/_history/n"; anything else (absolute URL, urn, canonical) is kept whole.
    if len(parts) in (2, 4) and parts[0][:1].isupper() and "://" not in ref and ":" not in parts[0]:
        target_type, target_id = parts[0], parts[1]
    else:
        target_type, target_id = None, ref.split("|")[0]
    if ref_types and target_type not in ref_types:
        return None
    return target_type, target_id[:256]


def _rows(param: SearchParam, chain: KeyChain, value: Any) -> Iterator[tuple[Any, ...]]:
    if chain.where and (not isinstance(value, dict) or value.get(chain.where[0]) != chain.where[1]):
        return
    kind = param.type
    if kind == "string":
        for text in _strings(value, chain.leaf_type):
            yield normalize_text(text), text[:MAX_INDEXED]
    elif kind == "token":
        for system, code, display in _tokens(value, chain.leaf_type):
            if code is not None or display:
                yield (system or None), code, (normalize_text(display) if display else None)
    elif kind == "date":
        yield from _dates(value)
    elif kind == "reference":
        ref = _reference(value, chain.ref_types)
        if ref:
            yield ref
    elif kind == "quantity":
        if isinstance(value, dict) and isinstance(value.get("value"), int | float):
            yield float(value["value"]), value.get("system"), value.get("code") or value.get("unit")
    elif kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield (float(value),)
    elif kind == "uri" and isinstance(value, str):
        yield (value[:MAX_INDEXED],)


# Index rows per index kind (string, token, date, ...): each row is (param, *values).
IndexRows = dict[str, list[tuple[Any, ...]]]


def extract(resource: JSON) -> IndexRows:
    """Index rows per index kind: each row is (param, *values), unique within the resource."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for code, param in registry().for_type(resource["resourceType"]).items():
        if code in _COLUMN_PARAMS:
            continue
        for chain in param.chains:
            for value in _walk(resource, chain.keys):
                for row in _rows(param, chain, value):
                    out.setdefault(param.type, set()).add((code, *row))
    return {kind: sorted(rows, key=repr) for kind, rows in out.items()}


def compartment_patient(resource: JSON) -> str | None:
    """The patient whose compartment holds this resource (the first found), for access control and $everything."""
    rtype = resource["resourceType"]
    if rtype == "Patient":
        return str(resource.get("id")) if resource.get("id") else None
    reg = registry()
    for code in reg.compartment.get(rtype, ()):
        param = reg.get(rtype, code)
        if param is None:
            continue
        for chain in param.chains:
            for value in _walk(resource, chain.keys):
                ref = _reference(value, ())
                if ref and ref[0] == "Patient":
                    return ref[1]
    return None
