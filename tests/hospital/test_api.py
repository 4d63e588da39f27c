"""A hospital stay through plain FHIR writes keeps the same rules as the hospital's pages: an occupied bed is a
409, a discharge without a diagnosis a 422, nothing half-saved; and FHIR search and $everything find the stay."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.hospital import service as hospital
from medcity.hospital.codes import ACT_CODE
from tests.referrals.city import City, build_city, ref, refer_to_hospital, utcnow
from tests.referrals.test_api import refused


@pytest.fixture
def city(client: TestClient) -> City:
    app: Any = client.app
    return build_city(app.state.store)


def stay(city: City, patient: str, bed: str, **changes: Any) -> dict[str, Any]:
    data = {
        "resourceType": "Encounter", "status": "in-progress", "class": {"system": ACT_CODE, "code": "IMP"},
        "subject": ref("Patient", patient), "serviceProvider": ref("Organization", city.hospital),
        "location": [{"location": ref("Location", bed), "status": "active"}],
    }  # fmt: skip
    return {**data, **changes}


def bed_code(client: TestClient, bed: str) -> str | None:
    status = client.get(f"/fhir/Location/{bed}").json().get("operationalStatus")
    return status["code"] if status else None


def test_plain_fhir_admission_takes_the_bed_and_an_occupied_bed_is_409(client: TestClient, city: City) -> None:
    created = client.post("/fhir/Encounter", json=stay(city, city.patient, city.beds[0]))
    assert created.status_code == 201, created.text
    assert bed_code(client, city.beds[0]) == "O"
    refused(client.post("/fhir/Encounter", json=stay(city, city.other_patient, city.beds[0])), 409, "occupied")
    assert client.get("/fhir/Encounter", params={"patient": city.other_patient}).json()["total"] == 0
    refused(client.post("/fhir/Encounter", json=stay(city, city.other_patient, city.ward)), 422, "holds a bed")
    found = client.get("/fhir/Encounter", params={"class": "IMP", "patient": city.patient}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created.json()["id"]]


def test_a_plain_fhir_discharge_needs_a_diagnosis_and_frees_the_bed(client: TestClient, city: City) -> None:
    data = client.post("/fhir/Encounter", json=stay(city, city.patient, city.beds[0])).json()
    refused(client.put(f"/fhir/Encounter/{data['id']}", json={**data, "status": "finished"}), 422, "diagnosis")
    assert bed_code(client, city.beds[0]) == "O"
    condition = client.post("/fhir/Condition", json={"resourceType": "Condition", "subject": ref(
        "Patient", city.patient), "code": {"coding": [{"code": "K40.9"}]}}).json()["id"]  # fmt: skip
    finished = {**data, "status": "finished", "diagnosis": [{"condition": ref("Condition", condition)}]}
    assert client.put(f"/fhir/Encounter/{data['id']}", json=finished).status_code == 200
    assert bed_code(client, city.beds[0]) == "U"


def test_a_referral_admits_once(client: TestClient, city: City) -> None:
    app: Any = client.app
    rid = refer_to_hospital(app.state.store, city)
    first = stay(city, city.patient, city.beds[0], basedOn=[ref("ServiceRequest", rid)])
    assert client.post("/fhir/Encounter", json=first).status_code == 201
    second = stay(city, city.patient, city.beds[1], basedOn=[ref("ServiceRequest", rid)])
    refused(client.post("/fhir/Encounter", json=second), 409, "already been used")
    assert bed_code(client, city.beds[1]) is None


def test_bed_occupancy_is_not_set_by_hand(client: TestClient, city: City) -> None:
    bed = client.get(f"/fhir/Location/{city.beds[0]}").json()
    occupied = {**bed, "operationalStatus": {"system": "http://terminology.hl7.org/CodeSystem/v2-0116", "code": "O"}}
    refused(client.put(f"/fhir/Location/{city.beds[0]}", json=occupied), 422, "not set by hand")
    assert client.put(f"/fhir/Location/{city.beds[0]}", json={**bed, "name": "Койка 1а"}).status_code == 200


def test_a_discharge_summary_without_a_diagnosis_is_refused(client: TestClient, city: City) -> None:
    summary = {"resourceType": "Composition", "status": "final", "date": "2026-12-01", "title": "Выписной эпикриз",
               "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
               "subject": ref("Patient", city.patient), "author": [ref("Organization", city.hospital)],
               "section": [{"title": "Рекомендации", "text": {"status": "generated",
                            "div": '<div xmlns="http://www.w3.org/1999/xhtml">-</div>'}}]}  # fmt: skip
    refused(client.post("/fhir/Composition", json=summary), 422, "without a diagnosis")


def test_the_summary_is_in_the_patients_record_and_found_by_search(client: TestClient, city: City) -> None:
    app: Any = client.app
    store = app.state.store
    with store.transaction() as tx:
        eid = hospital.admit(tx, hospital=city.hospital, bed=city.beds[0], patient=city.patient, now=utcnow()).id
    with store.transaction() as tx:
        summary = hospital.discharge(tx, encounter=eid, summary=hospital.Summary(diagnoses=("K40.9",)),
                                     hospital=city.hospital, practitioner=city.surgeon, now=utcnow()).id  # fmt: skip
    found = client.get("/fhir/Composition", params={"type": "http://loinc.org|18842-5", "patient": city.patient})
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [summary]
    everything = client.get(f"/fhir/Patient/{city.patient}/$everything", params={"_count": "100"}).json()
    assert f"Composition/{summary}" in {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in everything["entry"]
    }


def test_the_fhir_face_answers_english_diagnostics_whatever_the_readers_language(
    client: TestClient, city: City
) -> None:
    """OperationOutcome diagnostics are for the engineers of the calling system: English, as the pages' Russian
    wording of the same rule is not."""
    russian = {"Accept-Language": "ru"}
    assert client.post("/fhir/Encounter", json=stay(city, city.patient, city.beds[0]), headers=russian).is_success
    taken = client.post("/fhir/Encounter", json=stay(city, city.other_patient, city.beds[0]), headers=russian)
    refused(taken, 409, f"Bed Location/{city.beds[0]} is occupied")
