"""A shared condition: its cache key is computed once, and every statement that embeds it reads its own values."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, and_, bindparam, select
from sqlalchemy.sql import visitors
from tests.fhir.helpers import observation, patient

from medcity.kit.db import reading
from medcity.kit.shared_sql import SharedCondition, rendered, shared
from medcity.store.repository import Store
from medcity.store.schema import resource


@pytest.fixture
def records(engine: Engine, region: str) -> dict[str, list[str]]:
    store = Store(engine, region)
    made: dict[str, list[str]] = {}
    for name in ("Иванов", "Петров"):
        pid = store.create(patient(name)).id
        made[pid] = [store.create(observation(pid)).id for _ in range(3)]
    return made


def _of(patient_id: str, types: list[str]) -> Any:
    return shared(and_(resource.c.patient == patient_id, resource.c.type.in_(types)))


def _ids(engine: Engine, region: str, cond: Any, but: str) -> set[str]:
    query = select(resource.c.id).where(resource.c.partition == region, cond, resource.c.id != but)
    with reading(engine) as conn:
        return set(conn.execute(query).scalars())


def test_statements_sharing_a_condition_each_read_their_own_values(
    engine: Engine, region: str, records: dict[str, list[str]]
) -> None:
    (first, firsts), (second, seconds) = records.items()
    of_first = _of(first, ["Observation"])
    # The same condition in statements whose own values differ.
    assert _ids(engine, region, of_first, but=firsts[0]) == set(firsts[1:])
    assert _ids(engine, region, of_first, but=firsts[1]) == {firsts[0], firsts[2]}
    # Another condition of the same shape, with other values and a longer list: SQLAlchemy serves the compiled
    # statement of the first, and the values must still be this one's.
    of_second = _of(second, ["Condition", "Observation"])
    assert _ids(engine, region, of_second, but=seconds[2]) == set(seconds[:2])
    assert _ids(engine, region, of_first, but="none") == set(firsts)


def test_the_condition_is_walked_once_for_its_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = and_(resource.c.patient == "p", resource.c.type.in_(["Observation"]))
    cond = shared(inner)
    walks: list[int] = []
    walk = type(inner)._gen_cache_key

    def counted(self: Any, *args: Any) -> Any:
        if self is inner:
            walks.append(1)
        return walk(self, *args)

    monkeypatch.setattr(type(inner), "_gen_cache_key", counted)
    keys = [select(resource.c.id).where(resource.c.id == str(n), cond)._generate_cache_key() for n in range(5)]
    assert len(walks) == 1
    assert all(key is not None and key.key == keys[0].key for key in keys)  # type: ignore[union-attr]
    # `and_` keeps the shared condition whole instead of merging its AND into its own list.
    assert any(isinstance(clause, SharedCondition) for clause in and_(resource.c.id == "x", cond).clauses)


def test_a_deep_copy_walks_its_own_values() -> None:
    """A statement copied with its elements (as SQLAlchemy does to adapt one) hands over the copies' values."""
    cond = shared(resource.c.patient == "p")
    original = select(resource.c.id).where(cond)
    original._generate_cache_key()  # the original remembers its key and values
    copied = visitors.cloned_traverse(original, {}, {})
    [copied_cond] = [c for c in visitors.iterate(copied) if isinstance(c, SharedCondition)]
    assert copied_cond is not cond
    key = copied._generate_cache_key()
    assert key is not None and key.bindparams[-1] is copied_cond.element.right  # type: ignore[attr-defined]
    assert key.bindparams[-1] is not cond.element.right  # type: ignore[attr-defined]


def test_a_rendered_statement_reads_what_sqlalchemy_reads(pg_engine: Engine | None, region: str) -> None:
    """Compiled once to psycopg's SQL and values (IN lists spelled out), then run on a driver cursor with the
    statement's own parameter replaced: the same rows as SQLAlchemy's execution of it. (Only PostgreSQL's hottest
    reads are run so.)"""
    if pg_engine is None:
        pytest.skip("PostgreSQL not found on this machine (mandatory under CI)")
    store = Store(pg_engine, region)
    mine, other = store.create(patient("Иванов")).id, store.create(patient("Петров")).id
    seen = [store.create(observation(mine)).id for _ in range(3)]
    store.create(observation(other))
    query = select(resource.c.id).where(
        resource.c.partition == region, _of(mine, ["Observation", "Patient"]), resource.c.id != bindparam("but", "")
    )
    sql, values = rendered(query, pg_engine.dialect)
    assert rendered(query, pg_engine.dialect)[0] is sql  # compiled once per statement object
    with reading(pg_engine) as conn:
        expected = set(conn.execute(query, {"but": seen[0]}).scalars())
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql, {**values, "but": seen[0]})
        found = {row[0] for row in cursor.fetchall()}
    assert found == expected == {mine, *seen[1:]}
