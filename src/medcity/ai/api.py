"""FHIR face of the diagnosis assistant: `POST /fhir/Condition/$suggest`, `$suggest-choice` (the doctor's final
code), and `$suggest-accuracy` (Hit@1 / Hit@3 in practice, an aggregate operation).

In: a Parameters resource with `text` (valueString), optional `age` (valueInteger), `sex` (valueCode male|female),
`count` (valueInteger 1..10, default 3). Out: a Parameters resource with one `suggestion` per code (parts `code`,
`display-en`, `probability`, `rank`), then `confident` and, when not confident, `reason`.
"""

from __future__ import annotations

import math
from typing import Any

from medcity.ai import service
from medcity.ai.tables import accuracy_by
from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import JSON, OperationCall, operation
from medcity.kit.parameters import Parameters

# A doctor's own accuracy is not an aggregate of the region: the operation does not group by practitioner.
AGGREGATE_GROUPS = ("specialty", "month", "model_version")

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"

_KNOWN = {"text", "age", "sex", "count", "encounter", "specialty"}


def _inputs(parameters: Any) -> dict[str, Any]:
    params = Parameters(parameters)
    unknown = params.names() - _KNOWN
    if unknown:
        raise InvalidRequest(f"unknown parameter {sorted(unknown)[0]!r}; expected {', '.join(sorted(_KNOWN))}")
    text = params.text("text")
    if text is None:
        raise InvalidRequest("parameter 'text' (valueString) is required")
    return {
        "text": text,
        "age": params.integer("age", low=0, high=130),
        "sex": params.text("sex"),
        "count": params.integer("count", low=1, high=10) or 3,
        "encounter": params.reference_id("encounter", "Encounter"),
        "specialty": params.text("specialty"),
    }


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
    result = service.suggest(found["text"], age=found["age"], sex=found["sex"], count=found["count"])
    answer = suggestion_parameters(result)
    if call.store is not None:
        # Every suggestion shown is kept (without the complaint text), so that the doctor's final choice,
        # sent back with $suggest-choice, gives the assistant's real Hit@1 / Hit@3.
        practitioner = getattr(call.principal, "practitioner", None)
        with call.store.transaction() as tx:
            suggestion_id = service.record_suggestion(
                tx.conn, region=call.store.region, suggestion=result, encounter=found["encounter"],
                practitioner=practitioner, specialty=found["specialty"],
            )  # fmt: skip
        answer["parameter"].append({"name": "suggestion-id", "valueString": suggestion_id})
    return answer


@operation(
    "suggest-choice",
    resource_types=("Condition",),
    affects_state=True,
    description="Record the doctor's final ICD-10 code for a suggestion returned by $suggest.",
)
def suggest_choice_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    suggestion_id, code = params.text("suggestion-id"), params.text("code")
    if not suggestion_id or not code:
        raise InvalidRequest("$suggest-choice needs 'suggestion-id' and 'code'")
    with call.store.transaction() as tx:
        service.record_choice(tx.conn, region=call.store.region, suggestion_id=suggestion_id, chosen_code=code)
    return {"resourceType": "Parameters", "parameter": [{"name": "recorded", "valueBoolean": True}]}


@operation(
    "suggest-accuracy",
    resource_types=("Condition",),
    aggregate=True,
    description="The assistant's Hit@1 and Hit@3 over the suggestions whose final code the doctor recorded, in all "
    "or grouped by 'group-by' (a comma list of specialty, month, model_version); aggregates only",
)
def suggest_accuracy_operation(call: OperationCall) -> JSON:
    asked = Parameters(call.parameters).text("group-by") or ""
    group_by = tuple(name.strip() for name in asked.split(",") if name.strip())
    if unknown := [name for name in group_by if name not in AGGREGATE_GROUPS]:
        raise InvalidRequest(f"cannot group by {unknown}; choose from {list(AGGREGATE_GROUPS)}")
    with call.store.reader() as tx:
        groups = accuracy_by(tx.conn, region=call.store.region, group_by=group_by)
    return {"resourceType": "Parameters", "parameter": [
        {"name": "group", "part": [*({"name": name, "valueString": value} for name, value in group.key.items()
                                     if value is not None),
                                   {"name": "n", "valueInteger": group.n},
                                   {"name": "hit1", "valueDecimal": round(group.hit1, 4)},
                                   {"name": "hit3", "valueDecimal": round(group.hit3, 4)}]}
        for group in groups
    ]}  # fmt: skip
