"""The database engine as the request path uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, select, text

from medcity.kit.db import reading
from medcity.store.repository import Store
from medcity.store.schema import resource


def test_reads_keep_postgresql_prepared_statements(pg_engine: Engine | None, region: str) -> None:
    """A policy query asked on every request is planned once per connection, not once per request: reads end in
    COMMIT (a ROLLBACK makes psycopg drop every prepared statement) and the pool hands out the same connections."""
    if pg_engine is None:
        pytest.skip("PostgreSQL not found on this machine (mandatory under CI)")
    query = select(resource.c.id).where(resource.c.partition == region, resource.c.type == "Patient")
    for _ in range(6):  # psycopg prepares a statement on its sixth run on one connection
        with reading(pg_engine) as conn:
            conn.execute(query).all()
    with reading(pg_engine) as conn:
        prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("FROM resource" in statement and "resource.type" in statement for statement in prepared), prepared


def test_an_engine_made_elsewhere_reads_by_id_too(pg_engine: Engine | None, region: str) -> None:
    """The hottest reads take a pool kept in autocommit that make_engine sets up; an engine made by SQLAlchemy
    alone (a script's, a migration test's) reads through its own connections instead of failing."""
    if pg_engine is None:
        pytest.skip("PostgreSQL not found on this machine (mandatory under CI)")
    made = Store(pg_engine, region).create({"resourceType": "Patient", "name": [{"family": "Иванов"}]})
    elsewhere = create_engine(pg_engine.url.render_as_string(hide_password=False))
    try:
        assert Store(elsewhere, region).read("Patient", made.id).id == made.id
    finally:
        elsewhere.dispose()
