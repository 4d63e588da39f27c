"""A small city for the ordering and laboratory tests: a polyclinic with a doctor, a laboratory, a diagnostic
department, and a patient attached to the polyclinic (so the doctor has a care relationship with them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from medcity.orders.service import Placed, place_orders
from medcity.registry.catalogue import organization_types
from medcity.store.repository import Store


def create(client: TestClient, resource: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{resource['resourceType']}", json=resource)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@dataclass(frozen=True)
class City:
    polyclinic: str
    laboratory: str
    department: str
    doctor: str
    patient: str

    def store(self, client: TestClient) -> Store:
        app: Any = client.app
        store: Store = app.state.store
        return store

    def order(self, client: TestClient, *tests: str, patient: str | None = None) -> Placed:
        with self.store(client).transaction() as tx:
            return place_orders(tx, patient=patient or self.patient, tests=list(tests), requester=self.doctor,
                                laboratory=self.laboratory, diagnostics=self.department)  # fmt: skip


def make_city(client: TestClient, *, gender: str = "male", birth: str = "1970-05-01") -> City:
    polyclinic = create(
        client,
        {"resourceType": "Organization", "name": "Поликлиника № 1", "type": organization_types("polyclinic", "public")},
    )
    laboratory = create(
        client,
        {
            "resourceType": "Organization",
            "name": "Единая лаборатория",
            "type": organization_types("laboratory", "public"),
        },
    )
    department = create(client, {"resourceType": "Organization", "name": "Больница № 5, диагностика",
                                 "type": organization_types("hospital", "public")})  # fmt: skip
    doctor = create(client, {"resourceType": "Practitioner", "name": [{"family": "Терапевтов", "given": ["Олег"]}]})
    patient = create(client, {
        "resourceType": "Patient", "name": [{"family": "Иванов", "given": ["Пётр"]}], "gender": gender,
        "birthDate": birth, "managingOrganization": {"reference": f"Organization/{polyclinic}"},
    })  # fmt: skip
    return City(polyclinic, laboratory, department, doctor, patient)


def observation(order: str, patient: str, code: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "basedOn": [{"reference": f"ServiceRequest/{order}"}],
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        **extra,
    }


def interpretation(resource: dict[str, Any]) -> str:
    return str(resource["interpretation"][0]["coding"][0]["code"])
