"""Prescriptions on the FHIR face: the prescription rules on every MedicationRequest write and the dispensing rules
on every MedicationDispense write, whichever door they come through (`medcity.kit.hooks`), and
`MedicationRequest/$prescription`, the pharmacy's lookup by number and the patient's identifier."""

from __future__ import annotations

from datetime import UTC, datetime

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, before_write, operation
from medcity.kit.parameters import Parameters
from medcity.prescriptions import rules, service
from medcity.store.repository import JSON, Tx
from medcity.store.search import SearchResult

before_write("MedicationRequest")(rules.check_prescription)


@before_write("MedicationDispense")
def dispense_rules(tx: Tx, dispense: JSON) -> JSON:
    return rules.check_dispense(tx, dispense, now=datetime.now(UTC))


@operation("prescription", resource_types=("MedicationRequest",),
           description="A prescription by its number (as printed, spaces allowed) together with the patient's "
                       "identifier as system|value: СНИЛС, ОМС policy or passport")  # fmt: skip
def prescription(call: OperationCall) -> SearchResult:
    params = Parameters(call.parameters)
    number, person = params.text("identifier") or "", params.text("patient-identifier") or ""
    number_system, _, number = number.rpartition("|")
    system, _, value = person.rpartition("|")
    if not number.strip() or not value.strip() or not system:
        raise InvalidRequest("$prescription needs both 'identifier' (the prescription's number) and "
                             "'patient-identifier' (system|value)")  # fmt: skip
    if number_system not in ("", rules.NUMBER_SYSTEM):
        raise InvalidRequest(f"A prescription's number has the system {rules.NUMBER_SYSTEM}")
    with call.store.reader() as tx:
        return service.lookup(tx, number=number, system=system, value=value)
