"""Break-glass: a doctor or nurse opens the record of a patient outside their care, giving a written reason.

Each break-glass is an AuditEvent in the store (purpose of use BTG, the reason in its entity description, tagged
`break-glass`, the user as `agent.altId`), so it is in the patient's compartment: the patient sees it, and the
policy's SQL counts it for `Settings.break_glass_minutes` after it was written. Nobody but an admin may write
or delete AuditEvents through the API, so a break-glass cannot be forged or hidden.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from medcity.auth.care import BREAK_GLASS_TAG, glass_patients
from medcity.auth.principal import Principal
from medcity.kit import instants
from medcity.kit.db import Executor
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.store.repository import Tx

HEADER = "X-Break-Glass-Reason"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
MIN_REASON, MAX_REASON = 10, 500


def checked_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise InvalidRequest(
            N_("A break-glass reason must say why, in at least %(count)s characters"), count=MIN_REASON
        )
    return text[:MAX_REASON]


def header_reason(value: str | None) -> str | None:
    """The header's reason: HTTP headers are Latin-1, so a reason in another script comes percent-encoded UTF-8."""
    return unquote(value) if value else None


def event(principal: Principal, patient: str, reason: str, when: str) -> dict[str, Any]:
    who: dict[str, Any] = {"display": principal.username or "unknown"}
    if principal.practitioner:
        who["reference"] = f"Practitioner/{principal.practitioner}"
    agent: dict[str, Any] = {"who": who, "altId": principal.username or "", "requestor": True,
                             "purposeOfUse": [{"coding": [{"system": ACT_REASON, "code": "BTG"}]}]}  # fmt: skip
    if principal.role:
        agent["type"] = {"coding": [{"system": "urn:medcity:role", "code": principal.role}]}
    return {
        "resourceType": "AuditEvent",
        "meta": {"tag": [{"system": BREAK_GLASS_TAG, "code": "break-glass"}]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "action": "E",
        "recorded": when,
        "outcome": "0",
        "purposeOfEvent": [{"coding": [{"system": ACT_REASON, "code": "BTG", "display": "break the glass"}]}],
        "agent": [agent],
        "source": {"observer": {"display": "medcity"}},
        "entity": [{"what": {"reference": f"Patient/{patient}"}, "description": reason,
                    "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}}],
    }  # fmt: skip


def open_record(tx: Tx, principal: Principal, patient: str, reason: str, now: datetime) -> str:
    """Record the break-glass in `tx` and return the AuditEvent's id."""
    return tx.create(event(principal, patient, checked_reason(reason), instants.to_text(now))).stored.id


def active_patients(conn: Executor, region: str, username: str | None, since: datetime) -> set[str]:
    """The patients `username` holds an open break-glass for."""
    return {row[0] for row in conn.execute(glass_patients(region, username, instants.to_ms(since)))}


def page_url(patient: str, next_path: str) -> str:
    """The break-glass form for `patient`, returning to `next_path` once the reason is given: what other pages
    link to when the policy refuses them for want of a care relationship."""
    return f"/break-glass/{quote(patient, safe='')}?next={quote(next_path, safe='/')}"


def window(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)
