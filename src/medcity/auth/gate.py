"""The single place every FHIR interaction passes before it touches data.

Each route asks `Access.require(...)` before it reads or writes, passes `Access.restriction` to every search,
history and include so the policy is applied in SQL, and calls `Access.record(...)` after it. Who the caller is
comes from the `Authorization: Bearer` token; what they may do is decided by `medcity.auth.policy` alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypedDict, Unpack

from fastapi import Request
from sqlalchemy import Engine, Select, bindparam, select
from sqlalchemy.sql.elements import ColumnElement, False_, True_
from starlette.concurrency import run_in_threadpool

from medcity.auth import audit, breakglass, oidc, policy, proxy, revocations, tokens
from medcity.auth.principal import Principal
from medcity.auth.sessions import current_user
from medcity.auth.users import Role, User
from medcity.auth.verified import VerifiedTokens
from medcity.kit.config import Settings
from medcity.kit.db import single_statements
from medcity.kit.errors import Forbidden, NotFound, Unauthenticated
from medcity.kit.shared_sql import statement_for
from medcity.store.repository import Restriction, Store, StoredResource, Tx
from medcity.store.schema import resource
from medcity.store.search import pinned_patient

__all__ = ["Access", "OutsideCare", "Principal", "fhir_base", "get_access", "page_access", "principal_from_user"]


class OutsideCare(Forbidden):
    """Refused for want of a care relationship (or by the patient's consent): a doctor or nurse may open the
    record by break-glass. Pages link to the break-glass form; the API names the header."""

    def __init__(self, patient: str) -> None:
        super().__init__(
            f"Access denied: the patient is not in your care. To open the record anyway, give a reason: the "
            f"{breakglass.HEADER} header (percent-encoded UTF-8), Patient/[id]/$break-glass, or the web form."
        )
        self.patient = patient


def fhir_base(settings: Settings) -> str:
    """The tokens' audience: this server's FHIR base URL."""
    return f"{settings.base_url.rstrip('/')}/fhir"


class RowCheck(TypedDict, total=False):
    """How a row check runs. `tx`: the transaction the caller works in (the check then sees what it wrote so
    far). `meets`: whether the resource meets `Access.row_condition`, when the read that fetched it asked."""

    tx: Tx | None
    meets: bool | None


@dataclass
class Access:
    principal: Principal
    source: str | None = None
    touched: list[tuple[str, str, str]] = field(default_factory=list)
    # What the policy refused: (action, type, id, patient), audited like the rest.
    refused: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    # Where the policy's row checks run, and the settings they read (None: rows are never visible).
    engine: Engine | None = None
    context: policy.Context | None = None
    # A written reason to open a record outside the caller's care (the X-Break-Glass-Reason header, a form).
    break_glass_reason: str | None = None
    # Patients whose record this request opened by break-glass.
    glass_opened: list[str] = field(default_factory=list)
    # Patients whose own Patient row the policy let this request see (so their record may be read whole).
    patients_seen: set[str] = field(default_factory=set)
    # Patients the caller already held an open break-glass for, once the audit looked them up (audit._open_glass).
    glass_held: set[str] | None = None
    # The patient of each touched resource that was read from the store (so the audit need not look it up).
    patient_of: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def require(self, action: str, resource_type: str | None, resource: Any = None, **rows: Unpack[RowCheck]) -> None:
        """Raise Forbidden when the principal may not do `action` (read, search, create, update, delete,
        history, operation:<name>, bundle:<kind>) on this type or resource; `rows` as in RowCheck."""
        decision = self.decision(action, resource_type, resource, **rows)
        tx = rows.get("tx")
        if decision.allowed:
            return
        _known, patient = policy.patient_of(resource_type, resource)
        if patient is None and isinstance(resource, str) and resource_type and self.engine is not None:
            patient = self._patient_of_row(resource_type, resource, tx)
        glass = decision.glass and patient is not None and policy.may_break_glass(self.principal)
        if glass and patient and self.break_glass_reason:
            self.break_glass(patient, self.break_glass_reason, tx=tx)
            return
        rid = resource.id if isinstance(resource, StoredResource) else resource if isinstance(resource, str) else ""
        self.refused.append((action, resource_type or "", rid or "", patient))
        if glass and patient:
            raise OutsideCare(patient)
        if isinstance(resource, StoredResource) and action in ("read", "vread"):
            # The same answer as for an id never used, so that refusals do not confirm that a record exists.
            raise NotFound(f"{resource.type}/{resource.id} is not known")
        raise Forbidden(f"Access denied: {decision.reason}")

    def allows(self, action: str, resource_type: str | None, resource: Any = None) -> bool:
        """Whether `require` would let this through (no audit, no break-glass): for pages deciding what to show."""
        return self.decision(action, resource_type, resource).allowed

    def decision(
        self, action: str, resource_type: str | None, resource: Any = None, **rows: Unpack[RowCheck]
    ) -> policy.Decision:
        tx, meets = rows.get("tx"), rows.get("meets")
        decision = policy.decide(self.principal, action, resource_type, resource)
        # The operator and admins are allowed whatever the record, so what an update replaces needs no check.
        checks_replaced = self.principal.kind != "anonymous" and self.principal.role != Role.ADMIN
        if decision.allowed and checks_replaced and action == "update" and isinstance(resource, dict) and resource_type:
            # An update must also be allowed on what it replaces, so no record is moved out of another's reach.
            current = self._current(resource_type, resource.get("id"), tx)
            if current is not None and not current.deleted:
                replaced = policy.decide(self.principal, action, resource_type, current)
                if not replaced.allowed or (replaced.rows and not self._row_visible(resource_type, current.id, tx)):
                    return replaced if not replaced.allowed else policy.OUTSIDE_CARE
        if not (decision.allowed and decision.rows) or resource is None:
            return decision
        if isinstance(resource, dict):
            visible = self._body_allowed(resource_type or str(resource.get("resourceType")), resource, tx)
        else:
            rid = resource.id if isinstance(resource, StoredResource) else str(resource)
            visible = self._row_visible(resource_type or "", rid, tx, meets)
        return decision if visible else policy.OUTSIDE_CARE

    def row_condition(self, action: str, resource_type: str) -> ColumnElement[bool] | None:
        """The SQL condition the policy decides `action` on a row of `resource_type` by, for a read to ask along
        with the row (one statement instead of two); None when it decides without asking the database."""
        decision = policy.decide(self.principal, action, resource_type)
        if not (decision.allowed and decision.rows) or self.restriction is None or self.engine is None:
            return None
        cond = self.restriction(resource, resource_type)
        return None if cond is None or _constant(cond) is not None else cond

    @property
    def may_break_glass(self) -> bool:
        return policy.may_break_glass(self.principal)

    @property
    def break_glass_minutes(self) -> int:
        return int(self.context.break_glass_for.total_seconds() // 60) if self.context else 0

    @cached_property
    def rows(self) -> policy.Rows:
        return policy.Rows(self.principal, self.context or policy.Context(region=""))

    @cached_property
    def restriction(self) -> Restriction | None:
        return policy.restriction(self.principal, self.context)

    def restriction_for(self, tx: Tx, patient: str) -> Restriction | None:
        """The restriction for reading `patient`'s record in `tx`: the same rows, decided once for the patient."""
        context = self.context or policy.Context(region="")
        known = patient in self.patients_seen
        return policy.record_restriction(self.principal, context, tx, patient, visible=known)

    def exchange_record(self, tx: Tx, patient: str) -> Restriction | None:
        """The restriction for another region's system reading the patient it named by national identifier
        (`Patient/$exchange-summary`, which the policy allows it alone): that patient's record, less what their
        consent keeps to the organisation that wrote it."""
        if self.principal.kind != "anonymous" and not policy.is_exchange(self.principal):
            raise Forbidden("Access denied: records are exchanged with the regions registered for it")
        context = self.context or policy.Context(region="")
        return policy.record_restriction(self.principal, context, tx, patient, visible=True)

    def search_restriction(self, tx: Tx, rtype: str, params: list[tuple[str, str]]) -> Restriction | None:
        """The restriction for a search: decided once for the patient when the search's own parameters pin it to
        one (a doctor's `Observation?subject=Patient/…`), instead of asking the care and consent conditions of
        every row's patient in the search's SQL, which PostgreSQL plans anew for each search."""
        patient = pinned_patient(rtype, params)
        return self.restriction if patient is None else self.restriction_for(tx, patient)

    def record(
        self,
        action: str,
        resource_type: str | None,
        resource_id: str | None = None,
        *,
        tx: Tx | None = None,
        patient: str | None = None,
    ) -> None:
        """Note a touch for the audit. A write passes its transaction and the patient it wrote for: its audit row
        then commits with it."""
        if tx is not None and tx.writable and action in policy.WRITES and self.context is not None:
            audit.queue_write(tx, self.context.region, self, action, resource_type or "", resource_id or "", patient)
            return
        self.touched.append((action, resource_type or "", resource_id or ""))

    def record_read(self, action: str, stored: StoredResource) -> None:
        """Note a read, search match or include of a current version read from the store: it knows its patient."""
        self.patient_of[stored.type, stored.id] = stored.patient
        self.touched.append((action, stored.type, stored.id))

    def break_glass(self, patient: str, reason: str, *, tx: Tx | None = None) -> str:
        """Open `patient`'s record outside the caller's care for a while, with a written reason (flagged in the
        audit and shown to the patient): in the write transaction `tx` when one is under way (it commits with
        the write it opened the record for), else on its own."""
        if self.engine is None or self.context is None or not policy.may_break_glass(self.principal):
            raise Forbidden("Access denied: only doctors and nurses may break the glass")
        if tx is not None and tx.writable:
            event_id = breakglass.open_record(tx, self.principal, patient, reason, self.context.now)
        else:  # committed on its own: it stands even when the request then fails, as a read under it was made
            with Store(self.engine, self.context.region).transaction() as own:
                event_id = breakglass.open_record(own, self.principal, patient, reason, self.context.now)
        self.glass_opened.append(patient)
        return event_id

    # ---- row checks, with the policy's own SQL ----------------------------------------------------------------

    def _run(self, query: Any, tx: Tx | None, params: dict[str, Any] | None = None) -> Any:
        if tx is not None:
            tx.flush()
            return tx.execute(query, params).first()
        assert self.engine is not None
        with single_statements(self.engine) as conn:
            return conn.execute(query, params).first()

    def _current(self, rtype: str, rid: Any, tx: Tx | None) -> StoredResource | None:
        if not isinstance(rid, str) or (self.engine is None and tx is None):
            return None
        if tx is not None:
            return tx.current(rtype, rid)
        assert self.engine is not None
        with Store(self.engine, self._region).reader() as reader:
            return reader.current(rtype, rid)

    @property
    def _region(self) -> str:
        return self.context.region if self.context else ""

    def _row_visible(self, rtype: str, rid: str, tx: Tx | None, meets: bool | None = None) -> bool:
        """Whether the row meets the policy's condition; `meets` is the answer when the read asked it already."""
        if tx is None and rtype == "Patient" and rid in self.patients_seen:
            return True  # a read sees more as it goes (a break-glass), never less; a write may have moved the patient
        cond = self.restriction(resource, rtype) if self.restriction else None
        if cond is None:
            return True
        if (known := _constant(cond)) is not None:
            return known
        if self.engine is None and tx is None:
            return False
        if meets is None:
            params = {"visible_region": self._region, "visible_type": rtype, "visible_id": rid}
            meets = self._run(statement_for(cond, _visibility_query), tx, params) is not None
        if meets and rtype == "Patient":
            self.patients_seen.add(rid)
        return meets

    def _body_allowed(self, rtype: str, body: dict[str, Any], tx: Tx | None) -> bool:
        cond = self.rows.body(rtype, body)
        if cond is None:
            return True
        if (known := _constant(cond)) is not None:
            return known
        if self.engine is None and tx is None:
            return False
        return bool(self._run(select(cond), tx)[0])

    def _patient_of_row(self, rtype: str, rid: str, tx: Tx | None) -> str | None:
        row = self._run(
            select(resource.c.patient).where(
                resource.c.partition == self._region, resource.c.type == rtype, resource.c.id == rid
            ),
            tx,
        )
        return row.patient if row else None


def _visibility_query(cond: ColumnElement[bool]) -> Select[Any]:
    """Whether one row meets `cond`: one statement object per condition (kit.shared_sql.statement_for)."""
    return select(resource.c.id).where(
        resource.c.partition == bindparam("visible_region"),
        resource.c.type == bindparam("visible_type"),
        resource.c.id == bindparam("visible_id"),
        cond,
    )


def _constant(cond: ColumnElement[bool]) -> bool | None:
    """The value of a row condition that needs no database (a result naming the laboratory's own organisation, a
    type the caller may not see). Asking it would cost a statement and a flush of what the transaction wrote so
    far, which a bundle of results then writes in one go."""
    if isinstance(cond, True_):
        return True
    return False if isinstance(cond, False_) else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <access token>'")
    return token.strip()


async def principal_from_token(request: Request, token: str) -> Principal:
    """The caller a bearer token names; Unauthenticated when it is invalid, expired or revoked. A token verified
    before is not verified again (medcity.auth.verified), and revocations are held in memory
    (medcity.auth.revocations): most requests pay neither a signature check nor a statement for their token."""
    settings: Settings = request.app.state.settings
    revoked = revocations.of(request.app.state.engine)
    if revoked.due():
        await run_in_threadpool(revoked.refresh)
    now = datetime.now(UTC)
    known: VerifiedTokens = request.app.state.verified_tokens
    claims = known.get(token, now)
    if claims is None:
        claims = await run_in_threadpool(oidc.verify_bearer, token, settings, now, revoked.__contains__)
        if not oidc.is_external(token, settings):
            known.put(token, claims, now)
    elif claims.jti in revoked:
        raise Unauthenticated(tokens.REFUSED)
    return _principal_of(claims)


def _principal_of(claims: tokens.TokenClaims) -> Principal:
    fhir_user = claims.fhir_user or ""
    practitioner = fhir_user.removeprefix("Practitioner/") if fhir_user.startswith("Practitioner/") else None
    return Principal(
        kind="client" if claims.role == "system" else "user",
        username=claims.subject,
        roles=(claims.role,),
        scopes=claims.scopes,
        patient=claims.patient,
        practitioner=practitioner,
        organization=claims.organization,
        token_id=claims.jti,
    )


def principal_from_user(user: User) -> Principal:
    """A logged-in browser user: the role alone decides (no SMART scopes narrow a web session)."""
    return Principal(
        kind="user",
        username=user.username,
        roles=(user.role.value,),
        scopes=None,
        patient=user.patient,
        practitioner=user.practitioner,
        organization=user.organization,
    )


@asynccontextmanager
async def _audited(request: Request, principal: Principal) -> AsyncIterator[Access]:
    """The Access for ``principal``; after the request (also a failed one) the audit of what it touched or was
    refused. The anonymous operator (authentication off) is audited like everyone else."""
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    access = Access(
        principal=principal,
        source=request.client.host if request.client else None,
        engine=engine,
        context=policy.Context.of(settings),
        break_glass_reason=breakglass.header_reason(request.headers.get(breakglass.HEADER)),
    )
    audit.expect(engine)
    try:
        yield access
    finally:
        if access.touched or access.refused or access.glass_opened:
            await audit.written(engine, settings.region, access, expected=True)
        else:
            audit.withdraw(engine)


def _linked(request: Request, principal: Principal) -> Principal:
    """A proxy acts for its patient only while the link to that patient is active (`medcity.auth.proxy`); without
    it, for nobody."""
    if Role.PROXY.value not in principal.roles or not principal.patient:
        return principal
    store: Store = request.app.state.store
    with store.reader() as tx:
        linked = proxy.acts_for(tx, principal.username or "", principal.patient)
    return principal if linked else replace(principal, patient=None)


async def get_access(request: Request) -> AsyncIterator[Access]:
    """FastAPI dependency for the FHIR API: who is calling (the bearer token), and after the request the audit.
    Async, so that a request pays a thread hop only for the database work it needs (a token's first verification,
    the audit write)."""
    settings: Settings = request.app.state.settings
    token = _bearer(request)
    if token is not None:
        principal = await principal_from_token(request, token)
        if Role.PROXY.value in principal.roles:
            principal = await run_in_threadpool(_linked, request, principal)
    elif settings.auth_required:
        raise Unauthenticated("This server needs an access token: Authorization: Bearer <token>")
    else:
        principal = Principal()
    async with _audited(request, principal) as access:
        yield access


async def page_access(request: Request) -> AsyncIterator[Access]:
    """FastAPI dependency for web pages: the logged-in browser user (the session cookie), decided by the same
    policy and audited the same way as the API. Pages always need a login, whatever ``auth_required`` says; an
    unauthenticated browser is sent to the login page (see ``medcity.app``)."""
    user = await run_in_threadpool(current_user, request)
    if user is None:
        raise Unauthenticated("Please log in")
    principal = principal_from_user(user)
    if user.role == Role.PROXY:
        principal = await run_in_threadpool(_linked, request, principal)
    async with _audited(request, principal) as access:
        yield access


# The same gate for routes that are plain ASGI (no dependency injection): `async with access_scope(request)`.
access_scope = asynccontextmanager(get_access)
