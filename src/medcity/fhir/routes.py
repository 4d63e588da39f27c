"""FHIR R4 REST routes at /fhir. Each route: parse → ask the gate → one store transaction → respond."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from medcity.auth.gate import Access, access_scope, get_access
from medcity.fhir import interactions
from medcity.fhir.bundle import process_bundle
from medcity.fhir.capability import capability_statement
from medcity.fhir.http import (
    FORM,
    base_url,
    check_body_type,
    check_id,
    content_type,
    if_match_version,
    json_body,
    json_response,
    prefer_return,
    read_body,
    resource_response,
    settings_of,
    strict_handling,
)
from medcity.fhir.operations import invoke_operation
from medcity.fhir.outcome import FHIR_JSON
from medcity.fhir.searchset import history_bundle, searchset
from medcity.kit.errors import InvalidRequest, MethodNotAllowed, UnsupportedMediaType
from medcity.store.repository import Store, check_type
from medcity.store.search import page_from_snapshot
from medcity.store.values import date_range

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _query(request: Request) -> list[tuple[str, str]]:
    return interactions.parse_query(request.url.query)


def _search(request: Request, access: Access, rtype: str, params: list[tuple[str, str]]) -> Response:
    settings = settings_of(request)
    with _store(request).reader() as tx:
        result = interactions.search(
            tx,
            access,
            rtype,
            params,
            strict=strict_handling(request),
            default_count=settings.default_page_size,
            max_count=settings.max_page_size,
        )
    return Response(searchset(result, base_url(request)), media_type=FHIR_JSON)


@router.get("/metadata", summary="CapabilityStatement")
def metadata(request: Request) -> Response:
    return json_response(capability_statement(base_url(request)))


@router.get("", summary="System-level: next pages of a search, or a system operation")
def system_get(request: Request, access: Access = Depends(get_access)) -> Response:
    params = dict(_query(request))
    sid = params.get("_getpages")
    if not sid:
        raise InvalidRequest("System-level search is not supported: search a resource type, e.g. /fhir/Patient?")
    try:
        offset, count = int(params.get("_offset", "0")), int(params.get("_count", "20"))
    except ValueError:
        raise InvalidRequest("_offset and _count must be whole numbers") from None
    if offset < 0 or not 0 <= count <= settings_of(request).max_page_size:
        raise InvalidRequest("_offset or _count is out of range")
    with _store(request).reader() as tx:
        result = page_from_snapshot(tx, sid, offset, count, restrict=access.restriction)
        access.require("search", result.resource_type)
        for match in [*result.matches, *result.included]:
            access.record_read("search", match)
    return Response(searchset(result, base_url(request)), media_type=FHIR_JSON)


@router.post("", summary="batch or transaction Bundle")
async def system_post(request: Request, access: Access = Depends(get_access)) -> Response:
    data = await json_body(request)
    if data["resourceType"] != "Bundle":
        raise InvalidRequest("POST /fhir takes a batch or transaction Bundle")
    result = await run_in_threadpool(process_bundle, _store(request), access, data, base_url(request))
    return json_response(result)


@router.get("/_history", summary="System history")
def system_history(request: Request, access: Access = Depends(get_access)) -> Response:
    return _history(request, access, None, None)


def _history(request: Request, access: Access, rtype: str | None, rid: str | None) -> Response:
    params = dict(_query(request))
    try:
        count = min(int(params.get("_count", "100")), settings_of(request).max_page_size)
        offset = int(params.get("_offset", "0"))
    except ValueError:
        raise InvalidRequest("_count and _offset must be whole numbers") from None
    since = params.get("_since")
    if since and date_range(since) is None:
        raise InvalidRequest(f"_since '{since[:40]}' is not a FHIR instant")
    access.require("history", rtype)
    with _store(request).reader() as tx:
        versions, total = tx.history(
            rtype, rid, since=since, at_most=max(count, 0), offset=max(offset, 0), restrict=access.restriction
        )
        for stored, _method in versions:
            access.record("history", stored.type, stored.id)
    return Response(history_bundle(versions, total, base_url(request), str(request.url)), media_type=FHIR_JSON)


@router.get("/{rtype}", summary="Search (or a type-level operation)")
def search_get(rtype: str, request: Request, access: Access = Depends(get_access)) -> Response:
    if rtype.startswith("$"):
        return invoke_operation(request, access, None, None, rtype[1:], None)
    return _search(request, access, rtype, _query(request))


@router.post("/{rtype}/_search", summary="Search by POST (form body)")
async def search_post(rtype: str, request: Request, access: Access = Depends(get_access)) -> Response:
    if content_type(request) != FORM:
        raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded")
    body = (await read_body(request)).decode("utf-8", errors="replace")
    params = _query(request) + interactions.parse_query(body)
    return await run_in_threadpool(_search, request, access, rtype, params)


@router.get("/{rtype}/_history", summary="Type history")
def type_history(rtype: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    return _history(request, access, rtype, None)


@router.post("/{rtype}", summary="Create (or a type-level operation)")
async def create(rtype: str, request: Request, access: Access = Depends(get_access)) -> Response:
    if rtype.startswith("$"):
        body = await _operation_body(request)
        return await run_in_threadpool(invoke_operation, request, access, None, None, rtype[1:], body)
    check_type(rtype)
    data = await json_body(request)
    check_body_type(data, rtype)
    if_none_exist = request.headers.get("if-none-exist")

    def run() -> Response:
        with _store(request).transaction() as tx:
            result = interactions.create(tx, access, data, if_none_exist=if_none_exist)
        return resource_response(
            result.stored, status=200 if result.existing else 201, base=base_url(request),
            prefer=prefer_return(request),
        )  # fmt: skip

    return await run_in_threadpool(run)


@router.put("/{rtype}", summary="Conditional update")
async def conditional_update(rtype: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    data = await json_body(request)
    check_body_type(data, rtype)
    if not request.url.query:
        raise MethodNotAllowed("PUT needs an id (/fhir/Type/id) or search criteria (/fhir/Type?...)")
    if_match = if_match_version(request.headers.get("if-match"))

    def run() -> Response:
        with _store(request).transaction() as tx:
            result = interactions.conditional_update(tx, access, data, request.url.query, if_match=if_match)
        return resource_response(result.stored, status=201 if result.created else 200, base=base_url(request),
                                 prefer=prefer_return(request))  # fmt: skip

    return await run_in_threadpool(run)


@router.delete("/{rtype}", summary="Conditional delete")
def conditional_delete(rtype: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    if not request.url.query:
        raise MethodNotAllowed("DELETE needs an id (/fhir/Type/id) or search criteria (/fhir/Type?...)")
    with _store(request).transaction() as tx:
        interactions.conditional_delete(tx, access, rtype, request.url.query)
    return Response(status_code=204)


@router.get("/{rtype}/{rid}", summary="Read (or an instance/type operation)")
async def read(rtype: str, rid: str, request: Request, access: Access = Depends(get_access)) -> Response:
    if rid.startswith("$"):
        return await run_in_threadpool(invoke_operation, request, access, rtype, None, rid[1:], None)
    check_type(rtype)
    check_id(rid)
    return await _read(request, access, rtype, rid)


def _read_now(request: Request, access: Access, rtype: str, rid: str) -> Response:
    return resource_response(interactions.read_by_id(_store(request), access, rtype, rid))


async def _read(request: Request, access: Access, rtype: str, rid: str) -> Response:
    # On SQLite a read by id is an in-process B-tree lookup, cheaper than the hop to a worker thread, so it runs
    # on the event loop. On PostgreSQL it waits on a network round trip that other requests can overlap, so it
    # goes to the thread pool like everything else.
    if _store(request).postgres:
        return await run_in_threadpool(_read_now, request, access, rtype, rid)
    return _read_now(request, access, rtype, rid)


class _Convertor(Convertor[str]):
    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _TypeConvertor(_Convertor):
    regex = "[A-Z][A-Za-z]{1,63}"


class _IdConvertor(_Convertor):
    regex = "[A-Za-z0-9][A-Za-z0-9.-]{0,63}"  # a FHIR id that is not an operation ($) or _history


register_url_convertor("fhirtype", _TypeConvertor())
register_url_convertor("fhirid", _IdConvertor())


async def _fast_read(request: Request) -> Response:
    async with access_scope(request) as access:
        rtype, rid = request.path_params["rtype"], request.path_params["rid"]
        check_type(rtype)
        return await _read(request, access, rtype, rid)


# The hottest interaction, routed ahead of everything else without the framework's per-request dependency
# resolution and route scan (which cost three times the read itself); same gate, same store call, same answer.
fast_read_route = Route("/fhir/{rtype:fhirtype}/{rid:fhirid}", _fast_read, methods=["GET"], include_in_schema=False)


@router.post("/{rtype}/{rid}", summary="Type-level operation")
async def type_operation(rtype: str, rid: str, request: Request, access: Access = Depends(get_access)) -> Response:
    if not rid.startswith("$"):
        raise MethodNotAllowed(f"POST is not allowed on {rtype}/{rid[:64]}: use PUT to update")
    body = await _operation_body(request)
    return await run_in_threadpool(invoke_operation, request, access, rtype, None, rid[1:], body)


@router.put("/{rtype}/{rid}", summary="Update (or create with this id)")
async def update(rtype: str, rid: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    check_id(rid)
    data = await json_body(request)
    check_body_type(data, rtype)
    if data.get("id") != rid:
        raise InvalidRequest(f"The body's id ({str(data.get('id'))[:64]}) must equal the URL's id ({rid})")
    if_match = if_match_version(request.headers.get("if-match"))

    def run() -> Response:
        with _store(request).transaction() as tx:
            result = interactions.update(tx, access, data, if_match=if_match)
        return resource_response(result.stored, status=201 if result.created else 200, base=base_url(request),
                                 prefer=prefer_return(request))  # fmt: skip

    return await run_in_threadpool(run)


@router.delete("/{rtype}/{rid}", summary="Delete")
def delete(rtype: str, rid: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    check_id(rid)
    with _store(request).transaction() as tx:
        interactions.delete(tx, access, rtype, rid)
    return Response(status_code=204)


@router.get("/{rtype}/{rid}/_history", summary="Instance history")
def instance_history(rtype: str, rid: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    check_id(rid)
    return _history(request, access, rtype, rid)


@router.get("/{rtype}/{rid}/_history/{vid}", summary="Version read")
def vread(rtype: str, rid: str, vid: str, request: Request, access: Access = Depends(get_access)) -> Response:
    check_type(rtype)
    check_id(rid)
    if not vid.isdigit() or len(vid) > 9:
        raise InvalidRequest(f"'{vid[:20]}' is not a version number")
    with _store(request).reader() as tx:
        stored = interactions.vread(tx, access, rtype, rid, int(vid))
    return resource_response(stored)


@router.get("/{rtype}/{rid}/{op}", summary="Instance operation")
def instance_operation_get(
    rtype: str, rid: str, op: str, request: Request, access: Access = Depends(get_access)
) -> Response:
    if not op.startswith("$"):
        raise MethodNotAllowed(f"Unknown path {rtype}/{rid[:64]}/{op[:64]}")
    check_id(rid)
    return invoke_operation(request, access, rtype, rid, op[1:], None)


@router.post("/{rtype}/{rid}/{op}", summary="Instance operation")
async def instance_operation_post(
    rtype: str, rid: str, op: str, request: Request, access: Access = Depends(get_access)
) -> Response:
    if not op.startswith("$"):
        raise MethodNotAllowed(f"Unknown path {rtype}/{rid[:64]}/{op[:64]}")
    check_id(rid)
    body = await _operation_body(request)
    return await run_in_threadpool(invoke_operation, request, access, rtype, rid, op[1:], body)


async def _operation_body(request: Request) -> dict[str, Any] | None:
    if not await _has_body(request):
        return None
    return await json_body(request)


async def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length != "0"
    return bool(request.headers.get("transfer-encoding"))
