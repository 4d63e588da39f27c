"""The audit trail: one `audit_log` row per resource a caller touched or was refused, and one per break-glass.

A write's row is queued in the write's own transaction (`queue_write`, called by `Access.record` when the write
passes its `Tx`) and flushed with its bulk writes, so the record and its audit commit or roll back together.
Reads, searches, refusals and break-glasses are written at the end of the request, before it answers, in a
transaction shared with the other requests finishing at that moment (`written`, a group commit by one writer
thread per database). A touch made while
the caller holds an open break-glass for that patient is flagged: its action gets the suffix `#btg`, which the
patient's access log shows as purpose "break the glass". Rows hold ids only, never patient data (names, codes,
reasons): the break-glass reason lives in the AuditEvent resource (breakglass.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from medcity.auth import breakglass
from medcity.auth.policy import AUDIT_SEARCH, CLINICAL, compartment_types
from medcity.auth.tables import audit_log
from medcity.kit import instants
from medcity.kit.db import WRITE, Executor, PerEngine, is_postgres, reading, single_statements
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


def expect(engine: Engine) -> None:
    """A request has begun whose rows will follow (`written(..., expected=True)`) or not (`withdraw`): the writer
    waits a moment for them to share a batch."""
    _writer(engine).expect()


def withdraw(engine: Engine) -> None:
    _writer(engine).withdraw()


async def written(engine: Engine, region: str, access: Access, *, expected: bool = False) -> None:
    """The request's rows, committed before this returns: the request awaits its batch without holding a thread."""
    loop = asyncio.get_running_loop()
    settled: asyncio.Future[None] = loop.create_future()

    def done(error: BaseException | None) -> None:
        with suppress(RuntimeError):  # the loop has closed: nobody waits for the answer any more
            loop.call_soon_threadsafe(_settle, settled, error)

    _writer(engine).submit(partial(_rows_for, region, access), done, expected=expected)
    await settled


class AuditNotWritten(RuntimeError):
    def __init__(self) -> None:
        super().__init__("the audit could not be written")


def _settle(settled: asyncio.Future[None], error: BaseException | None) -> None:
    if settled.done():  # the request was cancelled (its client went away); its rows are written all the same
        return
    if error is None:
        settled.set_result(None)
        return
    failure = AuditNotWritten()
    failure.__cause__ = error
    settled.set_exception(failure)


def _rows_for(region: str, access: Access, conn: Connection, held: Held) -> list[dict[str, Any]]:
    return rows_of(conn, region, access, access.touched, refused=access.refused, opened=access.glass_opened,
                   held=held)  # fmt: skip


# Open break-glasses looked up in one batch, by (region, user, since): a batch of one user's requests asks once.
Held = dict[tuple[str, str | None, datetime], set[str]]
RowsOf = Callable[[Connection, Held], list[dict[str, Any]]]
Done = Callable[[BaseException | None], None]


class _Writer:
    """The audit rows of every request that finishes while a batch is being written go into the next batch: one
    transaction (one commit to disk) for all of them, written by one thread per database, which also makes the
    rows' lookups (the patient of a touched resource, open break-glasses) on the batch's connection. A request
    waits for its batch to commit, so no access it answered is missing from the trail.

    Before writing, the thread waits (at most LINGER_SECONDS) for the requests still running to add their rows,
    as PostgreSQL's commit_delay does: one commit for many rows instead of one each. The thread ends after a
    second with nothing to write and starts again with the next request."""

    IDLE_SECONDS = 1.0
    LINGER_SECONDS = 0.002
    BATCH = 256

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)
        self._arrived = threading.Condition()
        self._pending: list[tuple[RowsOf, Done]] = []
        self._running = False
        self._coming = 0  # requests under way whose rows are still to come (`expect`)

    def expect(self) -> None:
        with self._arrived:
            self._coming += 1

    def withdraw(self) -> None:
        """An expected request ends with nothing to write."""
        with self._arrived:
            self._coming -= 1
            if self._coming == 0 and self._pending:
                self._arrived.notify()

    def submit(self, rows_of: RowsOf, done: Done, *, expected: bool = False) -> None:
        with self._arrived:
            self._pending.append((rows_of, done))
            if expected:
                self._coming -= 1
            if self._running:
                if len(self._pending) == 1 or self._coming <= 0 or len(self._pending) >= self.BATCH:
                    self._arrived.notify()
                return
            self._running = True
        try:
            threading.Thread(target=self._run, name="audit-writer", daemon=True).start()
        except BaseException:
            with self._arrived:  # no writer: the next request tries to start one, none waits for ever
                self._running = False
                self._pending.remove((rows_of, done))
            raise

    def _run(self) -> None:
        while batch := self._next_batch():
            error: BaseException | None = None
            try:
                with self._connection() as conn:
                    held: Held = {}
                    rows = [row for rows_of, _done in batch for row in rows_of(conn, held)]
                    if rows:
                        insert_rows(conn, audit_log, rows)
            except Exception as exc:  # every waiter of the batch learns it failed; the next batch is tried afresh
                error = exc
            for _rows_of, done in batch:
                done(error)

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """On PostgreSQL the batch's lookups are plain reads and its rows one statement committed on its own
        (autocommit): one round trip for the rows instead of BEGIN, INSERT and COMMIT. SQLite writes them in a
        transaction that takes the write lock up front."""
        if self.postgres:
            with single_statements(self.engine) as conn:
                yield conn
        else:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                yield conn

    def _next_batch(self) -> list[tuple[RowsOf, Done]]:
        with self._arrived:
            if not self._pending:
                self._arrived.wait(self.IDLE_SECONDS)
            deadline = time.monotonic() + self.LINGER_SECONDS
            while self._pending and self._coming > 0 and len(self._pending) < self.BATCH:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            batch, self._pending = self._pending, []
            if not batch:
                self._running = False
            return batch


_writer = PerEngine(_Writer)


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
    conn: Executor,
    region: str,
    access: Access,
    touched: list[tuple[str, str, str]],
    *,
    refused: Sequence[tuple[str, str, str, str | None]] = (),
    opened: Sequence[str] = (),
    held: Held | None = None,
) -> list[dict[str, Any]]:
    base = _base(region, access)
    patients = _patients(conn, region, [touch for touch in touched if touch[1:] not in access.patient_of])
    patients.update(access.patient_of)
    glass = _open_glass(conn, region, access, held) if touched else set()

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


def _open_glass(conn: Executor, region: str, access: Access, held: Held | None = None) -> set[str]:
    """The patients the caller holds an open break-glass for: looked up once a request (not once per write of a
    bundle or a signed visit) and once a batch of the audit writer (`held`), with those the request opened itself."""
    if access.principal.role not in CLINICAL or access.context is None:
        return set()
    if access.glass_held is None:
        key = (region, access.principal.username, access.context.glass_since)
        known = held.get(key) if held is not None else None
        if known is None:
            known = breakglass.active_patients(conn, region, key[1], key[2])
            if held is not None:
                held[key] = known
        access.glass_held = known
    return access.glass_held | set(access.glass_opened)


def _patients(conn: Executor, region: str, touched: list[tuple[str, str, str]]) -> dict[tuple[str, str], str | None]:
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
