from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from medcity.auth import tokens
from medcity.cli import app
from medcity.kit.config import get_settings


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
    from medcity.auth import proxy
    from medcity.auth.users import get_user
    from medcity.demo.prescriptions import prescribe_demo
    from medcity.registry.catalogue import ORGANIZATION_KIND_SYSTEM
    from medcity.registry.identifiers import SNILS_SYSTEM
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
    hospital = org("hospital")
    surgeon = store.create({"resourceType": "Practitioner", "name": [{"family": "Хирургов"}]}).id
    store.create({"resourceType": "PractitionerRole", "practitioner": {"reference": f"Practitioner/{surgeon}"},
                  "organization": {"reference": f"Organization/{hospital}"}})  # fmt: skip
    store.create({"resourceType": "Patient", "active": True, "birthDate": "1960-01-01"})  # attached nowhere
    adult = store.create({"resourceType": "Patient", "active": True, "birthDate": "1970-01-01",
                          "identifier": [{"system": SNILS_SYSTEM, "value": "11223344595"}],
                          "managingOrganization": {"reference": f"Organization/{clinic}"}}).id  # fmt: skip
    child = store.create({"resourceType": "Patient", "active": True, "birthDate": "2018-01-01"}).id
    sibling = store.create({"resourceType": "Patient", "active": True, "birthDate": "2021-01-01"}).id
    assert prescribe_demo(store, now=datetime.now(UTC), count=1) == 1
    runner = CliRunner()
    for _ in range(2):  # idempotent
        result = runner.invoke(app, ["users", "demo"])
        assert result.exit_code == 0, result.output
    assert "doctor-demo" in result.output and "parent-demo" in result.output
    assert re.search(r"try prescription \d{12} with the patient's СНИЛС 11223344595", result.output)
    with auth_engine.connect() as conn:
        found = {name: get_user(conn, region=settings.region, username=name)
                 for name in ("patient", "parent", "doctor", "hospital", "lab", "lab2", "admin")}  # fmt: skip
    assert found["patient"] and found["patient"].patient == adult  # attached to the demo doctor's polyclinic
    assert found["parent"] and found["parent"].patient == child
    with store.reader() as tx:  # the demo parent represents both children, once, acting for the first
        assert proxy.represented(tx, "parent") == sorted([child, sibling], key=lambda p: p != child)
    assert found["doctor"] and (found["doctor"].practitioner, found["doctor"].organization) == (doctor, clinic)
    assert found["hospital"] and (found["hospital"].practitioner, found["hospital"].organization) == (surgeon, hospital)
    assert found["lab"] and found["lab"].organization == lab
    assert found["lab2"] and found["lab2"].organization == lab  # the second person who releases results
    assert found["admin"] and found["admin"].role.value == "admin"


def test_clients_add_registers_a_system_that_gets_tokens(env: Path, auth_engine: Engine, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from medcity.app import create_app
    from tests.auth.oauth_helpers import assertion, credentials_form, new_key, public_jwks

    key = new_key()
    jwks_file = tmp_path / "clinic-jwks.json"
    jwks_file.write_text(json.dumps(public_jwks(key)))
    runner = CliRunner()
    args = ["clients", "add", "--client-id", "clinic-his", "--organization", "org-1", "--scope",
            "system/*.rs system/Encounter.cu", "--jwks", str(jwks_file)]  # fmt: skip
    added = runner.invoke(app, args)
    assert added.exit_code == 0, added.output
    assert "/oauth/token" in added.output
    assert runner.invoke(app, args).exit_code == 1  # registered already
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    leaked = runner.invoke(app, [*args[:2], "--client-id", "leaky", *args[4:-1], str(private)])
    assert leaked.exit_code == 1 and "private" in leaked.output
    wrong_scope = runner.invoke(app, [*args[:2], "--client-id", "x", "--organization", "o", "--scope", "user/*.rs",
                                      "--jwks", str(jwks_file)])  # fmt: skip
    assert wrong_scope.exit_code == 1
    settings = get_settings().model_copy(update={"base_url": "http://testserver"})
    with TestClient(create_app(settings, engine=auth_engine)) as client:
        response = client.post("/oauth/token", data=credentials_form(assertion(key, "clinic-his")))
    assert response.status_code == 200, response.text
    claims = tokens.verify(response.json()["access_token"], tokens.signing_key(env), issuer="http://testserver",
                           audience="http://testserver/fhir", region=settings.region, now=datetime.now(UTC),
                           is_revoked=lambda _j: False)  # fmt: skip
    assert (claims.role, claims.organization, claims.client_id) == ("system", "org-1", "clinic-his")


def test_clients_add_app_registers_public_and_confidential_apps(env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    public = runner.invoke(
        app,
        [
            "clients",
            "add-app",
            "--client-id",
            "phr",
            "--name",
            "Мой дневник",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "launch/patient patient/*.rs",
        ],
    )
    assert public.exit_code == 0 and "public" in public.output, public.output
    no_redirect = runner.invoke(
        app,
        [
            "clients",
            "add-app",
            "--client-id",
            "bad",
            "--name",
            "x",
            "--redirect-uri",
            "javascript:alert(1)",
            "--scope",
            "patient/*.rs",
        ],
    )
    assert no_redirect.exit_code == 1
    missing = runner.invoke(
        app,
        [
            "clients",
            "add-app",
            "--client-id",
            "c",
            "--name",
            "x",
            "--redirect-uri",
            "https://a.example/cb",
            "--scope",
            "patient/*.rs",
            "--jwks",
            str(tmp_path / "no"),
        ],
    )
    assert missing.exit_code == 1 and "cannot read" in missing.output
