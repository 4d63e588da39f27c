"""The FHIR interactions on one transaction, shared by the REST routes and by batch/transaction Bundles, so a
bundle entry behaves exactly as the same request sent alone."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from medcity.auth.gate import Access
from medcity.kit.errors import InvalidRequest, PreconditionFailed
from medcity.kit.hooks import apply_write_rules, find_write_interceptor
from medcity.store.repository import Store, StoredResource, Tx, WriteResult, check_type
from medcity.store.search import SearchResult

JSON = dict[str, Any]


def _intercepted(tx: Tx, access: Access, data: JSON, interaction: str) -> StoredResource | None:
    """What a domain workflow wrote in place of the generic write, if one owns this write (see kit.hooks)."""
    interceptor = find_write_interceptor(data["resourceType"], interaction)
    stored: StoredResource | None = interceptor(tx, data, access.principal) if interceptor else None
    return stored


def parse_query(query: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise InvalidRequest(f"The query string cannot be read: {exc}") from None


def _matches(tx: Tx, access: Access, rtype: str, query: str, what: str) -> list[StoredResource]:
    params = [p for p in parse_query(query) if not p[0].startswith("_") or p[0] in ("_id", "_lastUpdated")]
    if not params:
        raise InvalidRequest(f"{what} needs search criteria")
    result = tx.search(rtype, [*params, ("_count", "2")], restrict=access.restriction, strict=True)
    return result.matches


def search(tx: Tx, access: Access, rtype: str, params: list[tuple[str, str]], **options: Any) -> SearchResult:
    """A search as the caller may make it: refused for a type they may not search, narrowed to the rows they may
    see, and every match and include noted for the audit (with its patient)."""
    check_type(rtype)
    access.require("search", rtype)
    result = tx.search(rtype, params, restrict=access.search_restriction(tx, rtype, params), **options)
    for match in [*result.matches, *result.included]:
        access.record_read("search", match)
    return result


def create(
    tx: Tx, access: Access, data: JSON, *, if_none_exist: str | None = None, rid: str | None = None
) -> WriteResult:
    """Create; `rid` is an id the server itself assigned earlier (a transaction's urn:uuid entries)."""
    rtype = data["resourceType"]
    if if_none_exist:
        found = _matches(tx, access, rtype, if_none_exist, "If-None-Exist")
        if len(found) > 1:
            raise PreconditionFailed(f"If-None-Exist matched more than one {rtype}")
        if found:
            access.require("read", rtype, found[0])
            return WriteResult(stored=found[0], created=False, existing=True)
    data = {k: v for k, v in data.items() if k != "id"}  # the server assigns ids on create
    access.require("create", rtype, data, tx=tx)
    data = apply_write_rules(tx, data)
    taken = _intercepted(tx, access, data, "create")
    result = WriteResult(stored=taken, created=True) if taken else tx.create(data, rid=rid)
    access.record("create", rtype, result.stored.id, tx=tx, patient=result.stored.patient)
    return result


def update(tx: Tx, access: Access, data: JSON, *, if_match: int | None = None) -> WriteResult:
    rtype, rid = data["resourceType"], data.get("id")
    current = tx.current(rtype, rid) if isinstance(rid, str) else None
    access.require("update" if current and not current.deleted else "create", rtype, data, tx=tx)
    data = apply_write_rules(tx, data)
    if if_match is not None and current is not None and current.version != if_match:
        raise PreconditionFailed(f"{rtype}/{rid} is at version {current.version}, not {if_match}")
    taken = _intercepted(tx, access, data, "update" if current and not current.deleted else "create")
    result = WriteResult(stored=taken, created=False) if taken else tx.update(data, if_match=if_match)
    access.record("update", rtype, result.stored.id, tx=tx, patient=result.stored.patient)
    return result


def conditional_update(tx: Tx, access: Access, data: JSON, query: str, *, if_match: int | None = None) -> WriteResult:
    rtype = data["resourceType"]
    found = _matches(tx, access, rtype, query, "A conditional update")
    if len(found) > 1:
        raise PreconditionFailed(f"The conditional update matched more than one {rtype}")
    if found:
        if data.get("id") not in (None, found[0].id):
            raise InvalidRequest(f"The body's id {str(data['id'])[:64]} is not the matched {rtype}/{found[0].id}")
        return update(tx, access, {**data, "id": found[0].id}, if_match=if_match)
    if "id" in data:
        return update(tx, access, data, if_match=if_match)
    return create(tx, access, data)


def delete(tx: Tx, access: Access, rtype: str, rid: str) -> StoredResource | None:
    current = tx.current(rtype, rid)
    access.require("delete", rtype, current, tx=tx)
    _intercepted(tx, access, {"resourceType": rtype, "id": rid}, "delete")
    stored = tx.delete(rtype, rid)
    access.record("delete", rtype, rid, tx=tx, patient=current.patient if current else None)
    return stored


def conditional_delete(tx: Tx, access: Access, rtype: str, query: str) -> StoredResource | None:
    found = _matches(tx, access, rtype, query, "A conditional delete")
    if len(found) > 1:
        raise PreconditionFailed(f"The conditional delete matched more than one {rtype}")
    return delete(tx, access, rtype, found[0].id) if found else None


def read(tx: Tx, access: Access, rtype: str, rid: str) -> StoredResource:
    return _read_checked(tx.read(rtype, rid), access)


def read_by_id(store: Store, access: Access, rtype: str, rid: str) -> StoredResource:
    """A read on its own, outside any transaction (the REST read). When the policy decides it by the row (a
    doctor's care check), the read asks the row condition along with the row: one statement instead of two."""
    cond = access.row_condition("read", rtype)
    if cond is None:
        return _read_checked(store.read(rtype, rid), access)
    stored, meets = store.read_meeting(rtype, rid, cond)
    access.require("read", stored.type, stored, meets=meets)
    access.record_read("read", stored)
    return stored


def _read_checked(stored: StoredResource, access: Access) -> StoredResource:
    access.require("read", stored.type, stored)
    access.record_read("read", stored)
    return stored


def vread(tx: Tx, access: Access, rtype: str, rid: str, version: int) -> StoredResource:
    stored = tx.vread(rtype, rid, version)
    access.require("read", rtype, stored)
    access.record("vread", rtype, rid)
    return stored
