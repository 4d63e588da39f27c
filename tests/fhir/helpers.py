"""Small builders for FHIR test requests."""

from __future__ import annotations

from typing import Any

FHIR = {"content-type": "application/fhir+json"}


def patient(family: str = "Иванов", given: str = "Пётр", birth: str = "1980-05-01", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        "gender": "male",
        **extra,
    }


def observation(
    patient_id: str, code: str = "8480-6", value: float = 120, when: str = "2024-01-01T10:00:00Z"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": "Systolic blood pressure"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
    }


def post(client: Any, resource: dict[str, Any], **headers: str) -> Any:
    return client.post(f"/fhir/{resource['resourceType']}", json=resource, headers={**FHIR, **headers})


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]
