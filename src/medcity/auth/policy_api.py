"""The policy's own FHIR operations: `Patient/[id]/$break-glass` opens a record outside one's care with a written
reason, and `MedicationRequest/$prescription` finds a prescription by its number and the patient's identifier (the
one way a pharmacist reads a prescription)."""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, operation
from medcity.kit.parameters import Parameters
from medcity.store.search import SearchResult


@operation("break-glass", resource_types=("Patient",), type_level=False, instance_level=True, affects_state=True,
           description="Open a record outside your care for a while, with a written reason (audited, shown to "
                       "the patient)")  # fmt: skip
def break_glass(call: OperationCall) -> dict[str, Any]:
    reason = Parameters(call.parameters).text("reason")
    patient = call.resource_id or ""
    with call.store.reader() as tx:
        tx.read("Patient", patient)  # an unknown or deleted patient is a 404/410, not a break-glass
    event_id = call.access.break_glass(patient, reason or "")
    return {"resourceType": "Parameters", "parameter": [
        {"name": "auditEvent", "valueReference": {"reference": f"AuditEvent/{event_id}"}},
        {"name": "minutes", "valueInteger": call.access.break_glass_minutes},
    ]}  # fmt: skip


@operation("prescription", resource_types=("MedicationRequest",),
           description="A prescription by its identifier together with the patient's identifier")  # fmt: skip
def prescription(call: OperationCall) -> SearchResult:
    params = Parameters(call.parameters)
    number, person = params.text("identifier"), params.text("patient-identifier")
    number = "".join((number or "").split())  # as printed on the form, grouped by spaces: 4849 5608 4814
    if not number or not person:
        raise InvalidRequest("$prescription needs both 'identifier' (the prescription) and 'patient-identifier'")
    with call.store.reader() as tx:
        result: SearchResult = tx.search(
            "MedicationRequest", [("identifier", number), ("patient.identifier", person), ("_count", "10")]
        )
    return result
