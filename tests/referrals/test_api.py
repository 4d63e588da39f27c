"""Referrals through plain FHIR writes obey the same rules as the referral form; FHIR search finds them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.referrals.codes import CATEGORY_TOKEN, KIND_SYSTEM
from tests.referrals.city import City, build_city, ref, refer_to_hospital


@pytest.fixture
def city(client: TestClient) -> City:
    app: Any = client.app
    return build_city(app.state.store)


def referral(city: City, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "code": {"coding": [{"system": KIND_SYSTEM, "code": "hospitalisation"}]},
        "subject": ref("Patient", city.patient), "performer": [ref("Organization", city.hospital)],
        "supportingInfo": [ref("DiagnosticReport", city.report)],
    }  # fmt: skip
    return {**data, **changes}


def refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert words in body["issue"][0]["diagnostics"]


def test_a_plain_fhir_referral_is_checked_like_the_form(client: TestClient, city: City) -> None:
    assert client.post("/fhir/ServiceRequest", json=referral(city)).status_code == 201
    refused(client.post("/fhir/ServiceRequest", json=referral(city, code={"text": "?"})), 422, "kind")
    refused(client.post("/fhir/ServiceRequest", json=referral(city, performer=[])), 422, "receiving Organization")
    other = client.post("/fhir/DiagnosticReport", json={"resourceType": "DiagnosticReport", "status": "final",
                        "code": {"text": "x"}, "subject": ref("Patient", city.other_patient)}).json()["id"]  # fmt: skip
    refused(client.post("/fhir/ServiceRequest", json=referral(city, supportingInfo=[ref("DiagnosticReport", other)])),
            422, "not a document of this referral's patient")  # fmt: skip
    refused(client.post("/fhir/ServiceRequest", json=referral(city, supportingInfo=[ref("Patient", city.patient)])),
            422, "attaches only")  # fmt: skip
    # A ServiceRequest that is not a referral (a laboratory order) is not this package's business.
    order = {"resourceType": "ServiceRequest", "status": "active", "intent": "order", "subject": ref("Patient", "x")}
    assert client.post("/fhir/ServiceRequest", json=order).status_code == 201


def test_a_referral_used_once_cannot_be_reopened(client: TestClient, city: City) -> None:
    app: Any = client.app
    rid = refer_to_hospital(app.state.store, city)
    data = client.get(f"/fhir/ServiceRequest/{rid}").json()
    assert client.put(f"/fhir/ServiceRequest/{rid}", json={**data, "status": "completed"}).status_code == 200
    data = client.get(f"/fhir/ServiceRequest/{rid}").json()
    refused(client.put(f"/fhir/ServiceRequest/{rid}", json={**data, "status": "active"}), 409, "used only once")
    assert client.get(f"/fhir/ServiceRequest/{rid}").json()["status"] == "completed"


def test_fhir_search_finds_the_receiving_worklist(client: TestClient, city: City) -> None:
    app: Any = client.app
    rid = refer_to_hospital(app.state.store, city)
    query = {"category": CATEGORY_TOKEN, "status": "active", "performer": f"Organization/{city.hospital}"}
    found = client.get("/fhir/ServiceRequest", params=query).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [rid]
    query = {"category": CATEGORY_TOKEN, "performer": f"Organization/{city.polyclinic}"}
    none = client.get("/fhir/ServiceRequest", params=query).json()
    assert none["total"] == 0
