from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from medcity.auth import tokens
from medcity.cli import app
from medcity.kit.config import get_settings


@pytest.fixture
def env(auth_engine: Engine, region: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MEDCITY_DATABASE_URL", auth_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("MEDCITY_REGION", region)
    monkeypatch.setenv("MEDCITY_SECRET_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    yield tmp_path / "keys"
    get_settings.cache_clear()


def test_users_add_and_token(env: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "--username", "ivan", "--role", "patient", "--patient", "p1"])
    assert added.exit_code == 0, added.output
    assert "password: " in added.output  # generated, shown once
    piped = runner.invoke(app, ["users", "add", "--username", "dr", "--role", "doctor"], input="s3cret-pass\n")
    assert piped.exit_code == 0 and "password:" not in piped.output  # read from stdin, never echoed
    issued = runner.invoke(app, ["token", "--user", "ivan"])
    assert issued.exit_code == 0, issued.output
    settings = get_settings()
    claims = tokens.verify(issued.output.strip(), tokens.signing_key(env), issuer=settings.base_url,
                           audience=f"{settings.base_url}/fhir", region=settings.region, now=datetime.now(UTC),
                           is_revoked=lambda _j: False)  # fmt: skip
    assert (claims.role, claims.patient, claims.scopes) == ("patient", "p1", ("patient/*.rs",))


def test_token_refuses_scope_escalation(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["users", "add", "--username", "ivan", "--role", "patient", "--patient", "p1"])
    for scope in ("user/*.cruds", "system/*.rs"):
        refused = runner.invoke(app, ["token", "--user", "ivan", "--scope", scope])
        assert refused.exit_code == 1
    assert runner.invoke(app, ["token", "--user", "nobody"]).exit_code == 1
