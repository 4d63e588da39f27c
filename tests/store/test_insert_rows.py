"""The store's bulk insert: every column type arrives as written, few rows or many (on PostgreSQL the driver's
own INSERT of arrays below COPY_FROM_ROWS, COPY above), and a duplicate key is a conflict, not a crash."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from medcity.kit.errors import Conflict
from medcity.scheduling.tables import sched_slot
from medcity.store.repository import COPY_FROM_ROWS, Store, insert_rows
from medcity.store.schema import idx_number, resource
from tests.fhir.helpers import patient


def _resources(region: str, count: int) -> list[dict[str, object]]:
    return [
        {"partition": region, "type": "Basic", "id": f"r{i}", "version": i + 1, "last_updated": f"2026-12-0{i % 9 + 1}",
         "deleted": i % 2 == 0, "content": bytes([i % 256, 0, 39, 92]) + "ё'\\".encode(),
         "patient": None if i % 3 else f"p'{i}"}
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize("count", [1, 3, COPY_FROM_ROWS + 1])
def test_rows_arrive_as_written(engine: Engine, region: str, count: int) -> None:
    rows = _resources(region, count)
    numbers = [
        {"partition": region, "type": "Basic", "id": f"r{i}", "param": "n", "value": i / 3} for i in range(count)
    ]
    slots = [
        {"partition": region, "id": f"s{i}", "schedule": "sc", "role": "ro", "organization": "o", "location": "l",
         "specialty": "sp", "start": datetime(2026, 12, 3, 9, i % 60), "end": datetime(2026, 12, 3, 10, i % 60),
         "kind": "self", "status": "free", "hold_until": None, "version": 1}
        for i in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        insert_rows(conn, resource, rows)
        insert_rows(conn, idx_number, numbers)
        insert_rows(conn, sched_slot, slots)
    with engine.connect() as conn:
        got = [dict(r._mapping) for r in conn.execute(select(resource).where(resource.c.partition == region))]
        got_numbers = conn.execute(select(idx_number.c.id, idx_number.c.value).where(idx_number.c.partition == region))
        got_slots = [dict(r._mapping) for r in conn.execute(select(sched_slot).where(sched_slot.c.partition == region))]
    assert sorted(got, key=lambda r: r["id"]) == sorted(rows, key=lambda r: str(r["id"]))
    assert dict(got_numbers.all()) == {f"r{i}": pytest.approx(i / 3) for i in range(count)}
    assert sorted(got_slots, key=lambda r: r["id"]) == sorted(slots, key=lambda r: str(r["id"]))


@pytest.mark.parametrize("count", [2, COPY_FROM_ROWS])
def test_a_duplicate_key_is_a_conflict_and_writes_nothing(store: Store, count: int) -> None:
    taken = store.create(patient("Занятов")).id
    with pytest.raises(Conflict), store.transaction() as tx:
        for i in range(count - 1):
            tx.create(patient(f"Новиков{i}"))
        tx.create(patient("Повторов"), rid=taken)
    with store.engine.connect() as conn:
        kept = conn.execute(select(resource.c.id).where(resource.c.partition == store.region)).scalars().all()
    assert kept == [taken]
