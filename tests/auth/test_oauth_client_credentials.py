"""SMART Backend Services: client_credentials with a private_key_jwt assertion, and every way it is refused."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import Engine

from medcity.auth.clients import ASSERTION_TYPE as CLIENT_ASSERTION_TYPE
from medcity.store.repository import Store
from tests.auth.oauth_helpers import (
    FHIR_BASE,
    assertion,
    credentials_form,
    new_key,
    oauth_client,
    oauth_settings,
    public_jwks,
    register_system,
    system_token,
)
from tests.fhir.helpers import observation, patient

settings = pytest.fixture(oauth_settings)
client = pytest.fixture(oauth_client)


@pytest.fixture
def clinic(auth_engine: Engine, region: str) -> str:
    return Store(auth_engine, region).create({"resourceType": "Organization", "name": "Клиника"}).id


def _token_error(client: TestClient, form: dict[str, str]) -> tuple[int, str]:
    response = client.post("/oauth/token", data=form)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()["error"]


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_client_gets_a_token_that_reads_the_fhir_api(client: TestClient, clinic: str, alg: str,
                                                      auth_engine: Engine, region: str) -> None:  # fmt: skip
    key = new_key(alg)
    register_system(client, "lab-system", clinic, "system/*.rs", public_jwks(key))
    response = client.post("/oauth/token", data=credentials_form(assertion(key, "lab-system", alg=alg)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "system/*.rs" and body["expires_in"] == 300
    # The system sees patients attached to its own organisation (the policy's care relationship).
    attached = {**patient("Иванов"), "managingOrganization": {"reference": f"Organization/{clinic}"}}
    p1 = Store(auth_engine, region).create(attached).id
    headers = {"authorization": f"Bearer {body['access_token']}"}
    assert client.get(f"/fhir/Patient/{p1}", headers=headers).status_code == 200
    # Read scopes do not write.
    assert client.post("/fhir/Observation", json=observation(p1), headers=headers).status_code == 403


def test_discovery_advertises_the_endpoints(client: TestClient) -> None:
    config = client.get("/fhir/.well-known/smart-configuration").json()
    assert config["token_endpoint"] == "http://testserver/oauth/token"
    assert config["authorization_endpoint"] == "http://testserver/oauth/authorize"
    assert config["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"client_credentials", "authorization_code"} <= set(config["grant_types_supported"])


def test_scopes_are_narrowed_to_the_registration(client: TestClient, clinic: str) -> None:
    key = new_key()
    register_system(client, "his", clinic, "system/*.rs system/Encounter.cu", public_jwks(key))
    narrowed = client.post("/oauth/token", data=credentials_form(assertion(key, "his"),
                                                                 "system/Patient.r system/*.cruds"))  # fmt: skip
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "system/Patient.r"
    # Asking only for more than registered (or for another context) is invalid_scope.
    for scope in ("system/*.d", "user/*.rs", "patient/*.rs"):
        assert _token_error(client, credentials_form(assertion(key, "his"), scope)) == (400, "invalid_scope")


def test_wrong_signature_unknown_client_and_wrong_alg_are_invalid_client(client: TestClient, clinic: str) -> None:
    key, other = new_key(), new_key()
    register_system(client, "his", clinic, "system/*.rs", public_jwks(key))
    assert _token_error(client, credentials_form(assertion(other, "his"))) == (401, "invalid_client")
    assert _token_error(client, credentials_form(assertion(key, "nobody"))) == (401, "invalid_client")
    from joserfc import jwt
    from joserfc.jwk import ECKey

    es256 = ECKey.generate_key("P-256", auto_kid=True)
    register_system(client, "weak", clinic, "system/*.rs", public_jwks(es256))
    # Only ES384 and RS384 are accepted, whatever the key could do.
    now = int(time.time())
    claims = {"iss": "weak", "sub": "weak", "aud": "http://testserver/oauth/token", "exp": now + 60, "jti": "x1"}
    es256_signed = jwt.encode({"alg": "ES256", "kid": es256.kid}, claims, es256, algorithms=["ES256"])
    assert _token_error(client, credentials_form(es256_signed)) == (401, "invalid_client")


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": FHIR_BASE},  # wrong audience
        {"aud": "http://other.example/oauth/token"},
        {"exp": int(time.time()) - 120},  # expired
        {"exp": int(time.time()) + 3600},  # lives longer than five minutes
        {"sub": "someone-else"},
        {"jti": ""},
    ],
)
def test_bad_assertion_claims_are_refused(client: TestClient, clinic: str, claims: dict[str, object]) -> None:
    key = new_key()
    register_system(client, "his", clinic, "system/*.rs", public_jwks(key))
    assert _token_error(client, credentials_form(assertion(key, "his", **claims))) == (401, "invalid_client")


def test_replayed_assertion_is_refused(client: TestClient, clinic: str) -> None:
    key = new_key()
    register_system(client, "his", clinic, "system/*.rs", public_jwks(key))
    signed = assertion(key, "his")
    assert client.post("/oauth/token", data=credentials_form(signed)).status_code == 200
    assert _token_error(client, credentials_form(signed)) == (401, "invalid_client")


def test_malformed_requests_are_rfc6749_errors_not_500(client: TestClient, clinic: str) -> None:
    key = new_key()
    register_system(client, "his", clinic, "system/*.rs", public_jwks(key))
    signed = assertion(key, "his")
    assert _token_error(client, {"grant_type": "password"}) == (400, "unsupported_grant_type")
    assert _token_error(client, {"scope": "system/*.rs"}) == (400, "invalid_request")
    assert _token_error(client, {}) == (400, "invalid_request")
    assert _token_error(client, {"grant_type": "client_credentials"}) == (401, "invalid_client")
    assert _token_error(client, {**credentials_form(signed), "client_assertion_type": "x"}) == (401, "invalid_client")
    assert _token_error(client, {**credentials_form("not.a.jwt")}) == (401, "invalid_client")
    assert _token_error(client, {**credentials_form("@@@")}) == (401, "invalid_client")
    as_json = client.post("/oauth/token", json=credentials_form(signed))
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    repeated = client.post("/oauth/token", content="grant_type=client_credentials&grant_type=x",
                           headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"


def test_revoked_token_is_refused_and_only_its_client_may_revoke(client: TestClient, clinic: str) -> None:
    key, other_key = new_key(), new_key()
    register_system(client, "his", clinic, "system/*.rs", public_jwks(key))
    register_system(client, "other", clinic, "system/*.rs", public_jwks(other_key))
    token = system_token(client, key, "his")
    headers = {"authorization": f"Bearer {token}"}
    assert client.get("/fhir/Organization", headers=headers).status_code == 200
    by_other = client.post("/oauth/revoke", data={"token": token, **_auth(other_key, "other")})
    assert by_other.status_code == 400 and by_other.json()["error"] == "unauthorized_client"
    anonymous = client.post("/oauth/revoke", data={"token": token})
    assert anonymous.status_code == 400
    assert client.post("/oauth/revoke", data={"token": token, **_auth(key, "his")}).status_code == 200
    assert client.get("/fhir/Organization", headers=headers).status_code == 401
    # Unknown tokens are answered like revoked ones (RFC 7009), and a missing one is invalid_request.
    assert client.post("/oauth/revoke", data={"token": "junk"}).status_code == 200
    assert client.post("/oauth/revoke", data={}).json()["error"] == "invalid_request"


def _auth(key: object, client_id: str) -> dict[str, str]:
    form = credentials_form(assertion(key, client_id), None)  # type: ignore[arg-type]
    form.pop("grant_type")
    return form


def test_disabled_client_account_gets_no_token(client: TestClient, clinic: str, auth_engine: Engine,
                                               region: str) -> None:  # fmt: skip
    from sqlalchemy import update

    from medcity.auth.tables import app_user
    from medcity.kit.db import WRITE

    key = new_key()
    register_system(client, "his", clinic, "system/*.rs", public_jwks(key))
    with auth_engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(update(app_user).where(app_user.c.partition == region, app_user.c.username == "his")
                     .values(active=False))  # fmt: skip
    assert _token_error(client, credentials_form(assertion(key, "his"))) == (401, "invalid_client")


_FIELDS = ["grant_type", "client_id", "client_assertion", "client_assertion_type", "scope", "code", "code_verifier",
           "redirect_uri", "refresh_token", "token"]  # fmt: skip
_VALUES = st.one_of(
    st.sampled_from(["client_credentials", "authorization_code", "refresh_token", "his", CLIENT_ASSERTION_TYPE,
                     "system/*.rs", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", ""]),
    st.text(max_size=300),
)  # fmt: skip


@examples(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=6), path=st.sampled_from(["token", "revoke"]))
def test_any_form_gets_an_oauth_answer_never_a_500(client: TestClient, clinic: str, form: dict[str, str],
                                                   path: str) -> None:  # fmt: skip
    response = client.post(f"/oauth/{path}", data=form)
    assert response.status_code in (200, 400, 401), response.text
    if response.status_code != 200:
        assert response.json()["error"] in ("invalid_request", "invalid_client", "invalid_grant", "invalid_scope",
                                            "unsupported_grant_type", "unauthorized_client")  # fmt: skip
