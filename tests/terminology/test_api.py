"""The FHIR operation handlers, called the way the router calls them."""

from __future__ import annotations

from typing import Any

import pytest

import medcity.terminology  # noqa: F401 - registers the operations
from medcity.kit.errors import InvalidRequest, NotFound
from medcity.kit.hooks import OperationCall, find_operation

SYSTEM = "http://hl7.org/fhir/sid/icd-10"


def call(resource_type: str, name: str, parameters: Any, resource_id: str | None = None) -> dict[str, Any]:
    spec = find_operation(resource_type, name)
    assert spec is not None, f"{resource_type}/${name} is not registered"
    return spec.handler(
        OperationCall(
            name=name,
            resource_type=resource_type,
            resource_id=resource_id,
            parameters=parameters,
            store=None,
            principal=None,
        )
    )


def params(**values: Any) -> dict[str, Any]:
    """A Parameters resource as a GET query string becomes one: every value a string."""
    entries = []
    for name, value in values.items():
        for v in value if isinstance(value, list) else [value]:
            entries.append({"name": name, "valueString": v})
    return {"resourceType": "Parameters", "parameter": entries}


def value(out: dict[str, Any], name: str) -> Any:
    entry = next(p for p in out["parameter"] if p["name"] == name)
    return next(v for k, v in entry.items() if k.startswith("value"))


def test_operations_are_registered_where_fhir_expects_them() -> None:
    for resource_type, name in [
        ("CodeSystem", "lookup"),
        ("CodeSystem", "validate-code"),
        ("CodeSystem", "subsumes"),
        ("ValueSet", "expand"),
    ]:
        assert find_operation(resource_type, name) is not None


def test_lookup() -> None:
    out = call("CodeSystem", "lookup", params(system=SYSTEM, code="I10", displayLanguage="en"))
    assert out["resourceType"] == "Parameters"
    assert value(out, "display") == "Essential (primary) hypertension"


def test_lookup_with_a_coding_and_selected_properties() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coding", "valueCoding": {"system": SYSTEM, "code": "IX"}},
            {"name": "property", "valueCode": "notSelectable"},
        ],
    }
    out = call("CodeSystem", "lookup", parameters)
    props = [p for p in out["parameter"] if p["name"] == "property"]
    assert len(props) == 1
    assert props[0]["part"][1]["valueBoolean"] is True


def test_lookup_unknown_code_is_not_found() -> None:
    with pytest.raises(NotFound):
        call("CodeSystem", "lookup", params(system=SYSTEM, code="ZZZ"))


def test_validate_code_with_url_or_system() -> None:
    out = call("CodeSystem", "validate-code", params(url=SYSTEM, code="J45.0"))
    assert value(out, "result") is True
    out = call(
        "CodeSystem",
        "validate-code",
        params(system="urn:oid:1.2.643.5.1.13.13.11.1005", code="J45.0", display="Грипп"),
    )
    assert value(out, "result") is True
    assert "Wrong display" in value(out, "message")


def test_subsumes() -> None:
    out = call("CodeSystem", "subsumes", params(system=SYSTEM, codeA="J45.0", codeB="J45"))
    assert value(out, "outcome") == "subsumed-by"
    codings = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "codingA", "valueCoding": {"system": SYSTEM, "code": "IX"}},
            {"name": "codingB", "valueCoding": {"system": SYSTEM, "code": "I10"}},
        ],
    }
    assert value(call("CodeSystem", "subsumes", codings), "outcome") == "subsumes"


def test_expand_from_query_strings() -> None:
    out = call(
        "ValueSet",
        "expand",
        params(
            url=f"{SYSTEM}?fhir_vs",
            filter="гипертон",
            count="5",
            offset="0",
            activeOnly="true",
            includeDesignations="true",
        ),
    )
    assert out["resourceType"] == "ValueSet"
    assert out["expansion"]["contains"][0]["code"] == "I10"
    assert out["expansion"]["contains"][0]["designation"] == [
        {"language": "ru", "value": "Эссенциальная [первичная] гипертензия"},
        {"language": "en", "value": "Essential (primary) hypertension"},
    ]
    assert len(out["expansion"]["contains"]) == 5


def test_expand_typed_parameters_and_instance_level() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "filter", "valueString": "asthma"},
            {"name": "count", "valueInteger": 2},
            {"name": "displayLanguage", "valueCode": "en"},
        ],
    }
    out = call("ValueSet", "expand", parameters, resource_id="icd-10")
    assert [c["display"] for c in out["expansion"]["contains"]] == ["Asthma", "Asthma, unspecified"]
    with pytest.raises(NotFound):
        call("ValueSet", "expand", parameters, resource_id="something-else")


@pytest.mark.parametrize(
    "parameters",
    [
        None,
        "code=I10",
        {"resourceType": "Patient"},
        {"resourceType": "Parameters", "parameter": "nope"},
        {"resourceType": "Parameters", "parameter": [1, 2]},
        params(system=SYSTEM),
        params(code="I10"),
        params(system=SYSTEM, code=["I10", "I11"]),
        {"resourceType": "Parameters", "parameter": [{"name": "code", "valueBoolean": True}]},
        {"resourceType": "Parameters", "parameter": [{"name": "coding", "valueString": "I10"}]},
    ],
)
def test_lookup_bad_input_is_invalid_request(parameters: Any) -> None:
    with pytest.raises(InvalidRequest):
        call("CodeSystem", "lookup", parameters)


@pytest.mark.parametrize(
    "bad",
    [
        params(url=f"{SYSTEM}?fhir_vs", count="many"),
        params(url=f"{SYSTEM}?fhir_vs", activeOnly="perhaps"),
        params(url=f"{SYSTEM}?fhir_vs", filter="x" * 10_000),
        params(filter="I10"),
    ],
)
def test_expand_bad_input_is_invalid_request(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        call("ValueSet", "expand", bad)
