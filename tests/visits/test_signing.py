"""Signing a visit: everything in one transaction (Encounter finished, Conditions, vital signs, the protocol
Composition), the suggestion's choice recorded, the protocol locked; corrections make new versions with a
Provenance record and the old version stays readable."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from medcity.ai.tables import ai_suggestion
from medcity.auth.tables import audit_log
from tests.visits.conftest import GOOD_PROTOCOL, Clinic


def sign(clinic: Clinic, encounter: str, **changes: str) -> Any:
    return clinic.post(f"/doctor/visits/{encounter}/protocol", {**GOOD_PROTOCOL, "action": "sign", **changes},
                       headers={"Accept-Language": "ru"})  # fmt: skip


def by_loinc(observations: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["code"]["coding"][0]["code"]: o for o in observations}


def test_signing_writes_the_whole_visit(doctor: Clinic) -> None:
    encounter = doctor.visit()
    signed = sign(doctor, encounter)
    assert signed.status_code == 303, signed.text
    [visit] = [e for e in doctor.resources("Encounter") if e["id"] == encounter]
    assert visit["status"] == "finished"
    assert visit["period"]["end"]
    [condition] = doctor.resources("Condition")
    assert condition["code"]["coding"][0] == {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J06.9",
                                              "display": condition["code"]["coding"][0]["display"]}  # fmt: skip
    me = {"reference": f"Practitioner/{doctor.practitioner}"}
    assert condition["encounter"] == {"reference": f"Encounter/{encounter}"}
    assert condition["recorder"] == me and condition["asserter"] == me
    assert visit["diagnosis"] == [{"condition": {"reference": f"Condition/{condition['id']}"}, "rank": 1}]
    vitals = by_loinc(doctor.resources("Observation"))
    assert set(vitals) == {"85354-9", "8867-4", "8310-5", "8302-2", "29463-7", "39156-5", "59408-5"}
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in vitals["85354-9"]["component"]}
    assert components["8480-6"]["value"] == 124 and components["8462-4"]["value"] == 78
    assert components["8480-6"]["code"] == "mm[Hg]"
    assert vitals["39156-5"]["valueQuantity"] == {"value": 24.2, "unit": "kg/m2",
                                                  "system": "http://unitsofmeasure.org", "code": "kg/m2"}  # fmt: skip
    assert vitals["8310-5"]["valueQuantity"]["value"] == 37.8
    assert vitals["8310-5"]["valueQuantity"]["code"] == "Cel"
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in vitals.values())
    [document] = doctor.resources("Composition")
    assert document["status"] == "final"
    assert document["author"] == [me]
    assert document["custodian"] == {"reference": f"Organization/{doctor.org}"}
    assert [s["code"]["coding"][0]["code"] for s in document["section"]] == [
        "10154-3", "10164-2", "29545-1", "29548-5", "18776-5"]  # fmt: skip
    assert "Кашель, насморк" in document["section"][0]["text"]["div"]
    assert document["section"][3]["entry"] == [{"reference": f"Condition/{condition['id']}"}]
    page = doctor.client.get(f"/doctor/visits/{encounter}", headers={"Accept-Language": "ru"}).text
    assert 'data-status="final"' in page and "J06.9" in page
    listed = doctor.client.get(f"/doctor?day={doctor.day.isoformat()}").text
    assert 'data-status="fulfilled"' in listed
    [appointment] = doctor.resources("Appointment")
    assert appointment["status"] == "fulfilled"  # the patient was seen: no longer an appointment to come


def test_the_suggestion_shown_and_the_code_chosen_are_kept(doctor: Clinic) -> None:
    encounter = doctor.visit()
    fragment = doctor.post(f"/doctor/visits/{encounter}/suggestions", {"complaints": GOOD_PROTOCOL["complaints"]})
    suggestion_id = fragment.text.split('name="suggestion_id" value="')[1].split('"')[0]
    first = fragment.text.split('data-code="')[1].split('"')[0]
    assert sign(doctor, encounter, diagnosis=first, suggestion_id=suggestion_id).status_code == 303
    app: Any = doctor.client.app
    with app.state.engine.connect() as conn:
        row = conn.execute(select(ai_suggestion).where(ai_suggestion.c.partition == doctor.store.region,
                                                       ai_suggestion.c.id == suggestion_id)).one()  # fmt: skip
    assert row.chosen == first
    assert row.encounter == f"Encounter/{encounter}"
    assert json.loads(row.suggested)[0]["code"] == first


def test_a_signed_visit_is_locked(doctor: Clinic) -> None:
    encounter = doctor.visit()
    assert sign(doctor, encounter).status_code == 303
    again = sign(doctor, encounter)
    assert again.status_code == 409
    assert "уже подписан" in again.text
    edited = doctor.post(f"/doctor/visits/{encounter}/protocol", {"action": "draft", "complaints": "другое"})
    assert edited.status_code == 409
    assert len(doctor.resources("Composition")) == 1
    assert len(doctor.resources("Condition")) == 1


def test_a_correction_is_a_new_version_with_provenance(doctor: Clinic) -> None:
    encounter = doctor.visit()
    assert sign(doctor, encounter).status_code == 303
    corrected = doctor.post(f"/doctor/visits/{encounter}/correction", {
        **{k: GOOD_PROTOCOL[k] for k in ("complaints", "anamnesis", "examination")},
        "recommendations": "Обильное питьё, явка через 3 дня", "reason": "опечатка в сроке явки"})  # fmt: skip
    assert corrected.status_code == 303, corrected.text
    [document] = doctor.resources("Composition")
    assert document["status"] == "amended" and document["meta"]["versionId"] == "2"
    assert "через 3 дня" in document["section"][4]["text"]["div"]
    [provenance] = doctor.resources("Provenance", [("target", f"Composition/{document['id']}")])
    assert provenance["target"] == [{"reference": f"Composition/{document['id']}/_history/2"}]
    assert provenance["reason"] == [{"text": "опечатка в сроке явки"}]
    assert provenance["activity"]["text"] == "correction"
    with doctor.store.reader() as tx:
        first = tx.vread("Composition", document["id"], 1).resource
    assert first["status"] == "final" and "через 5 дней" in first["section"][4]["text"]["div"]
    old = doctor.client.get(f"/doctor/visits/{encounter}?version=1", headers={"Accept-Language": "ru"}).text
    assert "через 5 дней" in old and 'data-version="1"' in old
    current = doctor.client.get(f"/doctor/visits/{encounter}", headers={"Accept-Language": "ru"}).text
    assert "опечатка в сроке явки" in current and 'data-status="amended"' in current


def test_a_correction_needs_a_reason(doctor: Clinic) -> None:
    encounter = doctor.visit()
    assert sign(doctor, encounter).status_code == 303
    refused = doctor.post(f"/doctor/visits/{encounter}/correction",
                          {"complaints": "другое", "reason": " "}, headers={"Accept-Language": "ru"})  # fmt: skip
    assert refused.status_code == 422
    [document] = doctor.resources("Composition")
    assert document["meta"]["versionId"] == "1"
    assert doctor.resources("Provenance", [("target", f"Composition/{document['id']}")]) == []


def test_the_signed_page_shows_the_vital_signs_only_and_names_them_in_russian(doctor: Clinic) -> None:
    encounter = doctor.visit()
    assert sign(doctor, encounter).status_code == 303
    with doctor.store.transaction() as tx:  # another system's result about the same visit, not a vital sign
        tx.create({"resourceType": "Observation", "status": "final", "code": {"text": "Посев из зева"},
                   "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                             "code": "laboratory"}]}],
                   "subject": {"reference": f"Patient/{doctor.patient}"},
                   "encounter": {"reference": f"Encounter/{encounter}"}, "valueString": "роста нет"})  # fmt: skip
    page = doctor.client.get(f"/doctor/visits/{encounter}", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert page.text.count("data-loinc=") == 7
    assert '<li data-loinc="85354-9">Артериальное давление: 124/78 мм рт. ст.</li>' in page.text
    assert "роста нет" not in page.text


def test_every_resource_the_signing_wrote_is_audited_for_the_patient(doctor: Clinic) -> None:
    encounter = doctor.visit()
    assert sign(doctor, encounter).status_code == 303
    app: Any = doctor.client.app
    with app.state.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.resource_type, audit_log.c.patient).where(
            audit_log.c.partition == doctor.store.region, audit_log.c.action.in_(("create", "update")),
            audit_log.c.resource_type.in_(("Encounter", "Condition", "Observation", "Composition", "Appointment"))
        )).all()  # fmt: skip
    written = {(r.action, r.resource_type) for r in rows if r.patient == doctor.patient}
    assert written == {("create", "Encounter"), ("update", "Encounter"), ("create", "Condition"),
                       ("create", "Observation"), ("create", "Composition"), ("update", "Appointment")}  # fmt: skip
    observations = [r for r in rows if r.resource_type == "Observation" and r.patient == doctor.patient]
    assert len(observations) == 7


def test_signing_writes_the_smoking_status_and_the_waist(doctor: Clinic) -> None:
    encounter = doctor.visit()
    refused = sign(doctor, encounter, smoking="sometimes")
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert not doctor.resources("Observation")  # nothing written by a refused signing
    assert sign(doctor, encounter, smoking="current", waist="96").status_code == 303
    written = by_loinc(doctor.resources("Observation"))
    status = written["72166-2"]
    assert status["valueCodeableConcept"]["coding"] == [{"system": "http://snomed.info/sct", "code": "77176002",
                                                         "display": "Smoker"}]  # fmt: skip
    assert status["valueCodeableConcept"]["text"] == "Курит"  # what the chart shows, in the record's words
    assert status["category"][0]["coding"][0]["code"] == "social-history"
    assert status["encounter"] == {"reference": f"Encounter/{encounter}"}
    assert written["8280-0"]["valueQuantity"]["value"] == 96.0 and written["8280-0"]["valueQuantity"]["code"] == "cm"
    page = doctor.client.get(f"/doctor/visits/{encounter}", headers={"Accept-Language": "ru"}).text
    assert '<p class="smoking" data-loinc="72166-2">Курение: Курит</p>' in page
