"""batch and transaction Bundles."""

from __future__ import annotations

from tests.fhir.helpers import FHIR, observation, patient, post


def _tx(*entries, kind="transaction"):
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _post(resource, full_url=None, **request):
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"], **request}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def test_transaction_rewrites_urn_uuid_references_in_any_order(client):
    enc = {"resourceType": "Encounter", "status": "finished",
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
           "subject": {"reference": "urn:uuid:p"}}  # fmt: skip
    cond = {"resourceType": "Condition", "subject": {"reference": "urn:uuid:p"},
            "encounter": {"reference": "urn:uuid:e"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}]}}  # fmt: skip
    r = client.post("/fhir", json=_tx(_post(cond), _post(enc, "urn:uuid:e"), _post(patient(), "urn:uuid:p")),
                    headers=FHIR)  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 3
    pid = body["entry"][2]["resource"]["id"]
    eid = body["entry"][1]["resource"]["id"]
    stored = client.get(f"/fhir/Condition?subject=Patient/{pid}").json()["entry"][0]["resource"]
    assert stored["encounter"]["reference"] == f"Encounter/{eid}"
    assert body["entry"][0]["response"]["location"].startswith("Condition/")


def test_transaction_resolves_conditional_references(client):
    pid = post(client, patient(identifier=[{"system": "urn:oms", "value": "7700000000000001"}])).json()["id"]
    obs = observation("x")
    obs["subject"] = {"reference": "Patient?identifier=urn:oms|7700000000000001"}
    r = client.post("/fhir", json=_tx(_post(obs)), headers=FHIR)
    assert r.status_code == 200, r.text
    assert r.json()["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{pid}"


def test_transaction_conditional_reference_without_match_fails_whole(client):
    obs = observation("x")
    obs["subject"] = {"reference": "Patient?identifier=urn:oms|nobody"}
    r = client.post("/fhir", json=_tx(_post(patient()), _post(obs)), headers=FHIR)
    assert r.status_code == 412
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 0


def test_transaction_if_none_exist_reuses_existing(client):
    ident = [{"system": "urn:oms", "value": "1"}]
    existing = post(client, patient(identifier=ident)).json()["id"]
    obs = observation("x")
    obs["subject"] = {"reference": "urn:uuid:p"}
    first = _post(patient(identifier=ident), "urn:uuid:p", ifNoneExist="identifier=urn:oms|1")
    r = client.post("/fhir", json=_tx(first, _post(obs)), headers=FHIR)
    assert r.status_code == 200, r.text
    assert r.json()["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{existing}"
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 1


def test_transaction_update_delete_and_read(client):
    keep = post(client, patient()).json()
    gone = post(client, patient(family="Удалов")).json()["id"]
    r = client.post("/fhir", json=_tx(
        {"resource": {**keep, "gender": "female"}, "request": {"method": "PUT", "url": f"Patient/{keep['id']}"}},
        {"request": {"method": "DELETE", "url": f"Patient/{gone}"}},
        {"request": {"method": "GET", "url": f"Patient/{keep['id']}"}},
    ), headers=FHIR)  # fmt: skip
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["200 OK", "204 No Content", "200 OK"]
    assert client.get(f"/fhir/Patient/{gone}").status_code == 410
    assert client.get(f"/fhir/Patient/{keep['id']}").json()["gender"] == "female"


def test_batch_entries_succeed_or_fail_alone(client):
    r = client.post("/fhir", json=_tx(_post(patient()), _post({"resourceType": "Patient", "birthDate": "bad"}),
                                      kind="batch"), headers=FHIR)  # fmt: skip
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"] == "400"
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 1


def test_bundle_of_wrong_type_or_shape_is_400(client):
    assert client.post("/fhir", json={"resourceType": "Bundle", "type": "collection"}, headers=FHIR).status_code == 400
    bad = {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "FLY", "url": "x"}}]}
    assert client.post("/fhir", json=bad, headers=FHIR).status_code == 400
    assert client.post("/fhir", json=patient(), headers=FHIR).status_code == 400


def test_transaction_duplicate_full_url_is_rejected(client):
    r = client.post("/fhir", json=_tx(_post(patient(), "urn:uuid:x"), _post(patient(), "urn:uuid:x")), headers=FHIR)
    assert r.status_code == 400
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 0
