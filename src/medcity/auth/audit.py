"""The audit trail: one `audit_log` row per resource a caller touched or was refused, and one per break-glass.

A write's row is queued in the write's own transaction (`queue_write`, called by `Access.record` when the write
passes its `Tx`) and flushed with its bulk writes, so the record and its audit commit or roll back together.
Reads, searches, refusals and break-glasses are written at the end of the request, before it answers, in a
transaction shared with the other requests finishing at that moment (`write`, a group commit). A touch made while
the caller holds an open break-glass for that patient is flagged: its action gets the suffix `#btg`, which the
patient's access log shows as purpose "break the glass". Rows hold ids only, never patient data (names, codes,
reasons): the break-glass reason lives in the AuditEvent resource (breakglass.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from medcity.auth import breakglass
from medcity.auth.policy import AUDIT_SEARCH, CLINICAL, compartment_types
from medcity.auth.tables import audit_log
from medcity.kit import instants
from medcity.kit.db import WRITE, Executor, reading
from medcity.kit.errors import InvalidRequest
from medcity.kit.ids import new_id
from medcity.store.repository import insert_rows
from medcity.store.schema import resource

if TYPE_CHECKING:
    from medcity.auth.gate import Access
    from medcity.store.repository import Tx

BREAK_GLASS = "break-glass"
FLAG = "#btg"
# The anonymous local operator (authentication switched off) is audited under this name.
OPERATOR = "(local operator)"


def write(engine: Engine, region: str, access: Access) -> None:
    """The request's rows, committed before it returns: concurrent requests share one transaction (group commit),
    so a database that takes one writer at a time (SQLite) is not asked for a write transaction per read."""
    with reading(engine) as conn:
        rows = rows_of(conn, region, access, access.touched, refused=access.refused, opened=access.glass_opened)
    if rows:
        _committer(engine).commit(rows)


class _Batch:
    """Rows that one transaction inserts; its writer marks it done (and notes why, when it failed)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.done = False
        self.error: BaseException | None = None


class _GroupCommit:
    """Rows from many threads, inserted in as few transactions as possible: whoever arrives while no batch is being
    written writes everything waiting (its own rows and others'), the rest wait until their batch has committed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ready = threading.Condition()
        self.waiting = _Batch()  # the batch that rows added now belong to
        self.writing = False

    def commit(self, rows: list[dict[str, Any]]) -> None:
        with self.ready:
            batch = self.waiting
            batch.rows.extend(rows)
            while self.writing and not batch.done:
                self.ready.wait()
            if batch.done:
                if batch.error is not None:
                    raise RuntimeError("the audit could not be written") from batch.error
                return
            self.waiting, self.writing = _Batch(), True
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                insert_rows(conn, audit_log, batch.rows)
        except BaseException as exc:
            batch.error = exc
            raise
        finally:
            with self.ready:
                batch.done, self.writing = True, False
                self.ready.notify_all()


_committers: dict[Engine, _GroupCommit] = {}
_committers_lock = threading.Lock()


def _committer(engine: Engine) -> _GroupCommit:
    with _committers_lock:
        return _committers.setdefault(engine, _GroupCommit(engine))


def _base(region: str, access: Access) -> dict[str, Any]:
    principal = access.principal
    return {
        "partition": region,
        "recorded": instants.now_text(),
        "username": principal.username or (OPERATOR if principal.kind == "anonymous" else None),
        "role": principal.role,
        "organization": principal.organization,
        "source": (access.source or "")[:64] or None,
    }


def queue_write(tx: Tx, region: str, access: Access, action: str, rtype: str, rid: str, patient: str | None) -> None:
    """The audit row of a write, queued in the write's own transaction: both commit, or neither does."""
    flagged = patient is not None and patient in _open_glass(tx, region, access)
    tx.queue(audit_log, {**_base(region, access), "id": new_id(), "action": (action + FLAG if flagged else action)[:64],
                         "resource_type": rtype or None, "resource_id": rid or None, "patient": patient,
                         "outcome": "allowed"})  # fmt: skip


def rows_of(
    conn: Connection,
    region: str,
    access: Access,
    touched: list[tuple[str, str, str]],
    *,
    refused: Sequence[tuple[str, str, str, str | None]] = (),
    opened: Sequence[str] = (),
) -> list[dict[str, Any]]:
    base = _base(region, access)
    patients = _patients(conn, region, [touch for touch in touched if touch[1:] not in access.patient_of])
    patients.update(access.patient_of)
    glass = _open_glass(conn, region, access) if touched else set()

    def action_of(action: str, patient: str | None) -> str:
        return (action + FLAG)[:64] if patient in glass else action[:64]

    rows = [
        {**base, "id": new_id(), "action": BREAK_GLASS, "resource_type": "Patient", "resource_id": patient,
         "patient": patient, "outcome": "allowed"}
        for patient in opened
    ] + [
        {**base, "id": new_id(), "action": action_of(action, patients.get((rtype, rid))),
         "resource_type": rtype or None, "resource_id": rid or None, "patient": patients.get((rtype, rid)),
         "outcome": "allowed"}
        for action, rtype, rid in touched
    ] + [
        {**base, "id": new_id(), "action": action[:64], "resource_type": rtype or None,
         "resource_id": rid[:64] or None, "patient": patient, "outcome": "refused"}
        for action, rtype, rid, patient in refused
    ]  # fmt: skip
    return rows


def _open_glass(conn: Executor, region: str, access: Access) -> set[str]:
    """The patients the caller holds an open break-glass for: looked up once a request (not once per write of a
    bundle or a signed visit), with those the request opened itself."""
    if access.principal.role not in CLINICAL or access.context is None:
        return set()
    if access.glass_held is None:
        username, since = access.principal.username, access.context.glass_since
        access.glass_held = breakglass.active_patients(conn, region, username, since)
    return access.glass_held | set(access.glass_opened)


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
    return search(engine, region, patient=patient, limit=limit)


def search(
    engine: Engine,
    region: str,
    *,
    username: str | None = None,
    patient: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Audit rows of a user or of a patient (or both), in [since, until) when given, newest first. One of the two
    is required: each has its index with the time, and a search of the whole trail by time alone would read it
    all."""
    if not username and not patient:
        raise InvalidRequest("Search the audit by a user or a patient (and narrow it by time)")
    conds = [audit_log.c.partition == region]
    if username:
        conds.append(audit_log.c.username == username)
    if patient:
        conds.append(audit_log.c.patient == patient)
    if since is not None:
        conds.append(audit_log.c.recorded >= instants.to_text(since))
    if until is not None:
        conds.append(audit_log.c.recorded < instants.to_text(until))
    query = select(audit_log).where(*conds).order_by(audit_log.c.recorded.desc()).limit(limit)
    with reading(engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def note_trail_read(access: Access, rows: list[dict[str, Any]]) -> None:
    """Reading the trail is itself in it: a row for each patient whose trail `rows` showed, which they see."""
    for patient in dict.fromkeys(str(row["patient"]) for row in rows if row["patient"]):
        access.record(AUDIT_SEARCH, "Patient", patient)


def under_glass(action: str) -> bool:
    """Whether an audit row's action is a break-glass or a touch made under one (flagged for review)."""
    return action.endswith(FLAG) or action == BREAK_GLASS
