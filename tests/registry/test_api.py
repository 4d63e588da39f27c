from __future__ import annotations

from typing import Any

import pytest

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, find_operation
from medcity.registry import api
from medcity.store.repository import Store

from .conftest import patient


def _call(store: Store, name: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    spec = find_operation("Patient", name)
    assert spec is not None
    call = OperationCall(
        name=name,
        resource_type="Patient",
        resource_id=None,
        parameters={"resourceType": "Parameters", "parameter": parameters},
        store=store,
        principal=None,
        base_url="http://test/fhir",
    )
    return spec.handler(call)


def test_operations_are_registered() -> None:
    merge = find_operation("Patient", "merge")
    assert merge is not None and merge.affects_state and merge.handler is api.merge_operation
    match = find_operation("Patient", "match")
    assert match is not None and not match.affects_state


def test_match_returns_a_scored_searchset(store: Store) -> None:
    with store.transaction() as tx:
        tx.update(patient("Фёдоров", "Алексей", "Петрович", pid="a"))
        tx.update(patient("Федоров", "Алексей", "Петрович", pid="b", birth="1980-05-15"))
    bundle = _call(
        store,
        "match",
        [
            {"name": "resource", "resource": patient("Fedorov", "Aleksei", "Petrovich")},
            {"name": "count", "valueInteger": 5},
            {"name": "onlyCertainMatches", "valueBoolean": False},
        ],
    )
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    first = bundle["entry"][0]
    assert first["fullUrl"] == "http://test/fhir/Patient/a"
    assert first["search"]["mode"] == "match"
    assert first["search"]["extension"] == [{"url": api.MATCH_GRADE_URL, "valueCode": "certain"}]
    assert first["search"]["score"] >= bundle["entry"][-1]["search"]["score"]
    certain = _call(
        store,
        "match",
        [
            {"name": "resource", "resource": patient("Fedorov", "Aleksei")},
            {"name": "onlyCertainMatches", "valueString": "true"},
        ],
    )
    assert all(e["search"]["extension"][0]["valueCode"] == "certain" for e in certain["entry"])


@pytest.mark.parametrize(
    "parameters",
    [
        [],
        [{"name": "resource", "valueString": "x"}],
        [{"name": "resource", "resource": patient("A", "B")}, {"name": "count", "valueString": "many"}],
        [
            {"name": "resource", "resource": patient("A", "B")},
            {"name": "onlyCertainMatches", "valueString": "maybe"},
        ],
    ],
)
def test_match_bad_parameters(store: Store, parameters: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidRequest):
        _call(store, "match", parameters)


def test_merge_operation(store: Store) -> None:
    with store.transaction() as tx:
        tx.update(patient("Фёдоров", "Алексей", pid="keep"))
        tx.update(patient("Федоров", "Алексей", pid="dup"))
    result = _call(
        store,
        "merge",
        [
            {"name": "source-patient", "valueReference": {"reference": "Patient/dup"}},
            {"name": "target-patient", "valueReference": {"reference": "http://test/fhir/Patient/keep"}},
        ],
    )
    parts = {p["name"]: p["resource"] for p in result["parameter"]}
    assert parts["outcome"]["issue"][0]["severity"] == "information"
    assert parts["result"]["id"] == "keep"
    assert parts["result"]["link"][0]["type"] == "replaces"
    with pytest.raises(InvalidRequest, match="Patient"):
        _call(
            store,
            "merge",
            [
                {"name": "source-patient", "valueReference": {"reference": "Organization/x"}},
                {"name": "target-patient", "valueReference": {"reference": "Patient/keep"}},
            ],
        )
    with pytest.raises(InvalidRequest, match="target-patient"):
        _call(store, "merge", [{"name": "source-patient", "valueReference": {"reference": "Patient/dup"}}])


def test_every_write_door_checks_patient_identifiers(client):
    from tests.fhir.helpers import FHIR
    from tests.fhir.helpers import patient as fhir_patient

    bad = fhir_patient(identifier=[{"system": "urn:oid:1.2.643.100.3", "value": "112-233-445 96"}])
    assert client.post("/fhir/Patient", json=bad, headers=FHIR).status_code == 422
    assert client.put("/fhir/Patient/p-bad", json={**bad, "id": "p-bad"}, headers=FHIR).status_code == 422
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"resource": bad, "request": {"method": "POST", "url": "Patient"}}]}  # fmt: skip
    assert client.post("/fhir", json=bundle, headers=FHIR).status_code == 422
    good = fhir_patient(identifier=[{"system": "urn:oid:1.2.643.100.3", "value": "112-233-445 95"}])
    assert client.post("/fhir/Patient", json=good, headers=FHIR).status_code == 201
    again = client.post("/fhir/Patient", json=good, headers=FHIR)
    assert again.status_code == 409  # the same СНИЛС on a second record: a duplicate, to be matched and merged
    assert client.get("/fhir/Patient?_summary=count").json()["total"] == 1
