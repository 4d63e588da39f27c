"""Test doubles that are not doubles: real keys, real signed client assertions, real registrations."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import Engine

from medcity.app import create_app
from medcity.auth import clients
from medcity.kit.config import Settings
from medcity.kit.db import WRITE

TOKEN_URL = "http://testserver/oauth/token"
FHIR_BASE = "http://testserver/fhir"


def oauth_settings(engine: Engine, region: str, tmp_path: Path) -> Settings:
    """A server at http://testserver that needs a token for everything; a test module makes it its fixture with
    ``settings = pytest.fixture(oauth_settings)`` (and ``client = pytest.fixture(oauth_client)``)."""
    return Settings(database_url=engine.url.render_as_string(hide_password=False), region=region,
                    base_url="http://testserver", secret_dir=tmp_path / "keys", auth_required=True)  # fmt: skip


def oauth_client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


def new_key(alg: str = "ES384") -> ECKey | RSAKey:
    if alg == "RS384":
        return RSAKey.generate_key(2048, auto_kid=True)
    return ECKey.generate_key("P-384", auto_kid=True)


def public_jwks(*keys: ECKey | RSAKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def assertion(key: ECKey | RSAKey, client_id: str, *, alg: str | None = None, **claims: Any) -> str:
    alg = alg or ("RS384" if isinstance(key, RSAKey) else "ES384")
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 240, "jti": uuid.uuid4().hex}
    body.update(claims)
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, body, key, algorithms=[alg])


def credentials_form(signed: str, scope: str | None = "system/*.rs") -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": clients.ASSERTION_TYPE,
        "client_assertion": signed,
    }
    if scope is not None:
        form["scope"] = scope
    return form


def register_system(client: TestClient, client_id: str, organization: str, scope: str, jwks: Any) -> None:
    app: Any = client.app
    engine: Engine = app.state.engine
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        clients.add_system_client(conn, region=app.state.settings.region, client_id=client_id,
                                  organization=organization, scope=scope, jwks=jwks, now=datetime.now(UTC))  # fmt: skip


def register_app(client: TestClient, client_id: str, redirect_uri: str, scope: str, jwks: Any = None) -> None:
    app: Any = client.app
    engine: Engine = app.state.engine
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        clients.add_app(conn, region=app.state.settings.region, client_id=client_id, name=f"App {client_id}",
                        redirect_uris=[redirect_uri], scope=scope, jwks=jwks)  # fmt: skip


def system_token(client: TestClient, key: ECKey | RSAKey, client_id: str, scope: str = "system/*.rs") -> str:
    response = client.post("/oauth/token", data=credentials_form(assertion(key, client_id), scope))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
