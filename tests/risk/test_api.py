"""Patient/$risk-assessment on the FHIR face, with real tokens: a treating doctor and the patient themselves get
the RiskAssessments, another patient and a doctor without a care relationship are refused, every call and refusal
is audited, and bad input is an OperationOutcome, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.store.repository import Store
from medcity.store.validate import validate
from tests.auth import world as city
from tests.auth.world import Tokens, World, audit_rows
from tests.risk.record import born, pressure, result, smoking

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures


def fill_record(store: Store, patient: str) -> dict[str, str]:
    """The attached patient (a woman) made 50 and given the worked example's values."""
    with store.transaction() as tx:
        current = tx.read("Patient", patient).resource
        tx.update({**current, "birthDate": born(50)})
    return {
        "pressure": store.create(pressure(patient, 140, 85, days_ago=20)).id,
        "cholesterol": store.create(result(patient, "14647-2", 6.3, "mmol/L", days_ago=20)).id,
        "hdl": store.create(result(patient, "14646-4", 1.4, "mmol/L", days_ago=20)).id,
        "smoking": store.create(smoking(patient, "77176002", days_ago=20)).id,
    }


def by_method(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    return {e["resource"]["method"]["coding"][0]["code"]: e["resource"] for e in bundle["entry"]}


def test_a_treating_doctor_gets_the_risk_assessments(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    patient = world.patients["attached"]
    written = fill_record(Store(engine, region), patient)
    answer = api.get(f"/fhir/Patient/{patient}/$risk-assessment", headers=who.of("doctor"))
    assert answer.status_code == 200, answer.text
    found = by_method(answer.json())
    assert set(found) == {"score2", "findrisc", "framingham"}
    for resource in found.values():
        validate(resource)  # a valid R4 RiskAssessment
        assert resource["subject"] == {"reference": f"Patient/{patient}"}
    score2 = found["score2"]
    assert score2["status"] == "final"
    [prediction] = score2["prediction"]
    assert prediction["probabilityDecimal"] == 0.1413  # the supplement's woman of 50, very high risk region
    assert prediction["qualitativeRisk"]["coding"][0]["code"] == "very-high"
    assert {b["reference"] for b in score2["basis"]} == {f"Patient/{patient}"} | {
        f"Observation/{rid}" for rid in written.values()
    }
    findrisc = found["findrisc"]
    assert findrisc["status"] == "cancelled" and "prediction" not in findrisc
    note = findrisc["note"][0]["text"]
    assert "Body mass index" in note and "Waist circumference" in note
    asked = {"resourceType": "Parameters", "parameter": [{"name": "model", "valueCode": "score2"}]}
    only = api.post(f"/fhir/Patient/{patient}/$risk-assessment", headers=who.of("doctor"), json=asked)
    assert set(by_method(only.json())) == {"score2"}
    rows = audit_rows(engine, region, "doctor-user")
    assert ("operation:risk-assessment", "Patient", patient, patient, "allowed") in rows


def test_the_patient_gets_their_own_and_no_one_elses(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    own = world.patients["attached"]
    mine = api.get(f"/fhir/Patient/{own}/$risk-assessment", headers=who.of("patient"))
    assert mine.status_code == 200 and len(mine.json()["entry"]) == 3
    # Nothing in this record yet: SCORE2 names what it lacks, without guessing.
    assert "Not in the record" in by_method(mine.json())["score2"]["note"][0]["text"]
    other = world.patients["stranger"]
    refused = api.get(f"/fhir/Patient/{other}/$risk-assessment", headers=who.of("patient"))
    assert refused.status_code in (403, 404) and refused.json()["resourceType"] == "OperationOutcome"
    rows = audit_rows(engine, region, "patient-user")
    assert ("operation:risk-assessment", "Patient", own, own, "allowed") in rows
    assert any(r[0] == "operation:risk-assessment" and r[2] == other and r[4] != "allowed" for r in rows)


def test_a_doctor_without_a_care_relationship_is_refused(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    stranger = world.patients["stranger"]
    refused = api.get(f"/fhir/Patient/{stranger}/$risk-assessment", headers=who.of("doctor"))
    assert refused.status_code in (403, 404), refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "entry" not in refused.json()
    rows = audit_rows(engine, region, "doctor-user")
    assert any(r[0] == "operation:risk-assessment" and r[2] == stranger and r[4] != "allowed" for r in rows)
    # Roles that do not read records do not get it either.
    for role in ("pharmacist", "analyst"):
        assert api.get(f"/fhir/Patient/{stranger}/$risk-assessment", headers=who.of(role)).status_code in (403, 404)


def test_bad_input_is_an_operation_outcome(api: TestClient, world: World, who: Tokens) -> None:
    doctor = who.of("doctor")
    patient = world.patients["attached"]
    cases = [
        (f"/fhir/Patient/{patient}/$risk-assessment?model=qrisk3", 400, doctor),
        ("/fhir/Patient/$risk-assessment", 400, doctor),
        # A doctor is refused an unknown id as any patient outside their care (403); whoever may read every
        # record is told it is not there.
        ("/fhir/Patient/no-such-patient/$risk-assessment", 403, doctor),
        ("/fhir/Patient/no-such-patient/$risk-assessment", 404, who.of("admin")),
    ]
    for path, status, headers in cases:
        answer = api.get(path, headers=headers)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"
    not_a_code = {"resourceType": "Parameters", "parameter": [{"name": "model", "valueInteger": 3}]}
    bad_body = api.post(f"/fhir/Patient/{patient}/$risk-assessment", headers=doctor, json=not_a_code)
    assert bad_body.status_code == 400 and bad_body.json()["resourceType"] == "OperationOutcome"


def test_an_old_value_is_used_and_noted(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    patient = world.patients["attached"]
    store = Store(engine, region)
    fill_record(store, patient)
    old = store.create(pressure(patient, 150, 90, days_ago=3 * 365)).id
    with store.transaction() as tx:  # the recent measurement withdrawn: the old one is the latest
        for stored in tx.search(
            "Observation", [("patient", f"Patient/{patient}"), ("code", "http://loinc.org|85354-9")]
        ).matches:
            if stored.id != old:
                tx.update({**stored.resource, "status": "entered-in-error"})
    score2 = by_method(api.get(f"/fhir/Patient/{patient}/$risk-assessment", headers=who.of("doctor")).json())["score2"]
    assert score2["status"] == "final" and {"reference": f"Observation/{old}"} in score2["basis"]
    assert any("Systolic blood pressure" in n["text"] and "older than 2 years" in n["text"] for n in score2["note"])
