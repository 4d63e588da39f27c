"""The single place every FHIR interaction passes before it touches data.

Each route asks `Access.require(...)` before it reads or writes, passes `Access.restriction` to every search,
history and include so the policy is applied in SQL, and calls `Access.record(...)` after it. Who the caller is
comes from the `Authorization: Bearer` token; what they may do is decided by `medcity.auth.policy` alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from medcity.auth import audit, policy, tokens
from medcity.auth.principal import Principal
from medcity.auth.sessions import current_user
from medcity.auth.users import User
from medcity.kit.config import Settings
from medcity.kit.errors import Forbidden, NotFound, Unauthenticated
from medcity.store.repository import Restriction, StoredResource

__all__ = ["Access", "Principal", "fhir_base", "get_access", "page_access", "principal_from_user"]


def fhir_base(settings: Settings) -> str:
    """The tokens' audience: this server's FHIR base URL."""
    return f"{settings.base_url.rstrip('/')}/fhir"


@dataclass
class Access:
    principal: Principal
    source: str | None = None
    touched: list[tuple[str, str, str]] = field(default_factory=list)
    # What the policy refused: (action, type, id, patient), audited like the rest.
    refused: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def require(self, action: str, resource_type: str | None, resource: Any = None) -> None:
        """Raise Forbidden when the principal may not do `action` (read, search, create, update, delete,
        history, operation:<name>, bundle:<kind>) on this type or resource."""
        decision = policy.decide(self.principal, action, resource_type, resource)
        if decision.allowed:
            return
        _known, patient = policy.patient_of(resource_type, resource)
        rid = resource.id if isinstance(resource, StoredResource) else resource if isinstance(resource, str) else ""
        self.refused.append((action, resource_type or "", rid or "", patient))
        if isinstance(resource, StoredResource) and action in ("read", "vread"):
            # The same answer as for an id never used, so that refusals do not confirm that a record exists.
            raise NotFound(f"{resource.type}/{resource.id} is not known")
        raise Forbidden(f"Access denied: {decision.reason}")

    @cached_property
    def restriction(self) -> Restriction | None:
        return policy.restriction(self.principal)

    def record(self, action: str, resource_type: str | None, resource_id: str | None = None) -> None:
        self.touched.append((action, resource_type or "", resource_id or ""))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <access token>'")
    return token.strip()


def principal_from_token(token: str, settings: Settings, engine: Engine, now: datetime) -> Principal:
    def revoked(jti: str) -> bool:
        with engine.connect() as conn:
            return tokens.is_revoked(conn, jti)

    claims = tokens.verify(
        token,
        tokens.signing_key(settings.secret_dir),
        issuer=settings.base_url,
        audience=fhir_base(settings),
        region=settings.region,
        now=now,
        is_revoked=revoked,
    )
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
    refused."""
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    access = Access(principal=principal, source=request.client.host if request.client else None)
    try:
        yield access
    finally:
        # The anonymous operator exists only with authentication off, on development machines: not audited.
        if principal.kind != "anonymous" and (access.touched or access.refused):
            await run_in_threadpool(audit.write, engine, settings.region, access)


async def get_access(request: Request) -> AsyncIterator[Access]:
    """FastAPI dependency for the FHIR API: who is calling (the bearer token), and after the request the audit.
    Async, so that a request pays a thread hop only for the database work it needs (the revocation check, the
    audit write)."""
    settings: Settings = request.app.state.settings
    token = _bearer(request)
    if token is not None:
        engine: Engine = request.app.state.engine
        principal = await run_in_threadpool(principal_from_token, token, settings, engine, datetime.now(UTC))
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
    async with _audited(request, principal_from_user(user)) as access:
        yield access


# The same gate for routes that are plain ASGI (no dependency injection): `async with access_scope(request)`.
access_scope = asynccontextmanager(get_access)
