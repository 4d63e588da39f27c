"""The single place every FHIR interaction passes before it touches data.

Each route asks `Access.require(...)` before it reads or writes, passes `Access.restriction` to every search,
history and include so the policy is applied in SQL, and calls `Access.record(...)` after it. The access-control
work (issue 3) decides here; until then every caller is the anonymous local operator and nothing is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from medcity.store.repository import Restriction


@dataclass(frozen=True)
class Principal:
    kind: str = "anonymous"
    username: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()


@dataclass
class Access:
    principal: Principal
    source: str | None = None
    touched: list[tuple[str, str, str]] = field(default_factory=list)

    def require(self, action: str, resource_type: str | None, resource: Any = None) -> None:
        """Raise Forbidden when the principal may not do `action` (read, search, create, update, delete,
        history, operation:<name>) on this type or resource."""

    @property
    def restriction(self) -> Restriction | None:
        return None

    def record(self, action: str, resource_type: str | None, resource_id: str | None = None) -> None:
        self.touched.append((action, resource_type or "", resource_id or ""))


def get_access(request: Request) -> Access:
    return Access(principal=Principal(), source=request.client.host if request.client else None)
