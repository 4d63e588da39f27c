"""Whatever arrives in a filter or a Parameters resource: an answer or a MedcityError, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from medcity import terminology
from medcity.kit.errors import MedcityError
from medcity.kit.hooks import OperationCall, find_operation

# Letters doctors type plus the characters that break naive parsers.
_TYPED = st.text(
    alphabet=st.sampled_from(
        "абвгдежзийклмнопрстуфхцчшщъыьэюяёАБЕКМНОРСТХ abcdeijkmorstxyzIJKX0123456789.,-'\"%_\\\x00\t"
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_TYPED | st.text(max_size=60))
def test_any_filter_expands(filter_: str) -> None:
    out = terminology.expand(terminology.VALUE_SET_URL, filter=filter_, count=5)["expansion"]
    assert out["total"] >= len(out["contains"])
    assert all(terminology.exists(c["code"]) for c in out["contains"])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_PARAMETER = st.fixed_dictionaries(
    {"name": st.sampled_from(["code", "system", "url", "filter", "count", "codeA", "coding", "property"])},
    optional={"valueString": _JSON, "valueInteger": _JSON, "valueCoding": _JSON, "part": _JSON},
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [("CodeSystem", "lookup"), ("CodeSystem", "validate-code"), ("CodeSystem", "subsumes"), ("ValueSet", "expand")]
    ),
    st.lists(_PARAMETER, max_size=5) | _JSON,
)
def test_any_parameters_give_an_answer_or_a_clear_error(op: tuple[str, str], parameters: Any) -> None:
    spec = find_operation(*op)
    assert spec is not None
    resource = {"resourceType": "Parameters", "parameter": parameters} if isinstance(parameters, list) else parameters
    try:
        out = spec.handler(OperationCall(op[1], op[0], None, resource, None, None))
    except MedcityError:
        return
    assert out["resourceType"] in ("Parameters", "ValueSet")
