"""FHIR face of the diagnosis assistant: `POST /fhir/Condition/$suggest`.

In: a Parameters resource with `text` (valueString), optional `age` (valueInteger), `sex` (valueCode male|female),
`count` (valueInteger 1..10, default 3). Out: a Parameters resource with one `suggestion` per code (parts `code`,
`display-en`, `probability`, `rank`), then `confident` and, when not confident, `reason`.
"""

from __future__ import annotations

import math
from typing import Any

from medcity.ai import service
from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import JSON, OperationCall, operation

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"

# name → (value[x] key, Python type); bool is excluded from int explicitly below (it is an int in Python).
_INPUTS: dict[str, tuple[str, type]] = {
    "text": ("valueString", str),
    "age": ("valueInteger", int),
    "sex": ("valueCode", str),
    "count": ("valueInteger", int),
}


def _inputs(parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise InvalidRequest("the body must be a FHIR Parameters resource")
    found: dict[str, Any] = {}
    for param in parameters.get("parameter") or []:
        name = param.get("name") if isinstance(param, dict) else None
        if name not in _INPUTS:
            raise InvalidRequest(f"unknown parameter {name!r}; expected text, age, sex, count")
        if name in found:
            raise InvalidRequest(f"parameter {name!r} is repeated")
        key, kind = _INPUTS[name]
        value = param.get(key)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidRequest(f"parameter {name!r} must be given as {key}")
        found[name] = value
    if "text" not in found:
        raise InvalidRequest("parameter 'text' (valueString) is required")
    return found


def _four_places(p: float) -> float:
    # Rounded down, so the listed probabilities never add up to more than 1.
    return math.floor(p * 10_000) / 10_000


def suggestion_parameters(result: service.Suggestion) -> JSON:
    params: list[JSON] = []
    for rank, item in enumerate(result.items, start=1):
        params.append(
            {
                "name": "suggestion",
                "part": [
                    {
                        "name": "code",
                        "valueCoding": {"system": ICD10_SYSTEM, "code": item.code, "display": item.display_ru},
                    },
                    {"name": "display-en", "valueString": item.display_en},
                    {"name": "probability", "valueDecimal": _four_places(item.probability)},
                    {"name": "rank", "valueInteger": rank},
                ],
            }
        )
    params.append({"name": "confident", "valueBoolean": result.confident})
    if result.reason is not None:
        params.append({"name": "reason", "valueString": result.reason})
    return {"resourceType": "Parameters", "parameter": params}


@operation(
    "suggest",
    resource_types=("Condition",),
    description="Suggest ranked ICD-10 codes with probabilities for a Russian complaint text.",
)
def suggest_operation(call: OperationCall) -> JSON:
    found = _inputs(call.parameters)
    result = service.suggest(found["text"], age=found.get("age"), sex=found.get("sex"), count=found.get("count", 3))
    return suggestion_parameters(result)
