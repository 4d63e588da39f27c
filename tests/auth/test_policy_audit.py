"""The audit of reads commits before the request answers; concurrent requests share a transaction, none is lost."""

from __future__ import annotations

import asyncio
import queue
import threading
from functools import partial
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError

from medcity.auth import audit, policy
from medcity.auth.gate import Access
from medcity.auth.principal import Principal
from medcity.auth.tables import audit_log


def test_concurrent_requests_each_find_their_rows_committed(engine: Engine, region: str) -> None:
    errors: list[BaseException] = []

    def request(n: int) -> None:
        try:
            for i in range(5):
                access = Access(principal=Principal(kind="user", username=f"u{n}", roles=("admin",)))
                access.record("read", "Organization", f"o{n}-{i}")
                asyncio.run(audit.written(engine, region, access))
                mine = (audit_log.c.partition == region) & (audit_log.c.resource_id == f"o{n}-{i}")
                with engine.connect() as conn:  # committed by the time `written` returns
                    assert conn.execute(select(func.count()).select_from(audit_log).where(mine)).scalar_one() == 1
        except BaseException as exc:  # collected: a failing thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.partition == region))
        assert total.scalar_one() == 40


def test_the_local_operator_is_audited(engine: Engine, region: str) -> None:
    access = Access(principal=Principal())
    access.record("read", "Organization", "o1")
    asyncio.run(audit.written(engine, region, access))
    with engine.connect() as conn:
        row = conn.execute(select(audit_log.c.username).where(audit_log.c.partition == region)).one()
    assert row.username == audit.OPERATOR


def test_a_failed_batch_raises_and_does_not_stop_the_next(engine: Engine, region: str) -> None:
    access = Access(principal=Principal(kind="user", username="u", roles=("admin",)))
    access.record("read", "Organization", "o1")
    with engine.connect() as conn:
        [row] = audit.rows_of(conn, region, access, access.touched)
    writer, outcomes = audit._writer(engine), queue.Queue[BaseException | None]()
    writer.submit(lambda _conn, _held: [row], outcomes.put)
    assert outcomes.get(timeout=30) is None
    writer.submit(lambda _conn, _held: [row], outcomes.put)  # the same id again: this batch fails, and says so
    # On PostgreSQL the writer runs the driver's own statement, which raises the driver's error.
    assert isinstance(outcomes.get(timeout=30), IntegrityError | psycopg.IntegrityError)
    writer.submit(lambda _conn, _held: [{**row, "id": "another"}], outcomes.put)
    assert outcomes.get(timeout=30) is None
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.partition == region))
        assert total.scalar_one() == 2


def test_a_request_learns_that_its_audit_was_not_written(engine: Engine, region: str) -> None:
    access = Access(principal=Principal(kind="user", username="u", roles=("admin",)))
    access.record("read", "Organization", "o1")
    asyncio.run(audit.written(engine, region, access))
    [row] = _rows(engine, region)
    access.touched.clear()
    access.refused.append(("read", "Organization", "o2", None))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "new_id", lambda: row["id"])  # collides with the row already written
        with pytest.raises(audit.AuditNotWritten):
            asyncio.run(audit.written(engine, region, access))
        with pytest.raises(audit.AuditNotWritten):  # and the next such request too: the writer goes on
            asyncio.run(audit.written(engine, region, access))
    assert len(_rows(engine, region)) == 1


def _rows(engine: Engine, region: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).where(audit_log.c.partition == region))]


def test_a_batch_waits_for_requests_under_way_but_not_for_ever(engine: Engine, region: str) -> None:
    """The writer waits a moment for the rows of requests still running, so that they share one commit; a request
    that never brings its rows (it crashed before) delays the others by that moment only."""
    writer, outcomes = audit._Writer(engine), queue.Queue[BaseException | None]()  # its own thread
    access = Access(principal=Principal(kind="user", username="u", roles=("admin",)))
    access.record("read", "Organization", "o1")
    batches: list[int] = []
    take = writer._next_batch

    def counted() -> list[Any]:
        batch = take()
        batches.extend([len(batch)] if batch else [])
        return batch

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writer, "_next_batch", counted)
        writer.expect()
        writer.expect()
        writer.submit(partial(audit._rows_for, region, access), outcomes.put, expected=True)
        # Written without the second request's rows: waiting on the one that never comes would not end in seconds.
        outcome = outcomes.get(timeout=5)
        assert batches == [1] and outcome is None
        writer.withdraw()
        for _ in range(2):
            writer.expect()
        for _ in range(2):
            writer.submit(partial(audit._rows_for, region, access), outcomes.put, expected=True)
        assert outcomes.get(timeout=30) is None and outcomes.get(timeout=30) is None
    assert sum(batches) == 3


def test_one_batch_looks_up_a_doctors_open_break_glasses_once(engine: Engine, region: str) -> None:
    doctor = Principal(kind="user", username="dr", roles=("doctor",), practitioner="pr1")
    context = policy.Context(region=region)
    accesses = [Access(principal=doctor, context=context) for _ in range(3)]
    for n, access in enumerate(accesses):
        access.record("read", "Organization", f"o{n}")
    accesses[0].glass_opened.append("p1")  # opened by this request: its break-glass row, and only its own
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    held: audit.Held = {}
    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", count)
        rows = [row for access in accesses for row in audit._rows_for(region, access, conn, held)]
    assert sum("care_link" in statement for statement in statements) == 1
    assert [row["action"] for row in rows] == [audit.BREAK_GLASS, "read", "read", "read"]


def test_a_writer_that_cannot_start_fails_its_request_and_the_next_starts_one(engine: Engine, region: str) -> None:
    writer, outcomes = audit._Writer(engine), queue.Queue[BaseException | None]()
    access = Access(principal=Principal(kind="user", username="u", roles=("admin",)))
    access.record("read", "Organization", "o1")

    def cannot_start(_thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threading.Thread, "start", cannot_start)
        with pytest.raises(RuntimeError):
            writer.submit(partial(audit._rows_for, region, access), outcomes.put)
    writer.submit(partial(audit._rows_for, region, access), outcomes.put)
    assert outcomes.get(timeout=30) is None
    assert outcomes.empty()  # the failed request's rows were not written behind its back
    assert len(_rows(engine, region)) == 1
