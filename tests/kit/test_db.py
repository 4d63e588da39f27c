"""The database engine as the request path uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from medcity.kit.db import reading
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
