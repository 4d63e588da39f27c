"""Reading a FHIR Parameters resource, the input of every operation, one way for every package.

A GET's query string reaches a handler as a Parameters resource whose values are all strings, so numbers and
booleans are read from either their FHIR type or their text.
"""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest


class Parameters:
    """The `parameter` entries of a Parameters resource, by name: their value[x], or their `resource`."""

    def __init__(self, resource: Any) -> None:
        if not isinstance(resource, dict) or resource.get("resourceType", "Parameters") != "Parameters":
            raise InvalidRequest("the operation's input must be a Parameters resource")
        entries = resource.get("parameter") or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InvalidRequest("Parameters.parameter must be a list of objects")
        self._values: dict[str, list[Any]] = {}
        for entry in entries:
            name = entry.get("name")
            value = next((v for k, v in entry.items() if k.startswith("value")), entry.get("resource"))
            if isinstance(name, str) and value is not None:
                self._values.setdefault(name, []).append(value)

    def names(self) -> set[str]:
        return set(self._values)

    def all(self, name: str) -> list[Any]:
        return self._values.get(name, [])

    def _one(self, name: str) -> Any:
        values = self.all(name)
        if len(values) > 1:
            raise InvalidRequest(f"parameter '{name}' is given more than once")
        return values[0] if values else None

    def text(self, name: str) -> str | None:
        value = self._one(name)
        if value is None:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidRequest(f"parameter '{name}' must be a string")
        return str(value)

    def integer(self, name: str, *, low: int | None = None, high: int | None = None) -> int | None:
        value = self._one(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidRequest(f"parameter '{name}' must be a whole number")
        try:
            number = int(value)
        except ValueError:
            raise InvalidRequest(f"parameter '{name}' must be a whole number, not '{str(value)[:40]}'") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise InvalidRequest(f"parameter '{name}' must be between {low} and {high}")
        return number

    def boolean(self, name: str) -> bool | None:
        value = self._one(name)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidRequest(f"parameter '{name}' must be true or false")

    def coding(self, name: str) -> tuple[str | None, str | None, str | None]:
        """(system, code, display) of a Coding parameter, or three Nones."""
        coding = self._one(name)
        if coding is None:
            return None, None, None
        if not isinstance(coding, dict):
            raise InvalidRequest(f"parameter '{name}' must be a Coding")
        parts = (coding.get("system"), coding.get("code"), coding.get("display"))
        if not all(p is None or isinstance(p, str) for p in parts):
            raise InvalidRequest(f"parameter '{name}' is not a valid Coding")
        return parts

    def resource(self, name: str, resource_type: str) -> dict[str, Any] | None:
        value = self._one(name)
        if value is None:
            return None
        if not isinstance(value, dict) or value.get("resourceType") != resource_type:
            raise InvalidRequest(f"parameter '{name}' must hold a {resource_type} resource")
        return value

    def reference_id(self, name: str, resource_type: str) -> str | None:
        """The id from a Reference (or a 'Type/id' or bare-id string) to a `resource_type`."""
        value = self._one(name)
        if value is None:
            return None
        reference = value.get("reference") if isinstance(value, dict) else value
        if not isinstance(reference, str) or not reference.strip("/"):
            raise InvalidRequest(f"parameter '{name}' must be a reference to a {resource_type}")
        parts = reference.rstrip("/").split("/")
        if len(parts) > 1 and parts[-2] != resource_type:
            raise InvalidRequest(f"parameter '{name}' must refer to a {resource_type}, not '{reference[:80]}'")
        return parts[-1]
