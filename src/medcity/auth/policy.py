"""The one place that decides who may do what. Every FHIR path asks `decide` for an action on a type or a
resource, and every query (search, include, history, paging) carries `restriction`, so the same rules hold in SQL
and totals, includes and pages leak nothing.

Rules are deny-by-default: a role not named below, or a type a role has no rule for, is refused. SMART v2 scopes
(`patient/`, `user/`, `system/` with `cruds` letters) are applied on top of the role and can only narrow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import false
from sqlalchemy.sql.elements import ColumnElement

from medcity.auth.principal import Principal
from medcity.auth.users import Role
from medcity.store.index import compartment_patient
from medcity.store.repository import Restriction, StoredResource
from medcity.store.searchparams import registry

# Reference data that holds nothing about a patient: any signed-in caller may read and search it.
DIRECTORY_TYPES = frozenset(
    {
        "CapabilityStatement", "CodeSystem", "ConceptMap", "Endpoint", "HealthcareService", "Location",
        "Medication", "NamingSystem", "OperationDefinition", "Organization", "Practitioner", "PractitionerRole",
        "Questionnaire", "SearchParameter", "Slot", "StructureDefinition", "Substance", "ValueSet",
    }
)  # fmt: skip
READS = frozenset({"read", "vread", "search", "history"})
WRITES = frozenset({"create", "update", "delete"})
# SMART v2 permission letters per action. History lists versions, so it needs the right to search.
_LETTER = {"create": "c", "read": "r", "vread": "r", "update": "u", "delete": "d", "search": "s", "history": "s"}
_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([cruds]+|read|write|\*)(\?.*)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


ALLOW = Decision(True, "allowed")


@lru_cache(maxsize=1)
def compartment_types() -> frozenset[str]:
    """Types whose rows can belong to a patient (the FHIR Patient compartment, and Patient itself)."""
    return frozenset(registry().compartment) | {"Patient"}


def is_directory(resource_type: str | None) -> bool:
    return resource_type in DIRECTORY_TYPES and resource_type not in compartment_types()


def scope_grants(scopes: tuple[str, ...], contexts: tuple[str, ...], letter: str, resource_type: str) -> bool:
    """Whether any scope in one of `contexts` gives `letter` on `resource_type`. Query-restricted scopes
    (`...?category=...`) are not understood yet, so they grant nothing rather than everything."""
    for scope in scopes:
        match = _SCOPE.match(scope)
        if not match or match.group(4):
            continue
        context, rtype, perms = match.group(1), match.group(2), match.group(3)
        if context in contexts and rtype in ("*", resource_type) and letter in _V1.get(perms, perms):
            return True
    return False


def _scope_contexts(principal: Principal) -> tuple[str, ...]:
    # A system client acts for itself; a person acts as a user, or in a patient's context when one is bound.
    if principal.role == Role.SYSTEM:
        return ("system",)
    return ("patient", "user") if principal.patient else ("user",)


def _action_letter(action: str) -> str | None:
    if action.startswith("operation:"):
        return "r"  # an operation reads at least what it is invoked on; writing ones check each write inside
    return _LETTER.get(action)


def patient_of(resource_type: str | None, resource: Any) -> tuple[bool, str | None]:
    """(known, patient id) for what `require` was given: a stored row, a resource body, or an operation's id."""
    if isinstance(resource, StoredResource):
        return True, resource.patient
    if isinstance(resource, dict):
        body = resource if "resourceType" in resource else {**resource, "resourceType": resource_type}
        return True, compartment_patient(body) if body.get("resourceType") else None
    if isinstance(resource, str):
        if resource_type == "Patient":
            return True, resource
        return False, None
    return True, None


# Booking without queues: patients and proxies find and book (for themselves); registrars also publish schedules.
PATIENT_BOOKING = frozenset({"operation:find", "operation:book"})
REGISTRAR_BOOKING = PATIENT_BOOKING | {"operation:publish"}


def decide(principal: Principal, action: str, resource_type: str | None, resource: Any = None) -> Decision:
    if principal.kind == "anonymous":
        return ALLOW  # only reachable where authentication is switched off (Settings.auth_required off)
    if action.startswith("bundle:"):
        return ALLOW  # every entry of a bundle is decided on its own by the interaction it runs
    role = principal.role
    letter = _action_letter(action)
    if letter is None:
        return Decision(False, f"unknown action {action}")
    if principal.scopes is not None and not scope_grants(
        principal.scopes, _scope_contexts(principal), letter, resource_type or "*"
    ):
        return Decision(False, "not granted by the token's scopes")
    if role == Role.ADMIN:
        return ALLOW
    if role == Role.REGISTRAR and action in REGISTRAR_BOOKING:
        return ALLOW
    if role in (Role.PATIENT, Role.PROXY) and action in PATIENT_BOOKING and resource is None:
        return ALLOW  # type level; the handler asks again for the patient it books for (their own only)
    if role == Role.SYSTEM:
        return ALLOW  # what a system client may do is exactly what its scopes say (checked above)
    if role in (Role.DOCTOR, Role.NURSE):
        return ALLOW if action != "delete" else Decision(False, "clinical records are not deleted by staff")
    if is_directory(resource_type):
        return ALLOW if action in READS or action.startswith("operation:") else Decision(False, "read-only data")
    if role in (Role.PATIENT, Role.PROXY):
        return _decide_patient(principal, action, resource_type, resource)
    return Decision(False, f"the role {role} has no access to patient data")


def _decide_patient(principal: Principal, action: str, resource_type: str | None, resource: Any) -> Decision:
    if not principal.patient:
        return Decision(False, "the account is linked to no patient")
    if resource_type not in compartment_types():
        return Decision(False, "outside the patient compartment")
    if action in WRITES:
        return Decision(False, "patients do not write records through the FHIR API yet")
    known, patient = patient_of(resource_type, resource)
    if action.startswith("operation:") and not known:
        return Decision(False, "an operation on another resource than the patient's own Patient")
    if resource is None and action in ("search", "history"):
        return ALLOW  # narrowed to the compartment in SQL by `restriction`
    if resource is None and action.startswith("operation:"):
        return Decision(False, "type-level operations on patient data")
    if patient is not None and patient == principal.patient:
        return ALLOW
    return Decision(False, "another patient's record")


def restriction(principal: Principal) -> Restriction | None:
    """The SQL condition on the `resource` table for each type a query touches, or None for no limit."""
    if principal.kind == "anonymous":
        return None

    def restrict(table: Any, resource_type: str) -> ColumnElement[bool] | None:
        if not decide(principal, "search", resource_type).allowed:
            return false()
        if principal.role in (Role.PATIENT, Role.PROXY) and resource_type in compartment_types():
            return table.c.patient == principal.patient
        return None

    return restrict
