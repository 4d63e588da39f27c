"""Registration hooks, so that domain packages can add FHIR operations and CLI commands while every import arrow
still points down: a domain package registers here (kit), and the fhir/ and cli layers read what was registered.

The registering modules are named by the `medcity.domains` entry points (pyproject.toml) and imported on the first
look at any registry here, so that every writer keeps the same rules: the server, a command, a worker process a
command spawned, a script that only opened a Store.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

DOMAINS_GROUP = "medcity.domains"
_loading = threading.RLock()
_loaded = False


def load_domains() -> None:
    """Import every module of the `medcity.domains` entry points, once; their imports register here."""
    global _loaded
    if _loaded:
        return
    with _loading:  # a request thread must not see the registries half filled by another's first look
        if _loaded:
            return
        points = entry_points(group=DOMAINS_GROUP)
        if not points:  # writing on without the domains' rules would store what they refuse, silently
            raise RuntimeError(
                f"No '{DOMAINS_GROUP}' entry points: medcity is not installed in this environment (make install)"
            )
        for point in points:
            importlib.import_module(point.value)
        _loaded = True


JSON = dict[str, Any]


@dataclass
class OperationCall:
    """One invocation of a FHIR operation, as a domain handler sees it.

    `parameters` is always a FHIR Parameters resource (a GET's query string is turned into one), so a handler
    reads its inputs one way. `store` is the request's `medcity.store.Store`; `principal` is who is calling
    (`medcity.auth` decides what they may do before the handler runs; a handler that touches more than the
    resource in the URL asks `access` again).
    """

    name: str
    resource_type: str | None
    resource_id: str | None
    parameters: JSON
    store: Any
    principal: Any
    access: Any = None
    query: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""


# A handler returns a resource as JSON, or a search result (any object the FHIR face renders as a searchset
# Bundle: `medcity.store.search.SearchResult`), so paged results reuse the same paging as search.
OperationHandler = Callable[[OperationCall], Any]


@dataclass(frozen=True)
class OperationSpec:
    """A FHIR operation: `name` without the `$`; `resource_types` empty means system level."""

    name: str
    handler: OperationHandler
    resource_types: tuple[str, ...] = ()
    type_level: bool = True
    instance_level: bool = False
    affects_state: bool = False
    description: str = ""
    # Answers only with aggregate figures (counts, rates), never an identifiable resource: analysts may call it.
    aggregate: bool = False


_operations: dict[tuple[str | None, str], OperationSpec] = {}


def operation(
    name: str,
    *,
    resource_types: tuple[str, ...] = (),
    type_level: bool = True,
    instance_level: bool = False,
    affects_state: bool = False,
    description: str = "",
    aggregate: bool = False,
) -> Callable[[OperationHandler], OperationHandler]:
    """Decorator: register `handler` as `[Type/][id/]$name`."""

    def register(handler: OperationHandler) -> OperationHandler:
        spec = OperationSpec(
            name=name,
            handler=handler,
            resource_types=resource_types,
            type_level=type_level,
            instance_level=instance_level,
            affects_state=affects_state,
            description=description,
            aggregate=aggregate,
        )
        for rtype in resource_types or (None,):
            _operations[(rtype, name)] = spec
        return handler

    return register


def find_operation(resource_type: str | None, name: str) -> OperationSpec | None:
    load_domains()
    return _operations.get((resource_type, name))


def all_operations() -> list[OperationSpec]:
    load_domains()
    seen: dict[int, OperationSpec] = {}
    for spec in _operations.values():
        seen[id(spec)] = spec
    return list(seen.values())


# A rule a domain package keeps on every write of a resource type, whichever door the write comes through
# (REST create or update, a bundle entry): given the transaction and the incoming resource, it returns the
# resource to store (possibly normalised) or raises a medcity error to refuse it.
WriteRule = Callable[[Any, JSON], JSON]
_write_rules: dict[str, list[WriteRule]] = {}


def before_write(resource_type: str) -> Callable[[WriteRule], WriteRule]:
    def register(rule: WriteRule) -> WriteRule:
        _write_rules.setdefault(resource_type, []).append(rule)
        return rule

    return register


def apply_write_rules(tx: Any, resource: JSON) -> JSON:
    load_domains()
    for rule in _write_rules.get(str(resource.get("resourceType")), ()):
        resource = rule(tx, resource)
    return resource


# A workflow that takes over a write a domain package owns (booking an Appointment on a published Slot, say):
# given the transaction, the incoming resource and the caller, it either does the write itself and returns the
# stored resource, or returns None to let the generic write go ahead. Keyed by (resource type, interaction),
# where the interaction is create, update or delete (for delete the resource is {"resourceType", "id"}).
WriteInterceptor = Callable[[Any, JSON, Any], Any]
_interceptors: dict[tuple[str, str], WriteInterceptor] = {}


def write_interceptor(resource_type: str, interaction: str) -> Callable[[WriteInterceptor], WriteInterceptor]:
    def register(interceptor: WriteInterceptor) -> WriteInterceptor:
        _interceptors[(resource_type, interaction)] = interceptor
        return interceptor

    return register


def find_write_interceptor(resource_type: str, interaction: str) -> WriteInterceptor | None:
    load_domains()
    return _interceptors.get((resource_type, interaction))


# A table a domain package derives from the resources of a type (a worklist's open orders, say) and keeps in step
# with them inside the writing transaction, whichever door the write comes through, deletes included: called by
# the store after it wrote a version, with the transaction, the stored version (`deleted` for a deletion), its
# search index rows as the store extracted them (`medcity.store.index.extract`; empty for a deletion), and the
# version it replaced with that version's index rows (`medcity.store.repository.Version`; None for a first
# version). A keeper reads both as search does, without extracting them again, and with `Tx.replace_rows`
# writes nothing when the replaced version's rows are the new one's.
DerivedTable = Callable[[Any, Any, dict[str, list[tuple[Any, ...]]], Any], None]
_derived: dict[str, list[DerivedTable]] = {}


def after_write(resource_type: str) -> Callable[[DerivedTable], DerivedTable]:
    def register(keeper: DerivedTable) -> DerivedTable:
        _derived.setdefault(resource_type, []).append(keeper)
        return keeper

    return register


def derived_tables(resource_type: str) -> list[DerivedTable]:
    load_domains()
    return _derived.get(resource_type, [])
