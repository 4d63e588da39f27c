"""The audit trail: one `audit_log` row per resource an authenticated caller touched or was refused.

Rows are written after the request in their own transaction, so an audited write and its audit row do not yet
commit together (docs/security.md says so); the FHIR AuditEvent form comes when the store can take it in the
request's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, select

from medcity.auth.policy import compartment_types
from medcity.auth.tables import audit_log
from medcity.kit.db import WRITE
from medcity.kit.ids import new_id
from medcity.store.schema import resource

if TYPE_CHECKING:
    from medcity.auth.gate import Access

_INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"


def write(engine: Engine, region: str, access: Access) -> None:
    principal = access.principal
    recorded = datetime.now(UTC).strftime(_INSTANT)
    base: dict[str, Any] = {
        "partition": region,
        "recorded": recorded,
        "username": principal.username,
        "role": principal.role,
        "organization": principal.organization,
        "source": (access.source or "")[:64] or None,
    }
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        patients = _patients(conn, region, access.touched)
        rows = [
            {**base, "id": new_id(), "action": action[:64], "resource_type": rtype or None,
             "resource_id": rid or None, "patient": patients.get((rtype, rid)), "outcome": "allowed"}
            for action, rtype, rid in access.touched
        ] + [
            {**base, "id": new_id(), "action": action[:64], "resource_type": rtype or None,
             "resource_id": rid[:64] or None, "patient": patient, "outcome": "refused"}
            for action, rtype, rid, patient in access.refused
        ]  # fmt: skip
        conn.execute(insert(audit_log), rows)


def _patients(conn: Any, region: str, touched: list[tuple[str, str, str]]) -> dict[tuple[str, str], str | None]:
    """The patient of each touched resource, read from the store's compartment column in one query per type."""
    by_type: dict[str, set[str]] = {}
    for _action, rtype, rid in touched:
        if rtype in compartment_types() and rid:
            by_type.setdefault(rtype, set()).add(rid)
    found: dict[tuple[str, str], str | None] = {}
    for rtype, ids in by_type.items():
        query = select(resource.c.id, resource.c.patient).where(
            resource.c.partition == region, resource.c.type == rtype, resource.c.id.in_(sorted(ids))
        )
        for row in conn.execute(query):
            found[(rtype, row.id)] = row.patient
    return found


def for_patient(engine: Engine, region: str, patient: str, limit: int = 100) -> list[dict[str, Any]]:
    """Who opened this patient's record, newest first: what the patient's access log shows."""
    query = (
        select(audit_log)
        .where(audit_log.c.partition == region, audit_log.c.patient == patient)
        .order_by(audit_log.c.recorded.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
