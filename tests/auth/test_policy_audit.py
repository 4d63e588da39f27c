"""The audit of reads commits before the request answers; concurrent requests share a transaction, none is lost."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from medcity.auth import audit
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
                audit.write(engine, region, access)
                mine = (audit_log.c.partition == region) & (audit_log.c.resource_id == f"o{n}-{i}")
                with engine.connect() as conn:  # committed by the time write returns
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
    audit.write(engine, region, access)
    with engine.connect() as conn:
        row = conn.execute(select(audit_log.c.username).where(audit_log.c.partition == region)).one()
    assert row.username == audit.OPERATOR


def test_a_failed_batch_raises_and_does_not_stop_the_next(engine: Engine, region: str) -> None:
    access = Access(principal=Principal(kind="user", username="u", roles=("admin",)))
    access.record("read", "Organization", "o1")
    with engine.connect() as conn:
        [row] = audit.rows_of(conn, region, access, access.touched)
    committer = audit._committer(engine)
    committer.commit([row])
    with pytest.raises(IntegrityError):
        committer.commit([row])  # the same id again: this batch fails, and says so
    committer.commit([{**row, "id": "another"}])
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.partition == region))
        assert total.scalar_one() == 2
