"""The CapabilityStatement: exactly what this server supports, per type, derived from the same registries the
routes use."""

from __future__ import annotations

from functools import cache
from typing import Any

from medcity import __version__
from medcity.kit.hooks import all_operations
from medcity.store.searchparams import registry

_INTERACTIONS = ["read", "vread", "update", "delete", "history-instance", "history-type", "create", "search-type"]
_MODIFIERS_NOTE = {
    "string": ":exact :contains :missing",
    "token": "system|code, code, |code, system|, :not :text :missing",
    "reference": "Type/id, id, :Type, one level of chaining, :missing",
    "date": "eq ne lt gt le ge sa eb ap",
    "number": "eq ne lt gt le ge sa eb ap",
    "quantity": "[prefix]number|system|code",
    "uri": ":below :above :missing",
}


@cache
def _resources() -> list[dict[str, Any]]:
    reg = registry()
    operations = all_operations()
    out = []
    for rtype in reg.resource_types:
        params = reg.for_type(rtype)
        refs = sorted(code for code, p in params.items() if p.type == "reference")
        revincludes = sorted(
            f"{other}:{code}"
            for other in reg.resource_types
            for code, p in reg.for_type(other).items()
            if p.type == "reference" and rtype in p.targets
        )
        entry: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": code} for code in _INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchInclude": [f"{rtype}:{code}" for code in refs],
            "searchRevInclude": revincludes,
            "searchParam": [
                {"name": "_id", "type": "token", "documentation": "Resource id"},
                {"name": "_lastUpdated", "type": "date", "documentation": "When the resource last changed"},
            ]
            + [
                {
                    "name": code,
                    "definition": p.url,
                    "type": p.type,
                    "documentation": _MODIFIERS_NOTE.get(p.type, ""),
                }
                for code, p in sorted(params.items())
                if code not in ("_id", "_lastUpdated")
            ],
        }
        ops = [op for op in operations if rtype in op.resource_types]
        if ops:
            entry["operation"] = [
                {"name": op.name, "definition": f"urn:medcity:operation:{rtype}:{op.name}",
                 "documentation": op.description}
                for op in ops
            ]  # fmt: skip
        out.append(entry)
    return out


def capability_statement(base: str) -> dict[str, Any]:
    system_ops = [op for op in all_operations() if not op.resource_types]
    rest: dict[str, Any] = {
        "mode": "server",
        "resource": _resources(),
        "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
    }
    if system_ops:
        rest["operation"] = [{"name": op.name, "definition": f"urn:medcity:operation:{op.name}"} for op in system_ops]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-27",
        "kind": "instance",
        "software": {"name": "medcity", "version": __version__},
        "implementation": {"description": "medcity FHIR R4 server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    }
