"""Prescriptions through plain FHIR writes obey the rules the pages obey: a dispense of a dispensed, cancelled or
expired prescription is an OperationOutcome that writes nothing; a valid one completes its prescription in the
same transaction; a dispensed prescription cannot be reopened."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.prescriptions import rules
from medcity.store.repository import Store
from tests.prescriptions.city import City, build_city, now, prescribe, ref
from tests.referrals.test_api import refused


@pytest.fixture
def store(client: TestClient) -> Store:
    app: Any = client.app
    built: Store = app.state.store
    return built


@pytest.fixture
def city(store: Store) -> City:
    return build_city(store)


def handed_over(city: City, prescription: str, **changes: Any) -> dict[str, Any]:
    data = {"resourceType": "MedicationDispense", "status": "completed",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C08CA01"}]},
            "subject": ref("Patient", city.patient), "quantity": {"value": 30, "unit": "tablet"},
            "authorizingPrescription": [ref("MedicationRequest", prescription)],
            "performer": [{"actor": ref("Organization", city.pharmacies[0])}]}  # fmt: skip
    return {**data, **changes}


def count(client: TestClient, rtype: str) -> int:
    return int(client.get(f"/fhir/{rtype}?_summary=count").json()["total"])


def test_a_plain_dispense_completes_its_prescription_once(client: TestClient, city: City, store: Store) -> None:
    rid, _number = prescribe(store, city)
    assert client.post("/fhir/MedicationDispense", json=handed_over(city, rid)).status_code == 201
    assert client.get(f"/fhir/MedicationRequest/{rid}").json()["status"] == "completed"
    second = handed_over(city, rid, performer=[{"actor": ref("Organization", city.pharmacies[1])}])
    refused(client.post("/fhir/MedicationDispense", json=second), 409, "already dispensed")
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"resource": second, "request": {"method": "POST", "url": "MedicationDispense"}}]}  # fmt: skip
    refused(client.post("/fhir", json=bundle), 409, "already dispensed")
    assert count(client, "MedicationDispense") == 1
    data = client.get(f"/fhir/MedicationRequest/{rid}").json()
    refused(client.put(f"/fhir/MedicationRequest/{rid}", json={**data, "status": "active"}), 409, "already dispensed")


def test_cancelled_expired_other_patient_and_too_much_write_nothing(
    client: TestClient, city: City, store: Store
) -> None:
    cancelled, _ = prescribe(store, city)
    data = client.get(f"/fhir/MedicationRequest/{cancelled}").json()
    assert client.put(f"/fhir/MedicationRequest/{cancelled}", json={**data, "status": "cancelled"}).status_code == 200
    refused(client.post("/fhir/MedicationDispense", json=handed_over(city, cancelled)), 422, "cancelled by the doctor")
    expired, _ = prescribe(store, city)
    data = client.get(f"/fhir/MedicationRequest/{expired}").json()
    yesterday = (rules.local_today(store.region, now()) - timedelta(days=1)).isoformat()
    data["dispenseRequest"]["validityPeriod"] = {"start": "2024-01-01", "end": yesterday}
    assert client.put(f"/fhir/MedicationRequest/{expired}", json=data).status_code == 200
    refused(client.post("/fhir/MedicationDispense", json=handed_over(city, expired)), 422, "expired on")
    active, _ = prescribe(store, city)
    other = handed_over(city, active, subject=ref("Patient", city.other_patient))
    refused(client.post("/fhir/MedicationDispense", json=other), 422, "patient of its prescription")
    too_much = handed_over(city, active, quantity={"value": 31, "unit": "tablet"})
    refused(client.post("/fhir/MedicationDispense", json=too_much), 422, "more than the 30 prescribed")
    refused(client.post("/fhir/MedicationDispense", json=handed_over(city, "nothing")), 422, "not a known prescription")
    assert count(client, "MedicationDispense") == 0
    assert client.get(f"/fhir/MedicationRequest/{active}").json()["status"] == "active"


def test_only_a_dispense_completes_a_prescription_and_a_handed_over_one_stays(
    client: TestClient, city: City, store: Store
) -> None:
    rid, number = prescribe(store, city)
    data = client.get(f"/fhir/MedicationRequest/{rid}").json()
    refused(client.put(f"/fhir/MedicationRequest/{rid}", json={**data, "status": "completed"}), 422, "by dispensing")
    refused(client.put(f"/fhir/MedicationRequest/{rid}", json={**data, "identifier": []}), 422, "number")
    created = client.post("/fhir/MedicationDispense", json=handed_over(city, rid)).json()
    changed = {**created, "quantity": {"value": 10, "unit": "tablet"}}
    refused(client.put(f"/fhir/MedicationDispense/{created['id']}", json=changed), 422, "cannot be changed")
    # A client's own order without a number gets one, so that any pharmacy can find it.
    order = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
             "medicationCodeableConcept": {"text": "Метформин"}, "subject": ref("Patient", city.patient)}  # fmt: skip
    stored = client.post("/fhir/MedicationRequest", json=order).json()
    assert rules.number_of(stored) is not None and rules.number_of(stored) != number


def test_a_malformed_body_is_a_400_not_a_crash(client: TestClient, city: City, store: Store) -> None:
    rid, _number = prescribe(store, city)
    for malformed in ({"quantity": "thirty"}, {"authorizingPrescription": 5}, {"subject": []}):
        response = client.post("/fhir/MedicationDispense", json=handed_over(city, rid, **malformed))
        assert response.status_code in (400, 422), response.text
    order = {"resourceType": "MedicationRequest", "status": "active", "intent": "order", "identifier": 5,
             "medicationCodeableConcept": {"text": "Метформин"}, "subject": ref("Patient", city.patient),
             "dispenseRequest": []}  # fmt: skip
    assert client.post("/fhir/MedicationRequest", json=order).status_code == 400
    assert count(client, "MedicationDispense") == 0
    assert client.get(f"/fhir/MedicationRequest/{rid}").json()["status"] == "active"


def test_a_pharmacy_annuls_a_mistaken_dispense_by_a_plain_update(client: TestClient, city: City, store: Store) -> None:
    rid, _number = prescribe(store, city)
    handed = client.post("/fhir/MedicationDispense", json=handed_over(
        city, rid, whenHandedOver=now().isoformat(timespec="seconds"))).json()  # fmt: skip
    url = f"/fhir/MedicationDispense/{handed['id']}"
    refused(client.put(url, json={**handed, "status": "entered-in-error"}), 422, "Say why")
    annulled = {**handed, "status": "entered-in-error", "statusReasonCodeableConcept": {"text": "не тот пациент"}}
    assert client.put(url, json=annulled).status_code == 200
    assert client.get(f"/fhir/MedicationRequest/{rid}").json()["status"] == "active"
    current = client.get(url).json()
    refused(client.put(url, json={**current, "status": "completed"}), 422, "annulled dispense cannot be changed")
    # A dispense that does not say when it was handed over cannot be shown to be within the day: not annulled.
    rid2, _number2 = prescribe(store, city)
    undated = client.post("/fhir/MedicationDispense", json=handed_over(city, rid2)).json()
    refused(client.put(f"/fhir/MedicationDispense/{undated['id']}",
                       json={**undated, "status": "entered-in-error",
                             "statusReasonCodeableConcept": {"text": "ошибка"}}), 422, "within 24 hours")  # fmt: skip
    assert client.get(f"/fhir/MedicationRequest/{rid2}").json()["status"] == "completed"
