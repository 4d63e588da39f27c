"""FHIR operations of the patient register: `Patient/$match` (the master patient index) and `Patient/$merge`.

Thin: read the Parameters, call `service`, shape the answer.
"""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, before_write, operation
from medcity.kit.parameters import Parameters
from medcity.registry import service
from medcity.store.repository import Tx

JSON = dict[str, Any]
MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"
DEFAULT_COUNT, MAX_COUNT = 10, 100


@operation(
    "match",
    resource_types=("Patient",),
    description="Master patient index: scored candidate records for a Patient (certain/probable/possible)",
)
def match_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    patient = params.resource("resource", "Patient")
    if patient is None:
        raise InvalidRequest("$match needs the parameter 'resource' holding a Patient")
    count = min(params.integer("count", low=1) or DEFAULT_COUNT, MAX_COUNT)
    only_certain = params.boolean("onlyCertainMatches") is True
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


@operation(
    "merge",
    resource_types=("Patient",),
    affects_state=True,
    description="Merge a duplicate Patient (source) into the surviving record (target)",
)
def merge_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    source_id = params.reference_id("source-patient", "Patient")
    target_id = params.reference_id("target-patient", "Patient")
    if source_id is None or target_id is None:
        raise InvalidRequest("$merge needs 'source-patient' and 'target-patient' references to Patients")
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
