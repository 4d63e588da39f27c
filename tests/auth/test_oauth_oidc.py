"""Tokens of a trusted external OpenID Connect issuer, verified with its keys from a local JWKS file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine

from medcity.app import create_app
from medcity.kit.config import Settings
from medcity.store.repository import Store
from tests.auth.oauth_helpers import FHIR_BASE, new_key
from tests.bearer import bearer
from tests.fhir.helpers import patient

IDP = "https://idp.example/realms/city"


@pytest.fixture
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, auto_kid=True)


@pytest.fixture
def jwks_file(tmp_path: Path, idp_key: RSAKey) -> Path:
    path = tmp_path / "idp-jwks.json"
    path.write_text(json.dumps({"keys": [idp_key.as_dict(private=False)]}))
    return path


@pytest.fixture
def client(auth_engine: Engine, region: str, tmp_path: Path, jwks_file: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=auth_engine.url.render_as_string(hide_password=False), region=region,
                        base_url="http://testserver", secret_dir=tmp_path / "keys", auth_required=True,
                        oidc_issuer=IDP, oidc_jwks_file=jwks_file)  # fmt: skip
    with TestClient(create_app(settings, engine=auth_engine)) as test_client:
        yield test_client


@pytest.fixture
def people(auth_engine: Engine, region: str) -> tuple[str, str]:
    store = Store(auth_engine, region)
    return store.create(patient("Иванова")).id, store.create(patient("Петрова")).id


def _token(key: Any, alg: str = "RS256", kid: str | None = None, **changes: Any) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": IDP, "aud": [FHIR_BASE, "account"], "sub": "f7a1", "exp": now + 300, "iat": now,
              "jti": f"idp-{now}-{os.urandom(4).hex()}", "roles": ["offline_access", "patient"],
              "scp": ["patient/*.rs"]}  # fmt: skip
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    signed = jwt.encode({"alg": alg, "kid": kid or key.kid}, claims, key, algorithms=[alg])
    return {"authorization": f"Bearer {signed}"}


def test_external_patient_token_reads_only_that_patient(client: TestClient, idp_key: RSAKey,
                                                        people: tuple[str, str]) -> None:  # fmt: skip
    mine, other = people
    headers = _token(idp_key, fhirUser=f"Patient/{mine}")
    assert client.get(f"/fhir/Patient/{mine}", headers=headers).status_code == 200
    assert client.get(f"/fhir/Patient/{other}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://other.example/fhir"},
        {"exp": int(time.time()) - 600},
        {"roles": ["superuser"]},  # no role this server knows
        {"sub": None},
    ],
)
def test_bad_external_tokens_are_refused(client: TestClient, idp_key: RSAKey, people: tuple[str, str],
                                         changes: dict[str, Any]) -> None:  # fmt: skip
    headers = _token(idp_key, fhirUser=f"Patient/{people[0]}", **changes)
    assert client.get(f"/fhir/Patient/{people[0]}", headers=headers).status_code == 401


def test_other_key_or_a_symmetric_algorithm_is_refused(client: TestClient, people: tuple[str, str],
                                                       jwks_file: Path, idp_key: RSAKey) -> None:  # fmt: skip
    stranger = RSAKey.generate_key(2048, auto_kid=True)
    assert client.get(f"/fhir/Patient/{people[0]}", headers=_token(stranger)).status_code == 401
    from joserfc.jwk import OctKey

    shared = OctKey.import_key(jwks_file.read_bytes())
    forged = _token(shared, alg="HS256", kid=idp_key.kid, fhirUser=f"Patient/{people[0]}")
    assert client.get(f"/fhir/Patient/{people[0]}", headers=forged).status_code == 401


def test_rotated_keys_are_read_from_the_synced_file(client: TestClient, people: tuple[str, str],
                                                    jwks_file: Path, idp_key: RSAKey) -> None:  # fmt: skip
    rotated = new_key("ES384")
    jwks_file.write_text(json.dumps({"keys": [rotated.as_dict(private=False)]}))
    os.utime(jwks_file, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    url = f"/fhir/Patient/{people[0]}"
    assert client.get(url, headers=_token(rotated, alg="ES384", fhirUser=f"Patient/{people[0]}")).status_code == 200
    assert client.get(url, headers=_token(idp_key, fhirUser=f"Patient/{people[0]}")).status_code == 401


def test_own_tokens_still_work_beside_the_external_issuer(client: TestClient, people: tuple[str, str]) -> None:
    app: Any = client.app
    settings: Settings = app.state.settings
    own = bearer(settings, "anna", "patient", "patient/*.rs", patient=people[0])
    assert client.get(f"/fhir/Patient/{people[0]}", headers=own).status_code == 200
