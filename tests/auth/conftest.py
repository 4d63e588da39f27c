"""Auth fixtures. The auth tables have no Alembic migration yet, so these tests build their own SQLite database
from the metadata (store tables and auth tables alike) instead of using the shared migrated `engine`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

import medcity.auth.tables  # noqa: F401  (registers the auth tables on the metadata)
from medcity.kit.db import WRITE, make_engine
from medcity.store.schema import metadata

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def auth_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def write_conn(auth_engine: Engine) -> Iterator[object]:
    with auth_engine.connect().execution_options(**WRITE) as conn, conn.begin():
        yield conn
