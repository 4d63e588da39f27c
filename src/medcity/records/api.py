"""FHIR operations on the record: Patient/[id]/$everything and Patient/[id]/$summary."""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, operation
from medcity.records import service
from medcity.store.search import SearchResult
from medcity.store.searchparams import registry
from medcity.store.values import date_range, now_instant


def _param(call: OperationCall, name: str) -> str | None:
    for p in call.parameters.get("parameter", []):
        if p.get("name") == name:
            for key, value in p.items():
                if key.startswith("value"):
                    return str(value)
    return None


def _patient(call: OperationCall) -> Any:
    assert call.resource_id is not None  # instance-level only
    with call.store.reader() as tx:
        patient = tx.read("Patient", call.resource_id)
    if call.access is not None:
        call.access.require("read", "Patient", patient)
    return patient


@operation("everything", resource_types=("Patient",), type_level=False, instance_level=True,
           description="The patient's whole record, paged; honours the access policy")  # fmt: skip
def everything(call: OperationCall) -> SearchResult:
    _patient(call)
    raw_count = _param(call, "_count") or dict(call.query).get("_count") or "100"
    if not raw_count.isdigit() or not 1 <= int(raw_count) <= 1000:
        raise InvalidRequest("_count must be a whole number from 1 to 1000")
    since = _param(call, "_since") or dict(call.query).get("_since")
    if since and date_range(since) is None:
        raise InvalidRequest(f"_since '{since[:40]}' is not a FHIR instant")
    types_param = _param(call, "_type") or dict(call.query).get("_type")
    types = [t for t in types_param.split(",") if t] if types_param else None
    for t in types or []:
        if t not in registry().resource_types:
            raise InvalidRequest(f"_type: '{t[:64]}' is not a resource type this server holds")
    restrict = call.access.restriction if call.access is not None else None
    with call.store.reader() as tx:
        return service.everything(
            tx, patient_id=call.resource_id or "", count=int(raw_count), types=types, since=since, restrict=restrict
        )


@operation("summary", resource_types=("Patient",), type_level=False, instance_level=True,
           description="A patient summary document (International Patient Summary sections)")  # fmt: skip
def summary(call: OperationCall) -> dict[str, Any]:
    _patient(call)
    restrict = call.access.restriction if call.access is not None else None
    with call.store.reader() as tx:
        return service.summary(
            tx, patient_id=call.resource_id or "", restrict=restrict, base=call.base_url, now=now_instant()
        )
