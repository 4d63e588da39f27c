"""Shared fixtures: every store and API test runs on SQLite and on a throwaway PostgreSQL cluster.

Each test gets a region (partition) of its own, so tests are isolated without recreating the schema.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from medcity.kit.config import Settings
from medcity.kit.db import make_engine
from medcity.store.repository import CHECK_TRUSTED, Store
from tests.pg import Cluster, find_pg_bin, start_cluster
from tests.schema import migrate

IN_CI = os.environ.get("CI", "").lower() == "true"
# What the server writes unchecked in production (a booking's Slot, Appointment and notice; the demo generator's
# records) is checked here like a client's write, in this process and in every server a test starts: every kind
# of what it writes, in every workflow a test runs, is valid FHIR R4.
os.environ[CHECK_TRUSTED] = "1"
_regions = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    if find_pg_bin() is None:
        if IN_CI:
            pytest.fail("PostgreSQL server binaries not found, and the PostgreSQL leg is mandatory under CI")
        yield None
        return
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'medcity.db'}"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_cluster: Cluster | None) -> Iterator[Engine | None]:
    if pg_cluster is None:
        yield None
        return
    migrate(pg_cluster.url)
    engine = make_engine(pg_cluster.url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_engine")
    pg: Engine | None = request.getfixturevalue("pg_engine")
    if pg is None:
        pytest.skip("PostgreSQL not found on this machine: the PostgreSQL leg is skipped (mandatory under CI)")
    return pg


@pytest.fixture
def fresh_url(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema) on the test's engine, dropped afterwards."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"fresh_{tmp_path.name.lower()}"[:60].replace("-", "_")
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def region() -> str:
    return f"t{next(_regions):05d}"


@pytest.fixture
def store(engine: Engine, region: str) -> Store:
    return Store(engine, region)


@pytest.fixture
def settings(engine: Engine, region: str) -> Settings:
    # The domain suites drive their rules through the API as the local operator (no token); tests/auth holds the
    # policy and the token-required default to account.
    return Settings(database_url=engine.url.render_as_string(hide_password=False), region=region, auth_required=False)


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from medcity.app import create_app

    app = create_app(settings, engine=engine)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def medcity_cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``medcity_cli("hospital", "add-ward", ...)``: the project's command line, its settings (the environment)
    pointed at this test's database and region; returns typer's ``Result``."""
    from typer.testing import CliRunner

    from medcity.cli import app
    from medcity.kit.config import get_settings

    monkeypatch.setenv("MEDCITY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDCITY_REGION", settings.region)
    monkeypatch.setenv("MEDCITY_SECRET_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    try:
        yield lambda *args: CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


@pytest.fixture
def own_regions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``own_regions(toml_text)``: the process reads that regions file (MEDCITY_REGIONS_FILE) over the shipped one,
    as a region adopting medcity has it; undone after the test."""
    from medcity.kit.config import get_settings
    from medcity.registry.regions import regions

    def use(text: str) -> Path:
        path = tmp_path / "regions.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("MEDCITY_REGIONS_FILE", str(path))
        get_settings.cache_clear()
        regions.cache_clear()
        return path

    try:
        yield use
    finally:
        get_settings.cache_clear()
        regions.cache_clear()
