"""Who is calling, as the policy sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """`kind` is `anonymous` (no token, only where authentication is not required), `user` or `client`.
    `scopes` None means "not limited by SMART scopes" (the anonymous operator); a token always carries a tuple,
    and an empty one grants nothing."""

    kind: str = "anonymous"
    username: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] | None = None
    patient: str | None = None
    practitioner: str | None = None
    organization: str | None = None
    token_id: str | None = None

    @property
    def role(self) -> str | None:
        return self.roles[0] if self.roles else None
