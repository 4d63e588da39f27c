"""The R4 SearchParameter definitions, compiled once into key paths over resource JSON.

The R4 expressions for the types we serve are simple FHIRPath: unions of element paths, `as` casts on choice
elements, `.where(resolve() is T)` on references and `.where(system='x')` filters. Compiling them to key chains
(with each leaf's datatype from the R4 JSON schema) makes extraction a few dict look-ups per value instead of a
FHIRPath evaluation per parameter, which the ingest rate needs.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from medcity.kit.errors import NotFound

SUPPORTED_TYPES = ("string", "token", "date", "reference", "quantity", "number", "uri")
RESULT_PARAMS = (
    "_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_offset",
    "_getpages", "_format", "_pretty", "_contained", "_containedType",
)  # fmt: skip


@dataclass(frozen=True)
class KeyChain:
    """One way to reach values: JSON keys from the resource root, the leaf's datatype, an optional filter."""

    keys: tuple[str, ...]
    leaf_type: str
    where: tuple[str, str] | None = None
    ref_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchParam:
    code: str
    type: str
    resource_type: str
    chains: tuple[KeyChain, ...]
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    description: str = ""
    url: str = ""


@dataclass
class Registry:
    resource_types: tuple[str, ...]
    params: dict[str, dict[str, SearchParam]] = field(default_factory=dict)
    compartment: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        return self.params.get(resource_type, {}).get(code)

    def for_type(self, resource_type: str) -> dict[str, SearchParam]:
        return self.params.get(resource_type, {})


def _load_gz(name: str) -> Any:
    with resources.files("medcity.store").joinpath("data", name).open("rb") as raw, gzip.open(raw, "rt") as f:
        return json.load(f)


_WHERE_RESOLVE = re.compile(r"\.where\(resolve\(\) is (\w+)\)")
_WHERE_EQ = re.compile(r"\.where\((\w+)='([^']*)'\)$")
_AS_PAREN = re.compile(r"^\((.+) as (\w+)\)(.*)$")
_AS_CALL = re.compile(r"\.as\((\w+)\)")


def _parse_part(part: str) -> tuple[list[tuple[str, str | None]], tuple[str, str] | None, tuple[str, ...]] | None:
    """One union member → ([(element, cast)], where-filter, reference target types); None if not a plain path."""
    part = part.strip()
    ref_types = tuple(_WHERE_RESOLVE.findall(part))
    part = _WHERE_RESOLVE.sub("", part)
    where = None
    m = _WHERE_EQ.search(part)
    if m:
        where = (m.group(1), m.group(2))
        part = part[: m.start()]
    steps: list[tuple[str, str | None]] = []
    m = _AS_PAREN.match(part)
    if m:
        inner, cast, rest = m.groups()
        inner_steps = inner.split(".")
        steps = [(s, None) for s in inner_steps[:-1]] + [(inner_steps[-1], cast)]
        steps += [(s, None) for s in rest.split(".") if s]
    else:
        for raw in part.split("."):
            cast_m = _AS_CALL.fullmatch("." + raw) if raw.startswith("as(") else None
            if cast_m:
                name, _ = steps[-1]
                steps[-1] = (name, cast_m.group(1))
            else:
                steps.append((raw, None))
    if not all(re.fullmatch(r"[A-Za-z]+", s) for s, _ in steps):
        return None
    return steps, where, ref_types


def _expand(
    types: dict[str, dict[str, str]], parent: str, steps: list[tuple[str, str | None]]
) -> list[tuple[tuple[str, ...], str]]:
    if not steps:
        return [((), parent)]
    (name, cast), rest = steps[0], steps[1:]
    props = types.get(parent, {})
    if name in props and cast is None:
        options = [(name, props[name])]
    else:
        wanted = None if cast is None else name + cast[0].upper() + cast[1:]
        options = [
            (key, t)
            for key, t in props.items()
            if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper()
            and (wanted is None or key == wanted)
        ]  # fmt: skip
    out: list[tuple[tuple[str, ...], str]] = []
    for key, child in options:
        # Choice keys name their datatype (valueQuantity); the schema's primitives say only "string".
        leaf = key[len(name) :] if key != name else child
        for tail, leaf_type in _expand(types, child, rest):
            out.append(((key, *tail), leaf_type if rest else leaf))
    return out


def _compile(types: dict[str, dict[str, str]], resource_type: str, expression: str) -> tuple[KeyChain, ...]:
    chains: list[KeyChain] = []
    for part in expression.split("|"):
        parsed = _parse_part(part)
        if parsed is None:
            continue
        steps, where, ref_types = parsed
        root = steps[0][0]
        if root not in (resource_type, "Resource", "DomainResource"):
            continue
        for keys, leaf in _expand(types, resource_type, steps[1:]):
            chains.append(KeyChain(keys=keys, leaf_type=leaf, where=where, ref_types=ref_types))
    return tuple(chains)


# medcity's own parameters, where R4 defines none for what the access policy must follow: an order's or a
# prescription's reason tells of a diagnosis as much as a visit's does (a patient's consent hides it, auth.consent).
MEDCITY_BASE = "urn:medcity:SearchParameter"
MEDCITY_PARAMETERS: tuple[dict[str, Any], ...] = (
    {"code": "reason-code", "base": ["ServiceRequest", "MedicationRequest"], "type": "token",
     "expression": "ServiceRequest.reasonCode | MedicationRequest.reasonCode",
     "url": f"{MEDCITY_BASE}:reason-code", "description": "Coded reason for the order or prescription"},
    {"code": "reason-reference", "base": ["ServiceRequest", "MedicationRequest"], "type": "reference",
     "expression": "ServiceRequest.reasonReference | MedicationRequest.reasonReference",
     "target": ["Condition", "Observation", "DiagnosticReport", "DocumentReference"],
     "url": f"{MEDCITY_BASE}:reason-reference", "description": "The condition or finding the order is for"},
)  # fmt: skip


@cache
def registry() -> Registry:
    spec = _load_gz("search-parameters.json.gz")
    types = _load_gz("element-types.json.gz")["definitions"]
    reg = Registry(resource_types=tuple(t for t in spec["types"]))
    for definition in [*spec["parameters"], *MEDCITY_PARAMETERS]:
        if definition["type"] not in SUPPORTED_TYPES or "expression" not in definition:
            continue
        bases = definition["base"]
        applies = reg.resource_types if set(bases) & {"Resource", "DomainResource"} else bases
        for rtype in applies:
            if rtype not in reg.resource_types:
                continue
            chains = _compile(types, rtype, definition["expression"])
            if not chains:
                continue
            reg.params.setdefault(rtype, {})[definition["code"]] = SearchParam(
                code=definition["code"],
                type=definition["type"],
                resource_type=rtype,
                chains=chains,
                targets=tuple(definition.get("target", ())),
                modifiers=tuple(definition.get("modifier", ())),
                description=definition.get("description", ""),
                url=definition.get("url", ""),
            )
    for entry in _load_gz("compartment-patient.json.gz").get("resource", []):
        if entry.get("param"):
            reg.compartment[entry["code"]] = tuple(entry["param"])
    return reg


def check_type(resource_type: str) -> None:
    if resource_type not in registry().resource_types:
        raise NotFound(f"Resource type '{resource_type}' is not supported by this server", status=404)
