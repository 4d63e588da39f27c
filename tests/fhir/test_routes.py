"""CRUD, versions, history and conditional interactions through the REST API, on both engines."""

from __future__ import annotations

from tests.fhir.helpers import FHIR, observation, patient, post


def test_create_assigns_id_version_and_location(client):
    r = post(client, {**patient(), "id": "client-chosen"})
    assert r.status_code == 201
    body = r.json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["versionId"] == "1"
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert r.headers["content-type"].startswith("application/fhir+json")


def test_read_returns_what_was_stored(client):
    created = post(client, patient(family="Смирнова", given="Анна")).json()
    r = client.get(f"/fhir/Patient/{created['id']}")
    assert r.status_code == 200
    assert r.json() == created


def test_read_unknown_is_404_outcome(client):
    r = client.get("/fhir/Patient/does-not-exist")
    assert r.status_code == 404
    assert r.json()["resourceType"] == "OperationOutcome"


def test_update_versions_and_vread_keeps_old(client):
    created = post(client, patient()).json()
    pid = created["id"]
    r = client.put(f"/fhir/Patient/{pid}", json={**created, "gender": "female"}, headers=FHIR)
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "2"
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json()["gender"] == "male"
    assert client.get(f"/fhir/Patient/{pid}/_history/2").json()["gender"] == "female"
    assert client.get(f"/fhir/Patient/{pid}/_history/3").status_code == 404


def test_if_match_stale_version_is_412_and_writes_nothing(client):
    created = post(client, patient()).json()
    pid = created["id"]
    ok = client.put(f"/fhir/Patient/{pid}", json=created, headers={**FHIR, "If-Match": 'W/"1"'})
    assert ok.status_code == 200
    stale = client.put(
        f"/fhir/Patient/{pid}", json={**created, "gender": "other"}, headers={**FHIR, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{pid}").json()["meta"]["versionId"] == "2"


def test_update_as_create_with_client_id(client):
    r = client.put("/fhir/Patient/mine-1", json={**patient(), "id": "mine-1"}, headers=FHIR)
    assert r.status_code == 201
    assert client.get("/fhir/Patient/mine-1").status_code == 200


def test_update_id_mismatch_is_400(client):
    r = client.put("/fhir/Patient/a1", json={**patient(), "id": "b2"}, headers=FHIR)
    assert r.status_code == 400


def test_delete_then_read_is_410_and_history_shows_it(client):
    pid = post(client, patient()).json()["id"]
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 204
    assert client.get(f"/fhir/Patient/{pid}").status_code == 410
    history = client.get(f"/fhir/Patient/{pid}/_history").json()
    assert history["type"] == "history"
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert client.get(f"/fhir/Patient?_id={pid}").json()["total"] == 0


def test_conditional_create_finds_existing(client):
    ident = {"identifier": [{"system": "urn:oid:1.2.643.100.3", "value": "11223344595"}]}
    first = post(client, patient(**ident), **{"If-None-Exist": "identifier=urn:oid:1.2.643.100.3|11223344595"})
    second = post(client, patient(**ident), **{"If-None-Exist": "identifier=urn:oid:1.2.643.100.3|11223344595"})
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert client.get("/fhir/Patient?identifier=urn:oid:1.2.643.100.3|11223344595").json()["total"] == 1


def test_conditional_update_creates_then_updates(client):
    body = patient(identifier=[{"system": "urn:test", "value": "42"}])
    created = client.put("/fhir/Patient?identifier=urn:test|42", json=body, headers=FHIR)
    assert created.status_code == 201
    updated = client.put("/fhir/Patient?identifier=urn:test|42", json={**body, "gender": "female"}, headers=FHIR)
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["meta"]["versionId"] == "2"


def test_conditional_update_ambiguous_is_412(client):
    for _ in range(2):
        post(client, patient(identifier=[{"system": "urn:test", "value": "dup"}]))
    r = client.put("/fhir/Patient?identifier=urn:test|dup", json=patient(), headers=FHIR)
    assert r.status_code == 412


def test_type_and_system_history(client):
    pid = post(client, patient()).json()["id"]
    post(client, observation(pid))
    assert client.get("/fhir/Patient/_history").json()["total"] == 1
    assert client.get("/fhir/_history").json()["total"] == 2


def test_prefer_return_minimal(client):
    r = post(client, patient(), Prefer="return=minimal")
    assert r.status_code == 201
    assert r.content == b""
    assert "location" in r.headers


def test_capability_statement_lists_types_params_and_interactions(client):
    cs = client.get("/fhir/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    for rtype in ("Patient", "Observation", "Appointment", "Binary", "ValueSet", "AuditEvent", "Slot"):
        assert rtype in by_type
    params = {p["name"] for p in by_type["Patient"]["searchParam"]}
    assert {"family", "birthdate", "identifier", "_id", "_lastUpdated"} <= params
    assert "Observation:subject" in by_type["Observation"]["searchInclude"]
    assert {i["code"] for i in cs["rest"][0]["interaction"]} == {"transaction", "batch", "history-system"}
