"""FHIR operation handlers for ICD-10: they read the Parameters resource and call `service`."""

from __future__ import annotations

from medcity.kit.errors import NotFound
from medcity.kit.hooks import JSON, OperationCall, operation
from medcity.kit.parameters import Parameters
from medcity.terminology import service


@operation("lookup", resource_types=("CodeSystem",), description="ICD-10 (МКБ-10) concept details")
def lookup(call: OperationCall) -> JSON:
    p = Parameters(call.parameters)
    system, code, _ = p.coding("coding")
    return service.lookup(
        p.text("code") or code,
        p.text("system") or system,
        display_language=p.text("displayLanguage"),
        properties=[str(v) for v in p.all("property")],
    )


@operation("validate-code", resource_types=("CodeSystem",), description="Is this an ICD-10 code?")
def validate_code(call: OperationCall) -> JSON:
    p = Parameters(call.parameters)
    system, code, display = p.coding("coding")
    return service.validate_code(
        p.text("code") or code,
        p.text("url") or p.text("system") or system,
        display=p.text("display") or display,
        display_language=p.text("displayLanguage"),
    )


@operation("subsumes", resource_types=("CodeSystem",), description="ICD-10 hierarchy test")
def subsumes(call: OperationCall) -> JSON:
    p = Parameters(call.parameters)
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
    p = Parameters(call.parameters)
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
