"""`Encounter/{id}/$sign-visit`: the visit signed over FHIR with a doctor's token, under the same rules as the page."""

from __future__ import annotations

from typing import Any

from medcity.kit.config import Settings
from tests.bearer import bearer
from tests.visits.conftest import GOOD_PROTOCOL, Clinic


def parameters(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {**GOOD_PROTOCOL, **changes}
    entries: list[dict[str, Any]] = []
    for name, value in values.items():
        if name == "diagnosis":
            entries.append({"name": "diagnosis", "valueCoding": {"system": "http://hl7.org/fhir/sid/icd-10",
                                                                  "code": value}})  # fmt: skip
        elif isinstance(value, bool):
            entries.append({"name": name, "valueBoolean": value})
        elif name in ("complaints", "anamnesis", "examination", "recommendations"):
            entries.append({"name": name, "valueString": value})
        else:
            entries.append({"name": name, "valueDecimal": float(value.replace(",", "."))})
    return {"resourceType": "Parameters", "parameter": entries}


def test_a_visit_is_signed_over_fhir(doctor: Clinic, settings: Settings) -> None:
    encounter = doctor.visit()
    headers = bearer(settings, "dr.t", "doctor", fhir_user=f"Practitioner/{doctor.practitioner}",
                     organization=doctor.org)  # fmt: skip
    signed = doctor.client.post(f"/fhir/Encounter/{encounter}/$sign-visit", json=parameters(), headers=headers)
    assert signed.status_code == 200, signed.text
    assert signed.json()["resourceType"] == "Composition" and signed.json()["status"] == "final"
    assert len(doctor.resources("Observation")) == 7
    again = doctor.client.post(f"/fhir/Encounter/{encounter}/$sign-visit", json=parameters(), headers=headers)
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"


def test_bad_input_over_fhir_is_a_clear_422_naming_the_field(doctor: Clinic, settings: Settings) -> None:
    encounter = doctor.visit()
    headers = bearer(settings, "dr.t", "doctor", fhir_user=f"Practitioner/{doctor.practitioner}",
                     organization=doctor.org)  # fmt: skip
    for changes, field in (({"diagnosis": "J00-J06"}, "diagnosis"), ({"spo2": "120"}, "spo2"),
                           ({"systolic": "210"}, "confirm")):  # fmt: skip
        refused = doctor.client.post(f"/fhir/Encounter/{encounter}/$sign-visit", json=parameters(**changes),
                                     headers=headers)  # fmt: skip
        assert refused.status_code == 422, refused.text
        assert refused.json()["issue"][0]["expression"] == [field]
    assert doctor.resources("Composition") == [] and doctor.resources("Condition") == []
    confirmed = parameters(systolic="210", confirm=True)
    assert doctor.client.post(f"/fhir/Encounter/{encounter}/$sign-visit", json=confirmed,
                              headers=headers).status_code == 200  # fmt: skip


def test_another_doctor_cannot_sign_over_fhir(doctor: Clinic, settings: Settings) -> None:
    encounter = doctor.visit()
    other = bearer(settings, "dr.other", "doctor", fhir_user=f"Practitioner/{doctor.other_practitioner}",
                   organization=doctor.other_org)  # fmt: skip
    refused = doctor.client.post(f"/fhir/Encounter/{encounter}/$sign-visit", json=parameters(), headers=other)
    assert refused.status_code in (403, 404)  # 404 when the care-relationship policy hides the patient
    assert doctor.resources("Composition") == []
