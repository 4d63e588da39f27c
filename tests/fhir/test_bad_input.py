"""Bad input: a clear 4xx OperationOutcome, nothing written, the server stays up."""

from __future__ import annotations

import pytest

from tests.fhir.helpers import FHIR, patient, post


def _assert_outcome(r, status):
    assert r.status_code == status, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["diagnostics"]


def _count(client, rtype="Patient"):
    return client.get(f"/fhir/{rtype}?_summary=count").json()["total"]


def test_malformed_json(client):
    _assert_outcome(client.post("/fhir/Patient", content=b'{"resourceType": "Pat', headers=FHIR), 400)
    assert _count(client) == 0


def test_body_type_differs_from_url(client):
    _assert_outcome(client.post("/fhir/Observation", json=patient(), headers=FHIR), 400)


def test_unknown_type(client):
    _assert_outcome(client.post("/fhir/Spaceship", json={"resourceType": "Spaceship"}, headers=FHIR), 404)
    _assert_outcome(client.get("/fhir/Spaceship?name=x"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient", "birthDate": "1980-13-45"},
        {"resourceType": "Patient", "gender": 5},
        {"resourceType": "Patient", "name": "not a list of HumanName"},
        {"resourceType": "Patient", "unknownElement": True},
        {"resourceType": "Observation", "status": "final"},  # code is required
    ],
)
def test_invalid_elements_and_datatypes(client, body):
    r = post(client, body)
    _assert_outcome(r, 400)
    assert _count(client, body["resourceType"]) == 0


@pytest.mark.parametrize("rid", ["a" * 65, "bad$id", "with space", "кириллица"])
def test_bad_ids(client, rid):
    _assert_outcome(client.put(f"/fhir/Patient/{rid}", json={**patient(), "id": rid}, headers=FHIR), 400)


def test_body_too_large_is_413(client):
    huge = {**patient(), "text": {"status": "generated", "div": "<div>" + "x" * (9 * 1024 * 1024) + "</div>"}}
    _assert_outcome(post(client, huge), 413)


def test_wrong_content_type_is_415(client):
    r = client.post("/fhir/Patient", content=b"<Patient/>", headers={"content-type": "application/xml"})
    _assert_outcome(r, 415)


@pytest.mark.parametrize(
    "query",
    [
        "family=' OR 1=1 --",
        "family=%22%3B DROP TABLE resource;--",
        "family=" + "x" * 5000,
        "family=%F0%9F%98%80%E2%80%AE%EF%BF%BF",
        "birthdate=ge' OR 'a'='a",
        "_count=-1",
        "_count=abc",
    ],
)
def test_search_values_with_sql_quotes_and_odd_unicode(client, query):
    post(client, patient())
    r = client.get(f"/fhir/Patient?{query}")
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["total"] == 0
    assert _count(client) == 1


def test_nul_byte_in_search_is_400(client):
    _assert_outcome(client.get("/fhir/Patient?family=a%00b"), 400)


def test_unknown_sort_and_include_targets(client):
    _assert_outcome(client.get("/fhir/Patient?_sort=shoe-size"), 400)
    _assert_outcome(client.get("/fhir/Observation?_include=Observation:nothing"), 400)
    _assert_outcome(client.get("/fhir/Observation?_include=Patient:organization"), 400)
    _assert_outcome(client.get("/fhir/Observation?_revinclude=Provenance:target:Spaceship"), 400)


def test_unknown_parameter_ignored_or_strict(client):
    post(client, patient())
    lenient = client.get("/fhir/Patient?shoe-size=42&family=иван").json()
    assert lenient["total"] == 1
    assert "shoe-size" not in lenient["link"][0]["url"]
    assert "family" in lenient["link"][0]["url"]
    _assert_outcome(client.get("/fhir/Patient?shoe-size=42", headers={"Prefer": "handling=strict"}), 400)


def test_transaction_with_failing_entry_writes_nothing(client):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:a", "resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {"resourceType": "Observation", "status": "final", "subject": {"reference": "urn:uuid:a"}},
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    r = client.post("/fhir", json=bundle, headers=FHIR)
    _assert_outcome(r, 400)
    assert "entry[1]" in r.json()["issue"][0]["diagnostics"]
    assert _count(client) == 0
    assert _count(client, "Observation") == 0


def test_wrong_method_is_405(client):
    r = client.post("/fhir/Patient/123", json=patient(), headers=FHIR)
    _assert_outcome(r, 405)


def test_meta_that_is_not_an_object(client):
    # Found by the property-based test: the server sets meta.versionId and meta.lastUpdated itself.
    _assert_outcome(post(client, {"resourceType": "Patient", "meta": True}), 400)
