"""Structural validation of a resource against the R4 models (fhir.resources' R4B models match R4 for every
type we serve)."""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from medcity.kit.errors import InvalidRequest, Issue


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def validate(resource: dict[str, Any]) -> None:
    """Raise InvalidRequest listing every structural error with its FHIRPath location.

    400, not 422: the specification keeps 422 for profile and business rules, 400 for basic FHIR rules.
    """
    rtype = resource["resourceType"]
    try:
        _model(rtype).model_validate(resource)
    except ValidationError as exc:
        issues = []
        for error in exc.errors()[:50]:
            path = ".".join([rtype, *(str(p) for p in error["loc"] if p != "__root__")])
            message = str(error["msg"]).removeprefix("Value error, ")
            issues.append(Issue(code="structure", diagnostics=f"{path}: {message}", expression=[path]))
        raise InvalidRequest(
            f"{rtype} is not valid FHIR R4: {issues[0].diagnostics}" if issues else f"{rtype} is not valid",
            issues=issues or None,
        ) from None
    except (TypeError, ValueError, KeyError) as exc:
        # Some datatype constructors raise outside pydantic's error collection.
        raise InvalidRequest(f"{rtype} is not valid FHIR R4: {exc}") from None


@cache
def summary_elements(resource_type: str) -> frozenset[str]:
    """Top-level elements marked `isSummary` in R4, for `_summary=true`."""
    fields = _model(resource_type).model_fields
    names = set()
    for name, info in fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("summary_element_property"):
            names.add(info.alias or name)
    return frozenset(names | {"resourceType", "id", "meta"})
