"""Patient/$exchange-summary, the side of the region that holds the record, with real tokens on both engines:
another region's system, registered for `medcity/exchange` alone, gets the summary of the patient it names by СНИЛС
or ЕНП, less what the patient's consent keeps to the organisation that wrote it; it can do nothing else, nobody
else can call it, every call is audited on the patient, and bad input is a clear 4xx."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.auth.consent import consent_resource
from medcity.registry.identifiers import OMS_SYSTEM, PASSPORT_SYSTEM
from medcity.store.repository import Store
from tests.auth import world as city
from tests.auth.world import PATIENT_SNILS, SNILS, Tokens, World, audit_rows, condition, day, ref

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures
SUMMARY = "/fhir/Patient/$exchange-summary"


def asked(system: str, value: str) -> dict[str, Any]:
    identifier = {"name": "identifier", "valueIdentifier": {"system": system, "value": value}}
    return {"resourceType": "Parameters", "parameter": [identifier]}


def peer(who: Tokens) -> dict[str, str]:
    return who("system", "medcity/exchange", organization="region-78")


def codes(document: dict[str, Any]) -> set[str]:
    return {e["resource"]["code"]["coding"][0]["code"] for e in document["entry"]
            if e["resource"]["resourceType"] == "Condition"}  # fmt: skip


def test_another_region_gets_the_summary_of_the_patient_it_names(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    store = Store(engine, region)
    patient = world.patients["attached"]
    visit = store.create({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                          "subject": ref("Patient", patient), "period": {"start": day(-5)},
                          "serviceProvider": ref("Organization", world.polyclinic)}).id  # fmt: skip
    for code in ("I10", "F32.1"):
        store.create(condition(patient, code, encounter=ref("Encounter", visit)))
    store.create(condition(world.patients["stranger"], "J06.9"))

    answer = api.post(SUMMARY, json=asked(SNILS, PATIENT_SNILS["attached"]), headers=peer(who))
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["resourceType"] == "Bundle" and document["type"] == "document"
    assert document["entry"][1]["resource"]["id"] == patient
    assert codes(document) == {"I10", "F32.1"}  # the patient's own, nobody else's

    # The patient keeps mental health to the polyclinic that wrote it: another region does not get it.
    me = who("patient", "patient/*.rs patient/Consent.cru", patient=patient)
    given = consent_resource(patient, ["F00-F99"], ("F00-F99",), day(0))
    assert api.post("/fhir/Consent", json=given, headers=me).status_code == 201
    again = api.post(SUMMARY, json=asked(SNILS, "000-000-001 00"), headers=peer(who))  # as printed: normalised
    assert again.status_code == 200 and codes(again.json()) == {"I10"}

    told = [row for row in audit_rows(engine, region, "system-user") if row[0] == "operation:exchange-summary"]
    assert ("operation:exchange-summary", "Patient", patient, patient, "allowed") in told
    log = api.get(f"/fhir/Patient/{patient}/$access-log", headers=me).json()
    assert any(e["resource"]["agent"][0]["who"]["display"] == "system-user" for e in log.get("entry", [])), log


def test_the_exchange_right_grants_nothing_else_and_nobody_else_has_it(
    api: TestClient, world: World, who: Tokens
) -> None:
    patient = world.patients["attached"]
    other_region = peer(who)
    paths = (
        f"/fhir/Patient/{patient}",
        f"/fhir/Patient?identifier={SNILS}|{PATIENT_SNILS['attached']}",
        f"/fhir/Patient/{patient}/$summary",
        f"/fhir/Observation/{world.observations['attached']}",
    )
    for path in paths:
        assert api.get(path, headers=other_region).status_code in (403, 404), path  # a read refused is "not found"
    body = asked(SNILS, PATIENT_SNILS["attached"])
    for role in ("doctor", "system", "admin", "patient", "analyst"):
        refused = api.post(SUMMARY, json=body, headers=who.of(role))
        assert refused.status_code == 403, role
        assert refused.json()["resourceType"] == "OperationOutcome"


def test_bad_requests_are_clear_4xx(api: TestClient, who: Tokens) -> None:
    other_region = peer(who)
    unknown = api.post(SUMMARY, json=asked(SNILS, "00000000900"), headers=other_region)
    assert unknown.status_code == 404 and "No patient of this region" in unknown.text
    for body in (asked(PASSPORT_SYSTEM, "4510 123456"), asked(SNILS, "123-456-789 00"), asked(OMS_SYSTEM, ""),
                 {"resourceType": "Parameters", "parameter": []}):  # fmt: skip
        answer = api.post(SUMMARY, json=body, headers=other_region)
        assert answer.status_code in (400, 422), (body, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"
