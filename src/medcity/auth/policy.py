"""The one place that decides who may do what. Every FHIR path and page asks `decide` for an action on a type or
a resource, and every query (search, include, history, paging) carries `restriction`, so the same rules hold in
SQL and totals, includes and pages leak nothing.

`decide` needs no database: it answers allowed, refused, or "allowed for the rows `restriction` lets through"
(`Decision.rows`), which the gate then checks for the one resource (or written body) with the same SQL.

Rules are deny-by-default: a role not named below, or a type a role has no rule for, is refused. SMART v2 scopes
(`patient/`, `user/`, `system/` with `cruds` letters) are applied on top of the role and can only narrow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, false, literal, or_, select, true
from sqlalchemy.sql.elements import False_, True_

from medcity.auth import care, consent
from medcity.auth.care import Actors
from medcity.auth.principal import Principal
from medcity.auth.scopes import EXCHANGE_SCOPE
from medcity.auth.users import Role
from medcity.kit import instants
from medcity.kit.db import Executor
from medcity.kit.hooks import find_operation
from medcity.kit.shared_sql import shared
from medcity.store.index import compartment_patient, extract
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
READ_WRITE = READS | {"create", "update"}
# SMART v2 permission letters per action. History lists versions, so it needs the right to search.
_LETTER = {"create": "c", "read": "r", "vread": "r", "update": "u", "delete": "d", "search": "s", "history": "s"}
_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([cruds]+|read|write|\*)(\?.*)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
# A system client holding this scope acts for the whole region, not only inside its own organisation.
REGION_SCOPE = "medcity/region"
# Another region asking for a patient's summary (medcity.exchange), allowed only to system clients holding
# `scopes.EXCHANGE_SCOPE`, which grants nothing else.
EXCHANGE_SUMMARY = "operation:exchange-summary"

# Staff who treat patients: the care relationship decides, and they may break the glass.
CLINICAL = frozenset({Role.DOCTOR, Role.NURSE})
# What the other staff roles may do, by type; the rows are then narrowed by `restriction`.
_STAFF_TYPES: dict[str, dict[str, frozenset[str]]] = {
    Role.REGISTRAR: {t: READ_WRITE for t in ("Patient", "RelatedPerson", "Appointment", "Schedule", "Slot")},
    Role.LAB: {"ServiceRequest": READS | {"update"}, "Specimen": READ_WRITE, "Observation": READ_WRITE,
               "DiagnosticReport": READ_WRITE, "Patient": READS},
    Role.PHARMACIST: {"MedicationDispense": READ_WRITE},
}  # fmt: skip
# Booking without queues: patients and proxies find and book (for themselves); registrars also publish schedules.
PATIENT_BOOKING = frozenset({"operation:find", "operation:book"})
REGISTRAR_BOOKING = PATIENT_BOOKING | {"operation:publish"}
# A prescription is found only by its number together with the patient's identity (prescriptions/api.py).
PRESCRIPTION_LOOKUP = "operation:prescription"
BREAK_GLASS = "operation:break-glass"
# Operations that answer with counts and rates only (`medcity.kit.hooks.operation(aggregate=True)`): the health
# department's figures, for its analysts, the region's administrators and other systems (a ministry's).
AGGREGATE_ROLES = frozenset({Role.ANALYST, Role.ADMIN, Role.SYSTEM})
AUDIT_SEARCH = "operation:audit-log"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    # Allowed only for the rows `restriction` lets through: the gate checks the one resource against it.
    rows: bool = False
    # Refused for want of a care relationship (or by consent): a break-glass with a reason would open it.
    glass: bool = False


ALLOW = Decision(True, "allowed")
ROWS = Decision(True, "allowed for the rows the policy lets through", rows=True)
OUTSIDE_CARE = Decision(False, "the patient is not in your care; break-glass with a reason to open the record",
                        glass=True)  # fmt: skip


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def _next_minute(when: datetime) -> datetime:
    floor = when.replace(second=0, microsecond=0)
    return floor if floor == when else floor + timedelta(minutes=1)


@dataclass(frozen=True)
class Context:
    """What the SQL form of the policy needs besides the caller: the region, the time, the settings."""

    region: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    care_window: timedelta = timedelta(days=365)
    break_glass_for: timedelta = timedelta(hours=1)
    sensitive: tuple[str, ...] = consent.DEFAULT_SENSITIVE

    @classmethod
    def of(cls, settings: Any, now: datetime | None = None) -> Context:
        return cls(
            region=settings.region,
            now=now or datetime.now(UTC),
            care_window=timedelta(days=settings.care_window_days),
            break_glass_for=timedelta(minutes=settings.break_glass_minutes),
            sensitive=consent.categories_of(settings.sensitive_categories),
        )

    # The windows start at the next whole minute: requests within a minute then share the policy's SQL expressions
    # (care.py builds each once), and the rounding only ever shortens a window, by seconds.
    @property
    def glass_since(self) -> datetime:
        return _next_minute(self.now - self.break_glass_for)

    @property
    def care_since(self) -> datetime:
        return _next_minute(self.now - self.care_window)


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


def decide(principal: Principal, action: str, resource_type: str | None, resource: Any = None) -> Decision:
    if principal.kind == "anonymous":
        return ALLOW  # only reachable where authentication is switched off (Settings.auth_required off)
    if action.startswith("bundle:"):
        return ALLOW  # every entry of a bundle is decided on its own by the interaction it runs
    if action == EXCHANGE_SUMMARY or is_exchange(principal):
        if action == EXCHANGE_SUMMARY and resource_type == "Patient" and is_exchange(principal):
            return ALLOW  # the handler finds the patient by national identifier and reads under exchange_record
        return _deny("another region's system asks for a patient's summary and nothing else")
    letter = _action_letter(action)
    if letter is None:
        return _deny(f"unknown action {action}")
    if principal.scopes is not None and not scope_grants(
        principal.scopes, _scope_contexts(principal), letter, resource_type or "*"
    ):
        return _deny("not granted by the token's scopes")
    if resource_type == "AuditEvent" and action in WRITES:
        return _deny("the audit trail is written by the server only")
    role = principal.role
    if action.startswith("operation:") and _is_aggregate(resource_type, action):
        return ALLOW if role in AGGREGATE_ROLES else _deny("aggregate figures are for the region's analysts")
    if role == Role.ADMIN:
        return ALLOW
    if action == AUDIT_SEARCH:
        return _deny("the audit trail is searched by the region's admins")
    if action == PRESCRIPTION_LOOKUP and role != Role.PHARMACIST:
        return _deny("prescriptions are looked up by pharmacists; others search them")
    if role in (Role.PATIENT, Role.PROXY):
        return _decide_patient(principal, action, resource_type, resource)
    if resource_type == "Consent" and action in WRITES:
        return _deny("a consent is the patient's own to give")
    if role in CLINICAL:
        return _decide_clinical(action, resource_type)
    if role == Role.SYSTEM:
        # What a system client may do is what its scopes say (checked above), inside its organisation (rows).
        return ROWS if resource_type in compartment_types() or action in WRITES else ALLOW
    return _decide_other_staff(principal, action, resource_type)


def is_exchange(principal: Principal) -> bool:
    return principal.role == Role.SYSTEM and EXCHANGE_SCOPE in (principal.scopes or ())


def _is_aggregate(resource_type: str | None, action: str) -> bool:
    spec = find_operation(resource_type, action.removeprefix("operation:"))
    return spec is not None and spec.aggregate


def _decide_clinical(action: str, resource_type: str | None) -> Decision:
    if action == BREAK_GLASS and resource_type == "Patient":
        return ALLOW  # the one way into a record outside one's care, with a reason, audited and shown
    if action == "delete":
        return _deny("clinical records are not deleted by staff")
    if resource_type in compartment_types():
        return ROWS
    return ALLOW


def _decide_other_staff(principal: Principal, action: str, resource_type: str | None) -> Decision:
    role = principal.role
    if role == Role.REGISTRAR and action in REGISTRAR_BOOKING:
        return ALLOW
    if role == Role.PHARMACIST and action == PRESCRIPTION_LOOKUP and resource_type == "MedicationRequest":
        return ALLOW
    if role == Role.ANALYST and action.startswith("operation:"):
        return _deny("analysts see aggregate figures only")
    if action in (_STAFF_TYPES.get(role or "", {}).get(resource_type or "", frozenset())):
        return ROWS
    if is_directory(resource_type):
        return ALLOW if action in READS or action.startswith("operation:") else _deny("read-only data")
    return _deny(f"the role {role} has no access to {resource_type or 'this'} data")


def _decide_patient(principal: Principal, action: str, resource_type: str | None, resource: Any) -> Decision:
    if is_directory(resource_type):
        return ALLOW if action in READS or action.startswith("operation:") else _deny("read-only data")
    if action in PATIENT_BOOKING and resource is None:
        return ALLOW  # type level; the handler asks again for the patient it books for (their own only)
    if not principal.patient:
        return _deny("the account is linked to no patient")
    if resource_type not in compartment_types():
        return _deny("outside the patient compartment")
    if action in WRITES and not (resource_type == "Consent" and action != "delete"):
        return _deny("patients write only their consent through the FHIR API")
    known, patient = patient_of(resource_type, resource)
    if action.startswith("operation:") and not known:
        return _deny("an operation on another resource than the patient's own Patient")
    if resource is None and action in ("search", "history"):
        return ALLOW  # narrowed to the compartment in SQL by `restriction`
    if resource is None and action.startswith("operation:"):
        return _deny("type-level operations on patient data")
    if patient is not None and patient == principal.patient:
        return ALLOW
    return _deny("another patient's record")


# ---- the SQL form ---------------------------------------------------------------------------------------------


class Opened(NamedTuple):
    """The one patient a query reads the record of, decided before it runs: whether the caller may see them, and
    whether the patient's consent hides some of their Conditions (only then is each Condition row tested)."""

    patient: str
    seen: bool
    guarded: bool


class Rows:
    """The row conditions for one caller: which patients they may see, correlated on each row's patient, or, for
    a query that reads one patient's record, what was decided about the `opened` patient."""

    def __init__(self, principal: Principal, context: Context, opened: Opened | None = None) -> None:
        self.principal = principal
        self.context = context
        self.opened = opened
        self.actors = Actors(context.region, principal.practitioner, principal.organization)
        self._opened_rows: dict[Any, ColumnElement[bool]] = {}

    @property
    def region_wide(self) -> bool:
        return self.principal.role == Role.SYSTEM and REGION_SCOPE in (self.principal.scopes or ())

    @cached_property
    def glass(self) -> Select[Any] | None:
        if self.principal.role not in CLINICAL:
            return None
        return care.glass_patients(
            self.context.region, self.principal.username, instants.to_ms(self.context.glass_since)
        )

    def visible_patient(self, patient: Any) -> ColumnElement[bool]:
        """Whether `patient` (a column or a literal) is one this caller may see: in their care or under an open
        break-glass, or for a laboratory, one with an order addressed to it."""
        if self.principal.role == Role.LAB:
            return patient.in_(care.patients_served(self.actors, "ServiceRequest", ("performer",)))
        since_ms = instants.to_ms(self.context.care_since)
        if self.principal.role not in CLINICAL:
            return care.in_care(self.actors, patient, since_ms)
        glass_ms = instants.to_ms(self.context.glass_since)
        return care.in_care(self.actors, patient, since_ms, self.principal.username, glass_ms)

    def condition(self, table: Any, rtype: str) -> ColumnElement[bool] | None:
        """The row condition for `rtype`, the type-level decision taken (None: every row)."""
        role = self.principal.role
        if role in (Role.PATIENT, Role.PROXY):
            return table.c.patient == self.principal.patient if rtype in compartment_types() else None
        if role in (Role.LAB, Role.PHARMACIST) and rtype in ("ServiceRequest", "Observation", "DiagnosticReport",
                                                             "MedicationDispense"):  # fmt: skip
            return table.c.id.in_(self.actors.referring(rtype, ("performer",)))
        if role == Role.REGISTRAR and rtype == "Schedule":
            return table.c.id.in_(self.actors.referring("Schedule", ("actor",)))
        if rtype not in compartment_types() or self.region_wide or role == Role.ADMIN:
            return None
        cond = self.visible_patient(table.c.patient) if self.opened is None else self._opened_condition(table)
        if self.opened is None or self.opened.guarded:
            shown = consent.visible(table, rtype, self.actors, self.context.sensitive, self.glass)
            if shown is not None:
                cond = and_(cond, shown)
        return cond

    def _opened_condition(self, table: Any) -> ColumnElement[bool]:
        """One object per table for every type, so that a query can test the types that share it together."""
        assert self.opened is not None
        if table not in self._opened_rows:
            patient, seen, _guarded = self.opened
            self._opened_rows[table] = table.c.patient == patient if seen else false()
        return self._opened_rows[table]

    def body(self, rtype: str, body: dict[str, Any]) -> ColumnElement[bool] | None:
        """What a written body must satisfy (as a SQL truth value), beyond its type: the patient it is about is
        one this caller may see, and for performers and system clients, it names their organisation."""
        role = self.principal.role
        performer = role in (Role.LAB, Role.PHARMACIST) and rtype != "Specimen"
        if performer or (role == Role.SYSTEM and not self.region_wide):
            return self._names_actors({**body, "resourceType": rtype})
        if role == Role.REGISTRAR and rtype in ("Schedule", "Slot"):
            return None
        patient = compartment_patient({**body, "resourceType": rtype})
        if patient is None or role in (Role.ADMIN, Role.PATIENT, Role.PROXY) or self.region_wide:
            return None
        return self.visible_patient(literal(patient))

    def _names_actors(self, body: dict[str, Any]) -> ColumnElement[bool]:
        refs = [(row[1], row[2]) for row in extract(body).get("reference", [])]
        mine = {("Organization", self.principal.organization), ("Practitioner", self.principal.practitioner)}
        if any(ref in mine for ref in refs if ref[1]):
            return true()
        roles = [rid for rtype, rid in refs if rtype == "PractitionerRole"]
        return literal(roles[0]).in_(self.actors.roles()) if len(roles) == 1 else or_(
            false(), *(literal(rid).in_(self.actors.roles()) for rid in roles))  # fmt: skip


def restriction(
    principal: Principal, context: Context | None = None, opened: Opened | None = None
) -> Restriction | None:
    """The SQL condition on the `resource` table for each type a query touches, or None for no limit."""
    if principal.kind == "anonymous":
        return None
    context = context or Context(region="")
    if opened is not None:
        return _restriction(principal, context, opened)
    return _kept(_shared, _shared_key(principal, context), lambda: _restriction(principal, context, None))


def _shared_key(principal: Principal, context: Context) -> tuple[Any, ...]:
    """One caller's conditions are the same SQL for a whole minute (the windows start at whole minutes), so their
    requests share one set of expressions: SQLAlchemy then finds each statement's compiled form by a cache key
    it computed once, instead of walking the policy's subqueries on every request."""
    return (replace(principal, token_id=None), context.region, context.care_since, context.glass_since,
            context.care_window, context.break_glass_for, context.sensitive)  # fmt: skip


SHARED_RESTRICTIONS = 512
_shared: dict[tuple[Any, ...], Restriction] = {}
_opening: dict[tuple[Any, ...], Select[bool, bool]] = {}
K = TypeVar("K")
V = TypeVar("V")


def _kept(cache: dict[K, V], key: K, make: Callable[[], V]) -> V:
    """`cache[key]`, made on first use; the cache forgets everything once it holds SHARED_RESTRICTIONS callers."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= SHARED_RESTRICTIONS:
            cache.clear()
        found = cache[key] = make()
    return found


def _restriction(principal: Principal, context: Context, opened: Opened | None) -> Restriction:
    rows = Rows(principal, context, opened)
    built: dict[tuple[Any, str], ColumnElement[bool] | None] = {}

    def restrict(table: Any, resource_type: str) -> ColumnElement[bool] | None:
        # SQL expressions are immutable: each is built once per caller, however many statements use it (and
        # SQLAlchemy walks it for a cache key once, kit.shared_sql).
        if (table, resource_type) not in built:
            cond = condition(table, resource_type)
            built[table, resource_type] = cond if cond is None or isinstance(cond, False_ | True_) else shared(cond)
        return built[table, resource_type]

    def condition(table: Any, resource_type: str) -> ColumnElement[bool] | None:
        if opened is not None and is_exchange(principal):
            # Another region reading the one record it asked for by `$exchange-summary`: no type is searchable
            # for it otherwise, so the opened patient's rows (less what consent keeps) are all it gets.
            return rows.condition(table, resource_type)
        decision = decide(principal, "search", resource_type)
        if not decision.allowed:
            return false()
        if principal.role in (Role.PATIENT, Role.PROXY):
            return rows.condition(table, resource_type)
        return rows.condition(table, resource_type) if decision.rows else None

    return restrict


def record_restriction(
    principal: Principal, context: Context, conn: Executor, patient: str, *, visible: bool = False
) -> Restriction | None:
    """The restriction for a query that reads one patient's record (a chart, ``$everything``): whether the caller
    may see that patient is asked once here instead of once per row (not at all when already known `visible`),
    and so is whether their consent hides anything; rows of any other patient are left out."""
    if principal.kind == "anonymous" or principal.role in (Role.PATIENT, Role.PROXY, Role.ADMIN):
        return restriction(principal, context)  # their conditions do not ask about care
    asked = conn.execute(_opening_check(principal, context, visible), {"opened_patient": patient}).one()
    return restriction(principal, context, opened=Opened(patient, bool(asked[0]), bool(asked[1])))


def _opening_check(principal: Principal, context: Context, visible: bool) -> Select[bool, bool]:
    """Whether the caller may see the patient (unless already known `visible`) and whether the patient's consent
    denies anything, as one statement with the patient as its parameter, shared like the restriction."""

    def make() -> Select[bool, bool]:
        who = bindparam("opened_patient", type_=String)
        seen = true() if visible else Rows(principal, context).visible_patient(who)
        return select(seen, consent.denies_any(who, context.region, context.sensitive))

    return _kept(_opening, (*_shared_key(principal, context), visible), make)


def may_break_glass(principal: Principal) -> bool:
    return principal.role in CLINICAL
