"""FHIR operations of the patient register: `Patient/$match` (the master patient index) and `Patient/$merge`.

Thin: read the Parameters, call `service`, shape the answer.
"""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, before_write, operation
from medcity.registry import service
from medcity.store.repository import Tx

JSON = dict[str, Any]
MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"
DEFAULT_COUNT, MAX_COUNT = 10, 100


def _params(call: OperationCall) -> dict[str, JSON]:
    parameters = call.parameters or {}
    if parameters.get("resourceType") != "Parameters":
        raise InvalidRequest("The operation takes a Parameters resource")
    return {p["name"]: p for p in parameters.get("parameter") or [] if isinstance(p, dict) and "name" in p}


def _value(param: JSON | None) -> Any:
    """The value of a Parameters.parameter, whatever value[x] it came in (a GET brings strings)."""
    if param is None:
        return None
    for key, value in param.items():
        if key.startswith("value"):
            return value
    return None


def _count(param: JSON | None) -> int:
    raw = _value(param)
    if raw is None:
        return DEFAULT_COUNT
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise InvalidRequest(f"count must be a whole number, not '{str(raw)[:40]}'") from None
    if count < 1:
        raise InvalidRequest("count must be at least 1")
    return min(count, MAX_COUNT)


def _flag(param: JSON | None) -> bool:
    raw = _value(param)
    if isinstance(raw, bool) or raw is None:
        return bool(raw)
    if str(raw).lower() in ("true", "false"):
        return str(raw).lower() == "true"
    raise InvalidRequest(f"onlyCertainMatches must be true or false, not '{str(raw)[:40]}'")


@operation(
    "match",
    resource_types=("Patient",),
    description="Master patient index: scored candidate records for a Patient (certain/probable/possible)",
)
def match_operation(call: OperationCall) -> JSON:
    params = _params(call)
    patient = (params.get("resource") or {}).get("resource")
    if not isinstance(patient, dict):
        raise InvalidRequest("$match needs the parameter 'resource' holding a Patient")
    count, only_certain = _count(params.get("count")), _flag(params.get("onlyCertainMatches"))
    with call.store.reader() as tx:
        found = service.match(tx, patient, count=count, only_certain=only_certain)
    base = call.base_url.rstrip("/")
    entries = []
    for m in found:
        entry: JSON = {
            "resource": m.patient.resource,
            "search": {
                "extension": [{"url": MATCH_GRADE_URL, "valueCode": m.grade}],
                "mode": "match",
                "score": m.score,
            },
        }
        if base:
            entry = {"fullUrl": f"{base}/{m.patient.reference}", **entry}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def _patient_id(param: JSON | None, name: str) -> str:
    raw = _value(param)
    reference = raw.get("reference") if isinstance(raw, dict) else raw
    if not isinstance(reference, str) or not reference:
        raise InvalidRequest(f"$merge needs '{name}' as a reference to a Patient")
    parts = reference.rstrip("/").split("/")
    if len(parts) == 1:
        return parts[0]
    if parts[-2] != "Patient":
        raise InvalidRequest(f"'{name}' must refer to a Patient, not '{reference[:80]}'")
    return parts[-1]


@operation(
    "merge",
    resource_types=("Patient",),
    affects_state=True,
    description="Merge a duplicate Patient (source) into the surviving record (target)",
)
def merge_operation(call: OperationCall) -> JSON:
    params = _params(call)
    source_id = _patient_id(params.get("source-patient"), "source-patient")
    target_id = _patient_id(params.get("target-patient"), "target-patient")
    with call.store.transaction() as tx:
        result = service.merge(tx, source_id=source_id, target_id=target_id)
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "information",
                "code": "informational",
                "diagnostics": (
                    f"Patient/{source_id} merged into Patient/{target_id}; "
                    f"{len(result.repointed)} resource(s) now refer to Patient/{target_id}"
                ),
            }
        ],
    }
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "outcome", "resource": outcome},
            {"name": "result", "resource": result.target.resource},
        ],
    }


@before_write("Patient")
def patient_identifiers(tx: Tx, patient: JSON) -> JSON:
    """Every Patient written, by any door, carries valid identifiers and no СНИЛС/ЕНП of another record."""
    return service.check_identifiers(tx, patient)
