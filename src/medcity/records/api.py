"""FHIR operations on the record: Patient/[id]/$everything and Patient/[id]/$summary."""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, operation
from medcity.kit.parameters import Parameters
from medcity.records import service
from medcity.store.search import SearchResult
from medcity.store.searchparams import registry
from medcity.store.values import date_range, now_instant


def opened_patient(call: OperationCall) -> Any:
    """The Patient an instance-level operation is invoked on, read under the policy like any read of it (another
    patient's answers 404, as an unknown id does)."""
    assert call.resource_id is not None  # instance-level only
    with call.store.reader() as tx:
        patient = tx.read("Patient", call.resource_id)
    if call.access is not None:
        call.access.require("read", "Patient", patient)
    return patient


@operation("everything", resource_types=("Patient",), type_level=False, instance_level=True,
           description="The patient's whole record, paged; honours the access policy")  # fmt: skip
def everything(call: OperationCall) -> SearchResult:
    opened_patient(call)
    # The spec's inputs are `_count`, `_since` and `_type`; on a GET they arrive in the query string.
    params = Parameters({"resourceType": "Parameters", "parameter": [
        *call.parameters.get("parameter", []), *({"name": k, "valueString": v} for k, v in call.query)]})  # fmt: skip
    count = params.integer("_count", low=1, high=1000) or 100
    since = params.text("_since")
    if since and date_range(since) is None:
        raise InvalidRequest(f"_since '{since[:40]}' is not a FHIR instant")
    types_param = params.text("_type")
    types = [t for t in types_param.split(",") if t] if types_param else None
    for t in types or []:
        if t not in registry().resource_types:
            raise InvalidRequest(f"_type: '{t[:64]}' is not a resource type this server holds")
    with call.store.reader() as tx:
        restrict = call.access.restriction_for(tx, call.resource_id or "") if call.access is not None else None
        return service.everything(
            tx, patient_id=call.resource_id or "", count=count, types=types, since=since, restrict=restrict
        )


@operation("summary", resource_types=("Patient",), type_level=False, instance_level=True,
           description="A patient summary document (International Patient Summary sections)")  # fmt: skip
def summary(call: OperationCall) -> dict[str, Any]:
    opened_patient(call)
    with call.store.reader() as tx:
        restrict = call.access.restriction_for(tx, call.resource_id or "") if call.access is not None else None
        return service.summary(
            tx, patient_id=call.resource_id or "", restrict=restrict, base=call.base_url, now=now_instant()
        )
