from __future__ import annotations

from typing import Any

import pytest

from medcity.ai.api import ICD10_SYSTEM, suggest_operation
from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, find_operation

BACK_PAIN = "Боль в пояснице при наклоне, иррадиирует в ногу"


def call(*parameters: dict[str, Any]) -> dict[str, Any]:
    body = {"resourceType": "Parameters", "parameter": list(parameters)}
    return suggest_operation(
        OperationCall(
            name="suggest", resource_type="Condition", resource_id=None, parameters=body, store=None, principal=None
        )
    )


def test_operation_is_registered() -> None:
    spec = find_operation("Condition", "suggest")
    assert spec is not None and spec.handler is suggest_operation


def test_suggestions_as_parameters() -> None:
    out = call(
        {"name": "text", "valueString": BACK_PAIN},
        {"name": "age", "valueInteger": 45},
        {"name": "sex", "valueCode": "male"},
        {"name": "count", "valueInteger": 4},
    )
    assert out["resourceType"] == "Parameters"
    suggestions = [p for p in out["parameter"] if p["name"] == "suggestion"]
    assert len(suggestions) == 4
    first = {part["name"]: part for part in suggestions[0]["part"]}
    assert first["code"]["valueCoding"] == {"system": ICD10_SYSTEM, "code": "M54", "display": "Дорсалгия"}
    assert first["display-en"]["valueString"] == "Dorsalgia"
    assert first["rank"]["valueInteger"] == 1
    probabilities = [next(x["valueDecimal"] for x in s["part"] if x["name"] == "probability") for s in suggestions]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1
    names = [p["name"] for p in out["parameter"]]
    assert names[-1] == "confident" and out["parameter"][-1]["valueBoolean"] is True


def test_not_confident_carries_a_reason() -> None:
    out = call({"name": "text", "valueString": "hello, how are you?"})
    by_name = {p["name"]: p for p in out["parameter"]}
    assert by_name["confident"]["valueBoolean"] is False
    assert by_name["reason"]["valueString"]
    assert sum(1 for p in out["parameter"] if p["name"] == "suggestion") == 3


@pytest.mark.parametrize(
    "parameters",
    [
        [],
        [{"name": "text", "valueString": "   "}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "count", "valueInteger": 11}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "count", "valueInteger": 0}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "count", "valueString": "three"}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "age", "valueBoolean": True}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "sex", "valueCode": "other"}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "colour", "valueString": "red"}],
        [{"name": "text", "valueString": BACK_PAIN}, {"name": "text", "valueString": BACK_PAIN}],
    ],
)
def test_bad_parameters(parameters: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidRequest):
        call(*parameters)


def test_body_must_be_parameters() -> None:
    with pytest.raises(InvalidRequest):
        suggest_operation(
            OperationCall(
                name="suggest",
                resource_type="Condition",
                resource_id=None,
                parameters={"resourceType": "Patient"},
                store=None,
                principal=None,
            )
        )


def test_query_string_values_are_read_as_their_types() -> None:
    # A GET's query string arrives as valueString; "3" is still a count, and a number is not a complaint.
    out = call({"name": "text", "valueString": BACK_PAIN}, {"name": "count", "valueString": "2"})
    assert sum(1 for p in out["parameter"] if p["name"] == "suggestion") == 2
    digits = call({"name": "text", "valueInteger": 5})
    assert {p["name"]: p for p in digits["parameter"]}["confident"]["valueBoolean"] is False


def test_suggestions_are_kept_with_the_doctors_choice(client) -> None:  # type: ignore[no-untyped-def]
    from medcity.ai.service import accuracy_by

    fhir = {"content-type": "application/fhir+json"}
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "text", "valueString": BACK_PAIN}, {"name": "specialty", "valueString": "neurologist"}]}  # fmt: skip
    shown = client.post("/fhir/Condition/$suggest", json=body, headers=fhir)
    assert shown.status_code == 200, shown.text
    by_name = {p["name"]: p for p in shown.json()["parameter"]}
    top = next(p for p in shown.json()["parameter"] if p["name"] == "suggestion")["part"][0]["valueCoding"]["code"]
    choice = {"resourceType": "Parameters", "parameter": [
        {"name": "suggestion-id", "valueString": by_name["suggestion-id"]["valueString"]},
        {"name": "code", "valueString": top + ".1"}]}  # fmt: skip
    assert client.post("/fhir/Condition/$suggest-choice", json=choice, headers=fhir).status_code == 200
    store = client.app.state.store
    with store.reader() as tx:
        groups = accuracy_by(tx.conn, region=store.region, group_by=("specialty",))
    assert [(g.key, g.n, g.hit1) for g in groups] == [({"specialty": "neurologist"}, 1, 1.0)]
    unknown = {"resourceType": "Parameters", "parameter": [
        {"name": "suggestion-id", "valueString": "nope"}, {"name": "code", "valueString": "M54"}]}  # fmt: skip
    assert client.post("/fhir/Condition/$suggest-choice", json=unknown, headers=fhir).status_code == 404
