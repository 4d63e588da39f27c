"""FHIR operation handlers for ICD-10: they read the Parameters resource and call `service`.

A GET's query string reaches a handler as a Parameters resource whose values are all strings, so numbers and
booleans are read from either their FHIR type or their text.
"""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest, NotFound
from medcity.kit.hooks import JSON, OperationCall, operation
from medcity.terminology import service


class _Params:
    """The `parameter` entries of a FHIR Parameters resource, by name."""

    def __init__(self, resource: Any) -> None:
        if not isinstance(resource, dict) or resource.get("resourceType", "Parameters") != "Parameters":
            raise InvalidRequest("the operation's input must be a Parameters resource")
        entries = resource.get("parameter") or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InvalidRequest("Parameters.parameter must be a list of objects")
        self._values: dict[str, list[Any]] = {}
        for entry in entries:
            name = entry.get("name")
            value = next((v for k, v in entry.items() if k.startswith("value")), None)
            if isinstance(name, str) and value is not None:
                self._values.setdefault(name, []).append(value)

    def all(self, name: str) -> list[Any]:
        return self._values.get(name, [])

    def text(self, name: str) -> str | None:
        values = self.all(name)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidRequest(f"parameter '{name}' is given more than once")
        if not isinstance(values[0], str | int | float) or isinstance(values[0], bool):
            raise InvalidRequest(f"parameter '{name}' must be a string")
        return str(values[0])

    def integer(self, name: str) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            raise InvalidRequest(f"parameter '{name}' must be an integer, not '{text[:40]}'") from None

    def boolean(self, name: str) -> bool | None:
        values = self.all(name)
        if not values:
            return None
        value = values[0]
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidRequest(f"parameter '{name}' must be true or false")

    def coding(self, name: str) -> tuple[str | None, str | None, str | None]:
        """(system, code, display) of a Coding parameter, or three Nones."""
        values = self.all(name)
        if not values:
            return None, None, None
        coding = values[0]
        if not isinstance(coding, dict):
            raise InvalidRequest(f"parameter '{name}' must be a Coding")
        parts = (coding.get("system"), coding.get("code"), coding.get("display"))
        if not all(p is None or isinstance(p, str) for p in parts):
            raise InvalidRequest(f"parameter '{name}' is not a valid Coding")
        return parts


@operation("lookup", resource_types=("CodeSystem",), description="ICD-10 (МКБ-10) concept details")
def lookup(call: OperationCall) -> JSON:
    p = _Params(call.parameters)
    system, code, _ = p.coding("coding")
    return service.lookup(
        p.text("code") or code,
        p.text("system") or system,
        display_language=p.text("displayLanguage"),
        properties=[str(v) for v in p.all("property")],
    )


@operation("validate-code", resource_types=("CodeSystem",), description="Is this an ICD-10 code?")
def validate_code(call: OperationCall) -> JSON:
    p = _Params(call.parameters)
    system, code, display = p.coding("coding")
    return service.validate_code(
        p.text("code") or code,
        p.text("url") or p.text("system") or system,
        display=p.text("display") or display,
        display_language=p.text("displayLanguage"),
    )


@operation("subsumes", resource_types=("CodeSystem",), description="ICD-10 hierarchy test")
def subsumes(call: OperationCall) -> JSON:
    p = _Params(call.parameters)
    system_a, code_a, _ = p.coding("codingA")
    system_b, code_b, _ = p.coding("codingB")
    return service.subsumes(
        p.text("codeA") or code_a, p.text("codeB") or code_b, p.text("system") or system_a or system_b
    )


@operation(
    "expand",
    resource_types=("ValueSet",),
    instance_level=True,
    description="ICD-10 autocompletion: codes and names matching `filter`, best first",
)
def expand(call: OperationCall) -> JSON:
    p = _Params(call.parameters)
    url = p.text("url")
    if call.resource_id is not None and url is None:
        # Only the ICD-10 value set is expandable here; ValueSet/icd-10 is the id value_set_resource() stores.
        if call.resource_id != service.value_set_resource()["id"]:
            raise NotFound(f"no expandable ValueSet with id '{call.resource_id[:64]}'")
        url = service.VALUE_SET_URL
    return service.expand(
        url,
        filter=p.text("filter"),
        count=p.integer("count"),
        offset=p.integer("offset"),
        display_language=p.text("displayLanguage"),
        active_only=p.boolean("activeOnly") is not False,
        include_designations=p.boolean("includeDesignations") is True,
    )
