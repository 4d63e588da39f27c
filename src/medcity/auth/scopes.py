"""SMART scopes as the token endpoints grant them: which a role may ask for at all, and which of the asked ones a
registration covers. (What a granted scope then permits is the policy's business: `medcity.auth.policy`.)"""

from __future__ import annotations

import re

from medcity.auth.users import Role

# The scope contexts each role may hold: a patient cannot get a `user/` token, nobody but a system client `system/`.
_CONTEXTS = {Role.PATIENT: ("patient",), Role.PROXY: ("patient",), Role.SYSTEM: ("system",)}
# What a token asks for when no scope is given, by role.
DEFAULT_SCOPE = {Role.PATIENT: "patient/*.rs", Role.PROXY: "patient/*.rs", Role.SYSTEM: "system/*.rs"}
# Scopes that name no data but a launch context or a claim; covered only by the same word.
CONTEXT_SCOPES = frozenset({"launch/patient", "openid", "fhirUser", "offline_access"})

# Held by another region's system (registered for it with `medcity clients add`): the one right to ask this region
# for the summary of a patient it names by national identifier (`Patient/$exchange-summary`), and no other.
EXCHANGE_SCOPE = "medcity/exchange"

_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([cruds]+|read|write|\*)$")
_V1_LETTERS = {"read": "rs", "write": "cud", "*": "cruds"}


def contexts_for(role: Role) -> tuple[str, ...]:
    return _CONTEXTS.get(role, ("user",))


def default_scope(role: Role) -> str:
    return DEFAULT_SCOPE.get(role, "user/*.cruds")


def _parts(scope: str) -> tuple[str, str, frozenset[str]] | None:
    match = _RESOURCE_SCOPE.match(scope)
    if not match:
        return None
    letters = match.group(3)
    return match.group(1), match.group(2), frozenset(_V1_LETTERS.get(letters, letters))


def covers(granted: str, asked: str) -> bool:
    """Whether holding ``granted`` already allows everything ``asked`` does (same context, the same or every
    type, a subset of the letters). Anything not understood is covered only by the very same string."""
    if granted == asked:
        return True
    have, want = _parts(granted), _parts(asked)
    if have is None or want is None:
        return False
    return have[0] == want[0] and have[1] in ("*", want[1]) and want[2] <= have[2]


def narrow(asked: list[str], allowed: list[str]) -> list[str]:
    """The asked scopes that some allowed scope covers, in the asked order, without repeats."""
    kept: list[str] = []
    for scope in asked:
        if scope not in kept and any(covers(grant, scope) for grant in allowed):
            kept.append(scope)
    return kept


def fits_role(scope: str, role: Role) -> bool:
    """Whether a ``role`` may hold ``scope`` at all: its context is one of the role's (context scopes always)."""
    if scope in CONTEXT_SCOPES:
        return True
    return scope.split("/", 1)[0] in contexts_for(role)
