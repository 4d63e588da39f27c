"""Dispatch `$operations` to the handlers domain packages registered through `medcity.kit.hooks`."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from medcity.auth.gate import Access
from medcity.fhir.http import base_url, json_response
from medcity.fhir.interactions import parse_query
from medcity.fhir.outcome import FHIR_JSON
from medcity.fhir.searchset import searchset
from medcity.kit.errors import InvalidRequest, MethodNotAllowed, NotFound
from medcity.kit.hooks import OperationCall, find_operation
from medcity.store.repository import check_type
from medcity.store.search import SearchResult

_STATUS_BY_TYPE = {"OperationOutcome": 200}


def query_to_parameters(query: list[tuple[str, str]]) -> dict[str, Any]:
    """A GET's query string as a Parameters resource, so handlers read their inputs one way."""
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, "valueString": value} for name, value in query if not name.startswith("_")],
    }


def invoke_operation(
    request: Request,
    access: Access,
    rtype: str | None,
    rid: str | None,
    name: str,
    body: dict[str, Any] | None,
) -> Response:
    if rtype is not None:
        check_type(rtype)
    spec = find_operation(rtype, name)
    if spec is None:
        where = f"{rtype}/" if rtype else ""
        raise NotFound(f"Operation {where}${name[:64]} is not supported by this server", status=404)
    if rid is not None and not spec.instance_level:
        raise InvalidRequest(f"${name} is not an instance-level operation")
    if rid is None and not spec.type_level:
        raise InvalidRequest(f"${name} needs a resource id: {rtype}/[id]/${name}")
    if request.method == "GET" and spec.affects_state:
        raise MethodNotAllowed(f"${name} changes data, so it must be invoked with POST")
    query = parse_query(request.url.query)
    if body is None:
        parameters = query_to_parameters(query)
    elif body.get("resourceType") == "Parameters":
        parameters = body
    else:
        parameters = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": body}]}
    access.require(f"operation:{name}", rtype, rid)
    call = OperationCall(
        name=name,
        resource_type=rtype,
        resource_id=rid,
        parameters=parameters,
        store=request.app.state.store,
        principal=access.principal,
        access=access,
        query=query,
        base_url=base_url(request),
    )
    result = spec.handler(call)
    access.record(f"operation:{name}", rtype, rid)
    if isinstance(result, SearchResult):
        for match in result.matches:
            access.record_read("read", match)
        return Response(searchset(result, base_url(request)), media_type=FHIR_JSON)
    return json_response(result)
