"""Which booking channel a caller is, from who they are: recorded with every booking for the situation centre,
and deciding which slot kinds they may take (`rules.CHANNELS_BY_KIND`) and, for the registry, whose slots."""

from __future__ import annotations

from typing import Any

_BY_ROLE = {"patient": "self", "proxy": "self", "registrar": "registry", "doctor": "doctor", "nurse": "doctor"}


def channel_of(principal: Any) -> str:
    """The channel of the principal's first role that has one; other callers (systems, admins, the anonymous
    local operator) book as `api`."""
    for role in getattr(principal, "roles", ()) or ():
        if role in _BY_ROLE:
            return _BY_ROLE[role]
    return "api"


def booking_organization(principal: Any) -> str | None:
    """The one organisation whose slots the caller may book: a registrar books for their own organisation only
    (one without an organisation, for none); None for any other caller."""
    if channel_of(principal) != "registry":
        return None
    return getattr(principal, "organization", None) or ""
