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


def test_demo_logins_one_per_role_linked_to_the_city(env: Path, auth_engine: Engine) -> None:
    from medcity.auth.users import get_user
    from medcity.registry.catalogue import ORGANIZATION_KIND_SYSTEM
    from medcity.store.repository import Store

    settings = get_settings()
    store = Store(auth_engine, settings.region)

    def org(kind: str) -> str:
        kind_coding = {"coding": [{"system": ORGANIZATION_KIND_SYSTEM, "code": kind}]}
        return store.create({"resourceType": "Organization", "name": kind, "type": [kind_coding]}).id

    clinic, lab = org("polyclinic"), org("laboratory")
    doctor = store.create({"resourceType": "Practitioner", "name": [{"family": "Врачев"}]}).id
    store.create({"resourceType": "PractitionerRole", "practitioner": {"reference": f"Practitioner/{doctor}"},
                  "organization": {"reference": f"Organization/{clinic}"}})  # fmt: skip
    adult = store.create({"resourceType": "Patient", "active": True, "birthDate": "1970-01-01"}).id
    child = store.create({"resourceType": "Patient", "active": True, "birthDate": "2018-01-01"}).id
    runner = CliRunner()
    for _ in range(2):  # idempotent
        result = runner.invoke(app, ["users", "demo"])
        assert result.exit_code == 0, result.output
    assert "doctor-demo" in result.output and "parent-demo" in result.output
    with auth_engine.connect() as conn:
        found = {name: get_user(conn, region=settings.region, username=name)
                 for name in ("patient", "parent", "doctor", "lab", "admin")}  # fmt: skip
    assert found["patient"] and found["patient"].patient == adult
    assert found["parent"] and found["parent"].patient == child
    assert found["doctor"] and (found["doctor"].practitioner, found["doctor"].organization) == (doctor, clinic)
    assert found["lab"] and found["lab"].organization == lab
    assert found["admin"] and found["admin"].role.value == "admin"
