"""The policy's own FHIR operations: `Patient/[id]/$break-glass` opens a record outside one's care with a written
reason. (A pharmacist's one way to a prescription, `MedicationRequest/$prescription`, is the prescriptions
package's, which the policy lets through under its own name.)"""

from __future__ import annotations

from typing import Any

from medcity.kit.hooks import OperationCall, operation
from medcity.kit.parameters import Parameters


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
