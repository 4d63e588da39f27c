"""The policy around prescriptions, with real tokens: a pharmacist finds a prescription only by its number and the
patient's identifier, dispenses only as their own pharmacy and only once; a doctor prescribes only for patients
in their care; a patient sees only their own prescriptions and dispenses."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medcity.prescriptions import rules
from tests.auth import world as city
from tests.auth.world import PATIENT_SNILS, SNILS, Tokens, World, ids, ref

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures


def handed_over(world: World, pharmacy: str) -> dict[str, Any]:
    return {"resourceType": "MedicationDispense", "status": "completed", "medicationCodeableConcept": {"text": "X"},
            "subject": ref("Patient", world.patients["attached"]),
            "authorizingPrescription": [ref("MedicationRequest", world.prescription)],
            "performer": [{"actor": ref("Organization", pharmacy)}]}  # fmt: skip


def test_a_pharmacist_dispenses_as_their_pharmacy_and_once(api: TestClient, world: World, who: Tokens) -> None:
    pharmacist = who.of("pharmacist")
    assert api.get("/fhir/MedicationRequest", headers=pharmacist).status_code == 403
    assert api.get(f"/fhir/MedicationRequest/{world.prescription}", headers=pharmacist).status_code == 404
    as_another = api.post("/fhir/MedicationDispense", json=handed_over(world, world.polyclinic), headers=pharmacist)
    assert as_another.status_code == 403
    admin = who.of("admin")
    assert api.get(f"/fhir/MedicationRequest/{world.prescription}", headers=admin).json()["status"] == "active"
    assert (
        api.post("/fhir/MedicationDispense", json=handed_over(world, world.pharmacy), headers=pharmacist).status_code
        == 201
    )
    again = api.post("/fhir/MedicationDispense", json=handed_over(world, world.pharmacy), headers=pharmacist)
    assert again.status_code == 409 and "already dispensed" in again.json()["issue"][0]["diagnostics"]
    assert api.get("/fhir/MedicationDispense?_summary=count", headers=admin).json()["total"] == 2  # the world's + one


def test_a_doctor_prescribes_in_care_and_a_patient_sees_only_their_own(
    api: TestClient, world: World, who: Tokens
) -> None:
    def order(patient: str) -> dict[str, Any]:
        return {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "medicationCodeableConcept": {"text": "Амлодипин"}, "subject": ref("Patient", world.patients[patient]),
                "requester": ref("Practitioner", world.doctor)}  # fmt: skip

    doctor = who.of("doctor")
    mine = api.post("/fhir/MedicationRequest", json=order("attached"), headers=doctor)
    assert mine.status_code == 201
    assert api.post("/fhir/MedicationRequest", json=order("stranger"), headers=doctor).status_code == 403
    stranger = api.post("/fhir/MedicationRequest", json=order("stranger"), headers=who.of("admin")).json()["id"]
    patient = who.of("patient")
    assert ids(api.get("/fhir/MedicationRequest", headers=patient).json()) == {world.prescription, mine.json()["id"]}
    assert api.get(f"/fhir/MedicationRequest/{stranger}", headers=patient).status_code == 404
    assert ids(api.get("/fhir/MedicationDispense", headers=patient).json()) == {world.dispense}
    # The doctor's FHIR prescription got a number from the write rule: a pharmacy finds it by that number.
    number = rules.number_of(mine.json())
    assert number
    person = f"{SNILS}|{PATIENT_SNILS['attached']}"
    found = api.get("/fhir/MedicationRequest/$prescription", headers=who.of("pharmacist"),
                    params={"identifier": number, "patient-identifier": person})  # fmt: skip
    assert ids(found.json()) == {mine.json()["id"]}
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))  # as the form prints it
    found = api.get("/fhir/MedicationRequest/$prescription", headers=who.of("pharmacist"),
                    params={"identifier": grouped, "patient-identifier": person})  # fmt: skip
    assert ids(found.json()) == {mine.json()["id"]}
