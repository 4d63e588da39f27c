"""Auth fixtures on the shared migrated databases (SQLite and PostgreSQL); each test has a region of its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from medcity.kit.config import get_settings
from medcity.kit.db import WRITE

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def auth_engine(engine: Engine) -> Engine:
    return engine


@pytest.fixture
def write_conn(auth_engine: Engine) -> Iterator[object]:
    """A write transaction that is rolled back afterwards, so tests on the shared database leave nothing."""
    with auth_engine.connect().execution_options(**WRITE) as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def env(auth_engine: Engine, region: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings (environment) pointed at this test's database and region; yields the key folder."""
    monkeypatch.setenv("MEDCITY_DATABASE_URL", auth_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("MEDCITY_REGION", region)
    monkeypatch.setenv("MEDCITY_SECRET_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    yield tmp_path / "keys"
    get_settings.cache_clear()
