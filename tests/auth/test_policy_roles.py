"""The roles between patient and doctor: registrar, laboratory, pharmacist and analyst see exactly their part."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medcity.kit.hooks import OperationCall, operation
from tests.auth import world as city
from tests.auth.world import PATIENT_SNILS, SNILS, Tokens, World, condition, ids, observation, ref

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures


@operation("test-count", resource_types=("Patient",), aggregate=True, description="test: a count, no data")
def _count(call: OperationCall) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 5}]}


def test_registrar_sees_demographics_and_schedules_of_the_organisation(
    api: TestClient, world: World, who: Tokens
) -> None:
    registrar = who.of("registrar")
    found = api.get("/fhir/Patient", headers=registrar).json()
    assert ids(found) == {world.patients["attached"], world.patients["booked"]}
    assert ids(api.get("/fhir/Schedule", headers=registrar).json()) == {world.schedule}
    assert api.get(f"/fhir/Schedule/{world.other_schedule}", headers=registrar).status_code == 404
    assert api.get("/fhir/Observation", headers=registrar).status_code == 403  # no clinical content
    assert api.get("/fhir/Condition", headers=registrar).status_code == 403
    relative = {"resourceType": "RelatedPerson", "patient": ref("Patient", world.patients["attached"]),
                "name": [{"family": "Мать"}]}  # fmt: skip
    assert api.post("/fhir/RelatedPerson", json=relative, headers=registrar).status_code == 201
    elsewhere = {**relative, "patient": ref("Patient", world.patients["stranger"])}
    assert api.post("/fhir/RelatedPerson", json=elsewhere, headers=registrar).status_code == 403
    newcomer = {"resourceType": "Patient", "name": [{"family": "Новый"}]}
    assert api.post("/fhir/Patient", json=newcomer, headers=registrar).status_code == 201  # registration


def test_laboratory_sees_its_orders_specimens_and_results(api: TestClient, world: World, who: Tokens) -> None:
    lab = who.of("lab")
    assert ids(api.get("/fhir/ServiceRequest", headers=lab).json()) == {world.referral}
    assert ids(api.get("/fhir/Specimen", headers=lab).json()) == {world.specimen}
    assert ids(api.get("/fhir/Observation", headers=lab).json()) == {world.lab_observation}
    assert api.get(f"/fhir/Patient/{world.patients['referred']}", headers=lab).status_code == 200
    assert api.get(f"/fhir/Patient/{world.patients['attached']}", headers=lab).status_code == 404
    result = {**observation(world.patients["referred"]), "performer": [ref("Organization", world.lab)]}
    assert api.post("/fhir/Observation", json=result, headers=lab).status_code == 201
    unsigned = observation(world.patients["referred"])
    assert api.post("/fhir/Observation", json=unsigned, headers=lab).status_code == 403
    assert (
        api.post("/fhir/Condition", json=condition(world.patients["referred"], "J06"), headers=lab).status_code == 403
    )


def test_pharmacist_reads_a_prescription_only_by_number_and_patient(api: TestClient, world: World, who: Tokens) -> None:
    pharmacist = who.of("pharmacist")
    url = "/fhir/MedicationRequest/$prescription"
    number, mine, theirs = world.prescription_number, PATIENT_SNILS["attached"], PATIENT_SNILS["booked"]
    found = api.get(url, params={"identifier": number, "patient-identifier": f"{SNILS}|{mine}"}, headers=pharmacist)
    assert found.status_code == 200 and ids(found.json()) == {world.prescription}
    # The СНИЛС as the patient says it, with its separators, finds the same; another patient's finds nothing.
    spoken = f"{mine[:3]}-{mine[3:6]}-{mine[6:9]} {mine[9:]}"
    found = api.get(url, params={"identifier": number, "patient-identifier": f"{SNILS}|{spoken}"}, headers=pharmacist)
    assert ids(found.json()) == {world.prescription}
    wrong_person = api.get(url, params={"identifier": number, "patient-identifier": f"{SNILS}|{theirs}"},
                           headers=pharmacist)  # fmt: skip
    assert wrong_person.status_code == 200 and ids(wrong_person.json()) == set()
    for incomplete in ({"identifier": number}, {"identifier": number, "patient-identifier": mine},
                       {"identifier": f"urn:other|{number}", "patient-identifier": f"{SNILS}|{mine}"},
                       {"identifier": number, "patient-identifier": f"urn:other|{mine}"}):  # fmt: skip
        refused = api.get(url, params=incomplete, headers=pharmacist)
        assert refused.status_code == 400 and refused.json()["resourceType"] == "OperationOutcome"
    assert api.get(f"/fhir/MedicationRequest/{world.prescription}", headers=pharmacist).status_code == 404
    assert api.get(f"/fhir/MedicationRequest?identifier={number}", headers=pharmacist).status_code == 403
    asked_by_doctor = {"identifier": number, "patient-identifier": f"{SNILS}|{mine}"}
    assert api.get(url, params=asked_by_doctor, headers=who.of("doctor")).status_code == 403
    assert ids(api.get("/fhir/MedicationDispense", headers=pharmacist).json()) == {world.dispense}
    dispense = {"resourceType": "MedicationDispense", "status": "completed", "medicationCodeableConcept": {"text": "X"},
                "subject": ref("Patient", world.patients["attached"]),
                "authorizingPrescription": [ref("MedicationRequest", world.prescription)],
                "performer": [{"actor": ref("Organization", world.pharmacy)}]}  # fmt: skip
    assert api.post("/fhir/MedicationDispense", json=dispense, headers=pharmacist).status_code == 201
    assert api.get(f"/fhir/Patient/{world.patients['attached']}", headers=pharmacist).status_code == 404


def test_analyst_gets_aggregates_only(api: TestClient, world: World, who: Tokens) -> None:
    analyst = who.of("analyst")
    assert api.get("/fhir/Patient/$test-count", headers=analyst).status_code == 200
    assert api.get(f"/fhir/Patient/{world.patients['attached']}/$everything", headers=analyst).status_code in (403, 404)
    assert api.get("/fhir/Patient", headers=analyst).status_code == 403
    assert api.get("/fhir/Organization", headers=analyst).status_code == 200
