"""Prescriptions on the FHIR face: the prescription rules on every MedicationRequest write and the dispensing rules
on every MedicationDispense write, whichever door they come through (`medcity.kit.hooks`)."""

from __future__ import annotations

from datetime import UTC, datetime

from medcity.kit.hooks import before_write
from medcity.prescriptions import rules
from medcity.store.repository import JSON, Tx

before_write("MedicationRequest")(rules.check_prescription)


@before_write("MedicationDispense")
def dispense_rules(tx: Tx, dispense: JSON) -> JSON:
    return rules.check_dispense(tx, dispense, now=datetime.now(UTC))
