"""Patient/$everything and Patient/$summary through the REST API, on both engines."""

from __future__ import annotations

from tests.fhir.helpers import FHIR, observation, patient, post


def _condition(pid, code, status):
    return {
        "resourceType": "Condition",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": status}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
    }  # fmt: skip


def _record(client):
    org = post(client, {"resourceType": "Organization", "name": "ГП № 1"}).json()["id"]
    pid = post(client, patient(managingOrganization={"reference": f"Organization/{org}"})).json()["id"]
    other = post(client, patient(family="Чужой")).json()["id"]
    enc = post(client, {"resourceType": "Encounter", "status": "finished",
                        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                        "subject": {"reference": f"Patient/{pid}"},
                        "serviceProvider": {"reference": f"Organization/{org}"}}).json()["id"]  # fmt: skip
    cond = post(client, _condition(pid, "I10", "active")).json()["id"]
    resolved = post(client, _condition(pid, "J06", "resolved")).json()["id"]
    old = post(client, observation(pid, value=150, when="2023-01-01T10:00:00Z")).json()["id"]
    new = post(client, observation(pid, value=130, when="2024-01-01T10:00:00Z")).json()["id"]
    post(client, observation(other))
    return {"org": org, "pid": pid, "enc": enc, "cond": cond, "resolved": resolved, "old": old, "new": new}


def _entries(bundle):
    return {(e["resource"]["resourceType"], e["resource"].get("id")) for e in bundle.get("entry", [])}


def test_everything_returns_the_whole_compartment_and_referenced(client):
    rec = _record(client)
    r = client.get(f"/fhir/Patient/{rec['pid']}/$everything")
    assert r.status_code == 200, r.text
    got = _entries(r.json())
    assert ("Patient", rec["pid"]) in got
    assert {
        ("Encounter", rec["enc"]),
        ("Condition", rec["cond"]),
        ("Condition", rec["resolved"]),
        ("Observation", rec["old"]),
        ("Observation", rec["new"]),
        ("Organization", rec["org"]),
    } <= got
    assert not any(t == "Patient" and i != rec["pid"] for t, i in got)
    assert len([t for t, _ in got if t == "Observation"]) == 2


def test_everything_pages(client):
    rec = _record(client)
    first = client.get(f"/fhir/Patient/{rec['pid']}/$everything?_count=3").json()
    assert first["total"] == 7  # patient, encounter, two conditions, two observations, organisation
    seen = _entries(first)
    link = next(x["url"] for x in first["link"] if x["relation"] == "next")
    while link:
        page = client.get(link.replace("http://testserver", "")).json()
        seen |= _entries(page)
        link = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
    assert len(seen) == 7


def test_everything_type_filter_and_errors(client):
    rec = _record(client)
    only = _entries(client.get(f"/fhir/Patient/{rec['pid']}/$everything?_type=Observation").json())
    assert {t for t, _ in only} == {"Patient", "Observation"}
    assert client.get("/fhir/Patient/nobody/$everything").status_code == 404
    assert client.get(f"/fhir/Patient/{rec['pid']}/$everything?_count=0").status_code == 400
    assert client.get(f"/fhir/Patient/{rec['pid']}/$everything?_type=Spaceship").status_code == 400
    assert client.get("/fhir/Patient/$everything").status_code == 400


def test_summary_is_a_document_with_ips_sections(client):
    rec = _record(client)
    r = client.get(f"/fhir/Patient/{rec['pid']}/$summary")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["type"] == "document"
    composition = doc["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    problems = [e["reference"] for e in sections["11450-4"]["entry"]]
    assert problems == [f"Condition/{rec['cond']}"]  # the resolved one is not an active problem
    results = [e["reference"] for e in sections["30954-2"]["entry"]]
    assert results == [f"Observation/{rec['new']}"]  # the latest of each test
    assert "emptyReason" in sections["48765-2"]
    cited = _entries(doc)
    assert ("Patient", rec["pid"]) in cited
    assert ("Observation", rec["old"]) not in cited


def test_summary_via_post_and_unknown_patient(client):
    rec = _record(client)
    r = client.post(f"/fhir/Patient/{rec['pid']}/$summary", json={"resourceType": "Parameters"}, headers=FHIR)
    assert r.status_code == 200
    assert client.get("/fhir/Patient/nobody/$summary").status_code == 404
