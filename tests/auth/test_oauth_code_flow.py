"""SMART app launch: authorization code + PKCE through the real login form and consent screen, refresh tokens,
and every way a code or a verifier is refused."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import Engine, update

from medcity.auth import pkce
from medcity.auth.tables import oauth_code
from medcity.auth.users import Role
from medcity.kit.db import WRITE
from medcity.store.repository import Store
from tests.auth.oauth_helpers import (
    FHIR_BASE,
    assertion,
    new_key,
    oauth_client,
    oauth_settings,
    public_jwks,
    register_app,
)
from tests.fhir.helpers import patient
from tests.web_login import add_web_user, csrf_of, log_in

REDIRECT = "https://app.example/callback"
APP_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs user/*.rs"


settings = pytest.fixture(oauth_settings)
client = pytest.fixture(oauth_client)


@pytest.fixture
def anna(client: TestClient, auth_engine: Engine, region: str) -> str:
    """A patient user, logged in, with a public app registered; returns her Patient id."""
    p1 = Store(auth_engine, region).create(patient("Иванова")).id
    add_web_user(client, "anna", Role.PATIENT, patient=p1)
    register_app(client, "phr", REDIRECT, APP_SCOPE)
    log_in(client, "anna")
    return p1


def _authorize_query(verifier: str, **changes: str) -> dict[str, str]:
    query = {"response_type": "code", "client_id": "phr", "redirect_uri": REDIRECT, "state": "s-123",
             "scope": "launch/patient patient/*.rs offline_access", "aud": FHIR_BASE,
             "code_challenge": pkce.challenge_of(verifier), "code_challenge_method": "S256"}  # fmt: skip
    query.update(changes)
    return {name: value for name, value in query.items() if value != "-"}


def _consent(client: TestClient, query: dict[str, str], decision: str = "allow") -> Any:
    page = client.get(f"/oauth/authorize?{urlencode(query)}")
    assert page.status_code == 200, page.text
    form = {**{name: value for name, value in query.items()}, "csrf_token": csrf_of(page.text), "decision": decision}
    return client.post("/oauth/authorize", data=form, follow_redirects=False)


def _code(client: TestClient, verifier: str, **changes: str) -> str:
    response = _consent(client, _authorize_query(verifier, **changes))
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    params = parse_qs(target.query)
    assert params["state"] == ["s-123"]
    return params["code"][0]


def _exchange(client: TestClient, code: str, verifier: str, **changes: str) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": "phr",
            "code_verifier": verifier}  # fmt: skip
    form.update(changes)
    return client.post("/oauth/token", data=form)


def _verifier() -> str:
    return secrets.token_urlsafe(48)


def test_login_consent_and_exchange_give_a_patient_token(client: TestClient, auth_engine: Engine, region: str) -> None:
    p1 = Store(auth_engine, region).create(patient("Иванова")).id
    p2 = Store(auth_engine, region).create(patient("Петрова")).id
    add_web_user(client, "anna", Role.PATIENT, patient=p1)
    register_app(client, "phr", REDIRECT, APP_SCOPE)
    verifier = _verifier()
    path = f"/oauth/authorize?{urlencode(_authorize_query(verifier))}"
    first = client.get(path, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    assert log_in(client, "anna", next_path=path) == path
    page = client.get(path)
    assert "App phr" in page.text and "patient/*.rs" in page.text and "offline_access" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    code = _code(client, verifier)
    response = _exchange(client, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["patient"] == p1 and body["token_type"] == "Bearer" and body["refresh_token"]
    assert body["scope"] == "launch/patient patient/*.rs offline_access"
    headers = {"authorization": f"Bearer {body['access_token']}"}
    assert client.get(f"/fhir/Patient/{p1}", headers=headers).status_code == 200
    assert client.get(f"/fhir/Patient/{p2}", headers=headers).status_code == 404


def test_ru_consent_screen(client: TestClient, anna: str) -> None:
    client.cookies.set("medcity_lang", "ru")
    page = client.get(f"/oauth/authorize?{urlencode(_authorize_query(_verifier()))}", headers={"accept-language": "ru"})
    assert page.status_code == 200 and "Разрешить" in page.text


def test_bad_verifier_reused_code_and_wrong_redirect_are_invalid_grant(client: TestClient, anna: str) -> None:
    verifier = _verifier()
    code = _code(client, verifier)
    assert _exchange(client, code, _verifier()).json()["error"] == "invalid_grant"
    assert _exchange(client, code, verifier, redirect_uri="https://app.example/other").json()["error"] == (
        "invalid_grant"
    )
    good = _exchange(client, code, verifier)
    assert good.status_code == 200
    reused = _exchange(client, code, verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # A replayed code withdraws what the first exchange bought.
    headers = {"authorization": f"Bearer {good.json()['access_token']}"}
    assert client.get(f"/fhir/Patient/{anna}", headers=headers).status_code == 401
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "phr",
                                                  "refresh_token": good.json()["refresh_token"]})  # fmt: skip
    assert refreshed.json()["error"] == "invalid_grant"


def test_expired_code_and_code_of_another_client(client: TestClient, anna: str, auth_engine: Engine) -> None:
    register_app(client, "other", REDIRECT, APP_SCOPE)
    verifier = _verifier()
    code = _code(client, verifier)
    assert _exchange(client, code, verifier, client_id="other").json()["error"] == "invalid_grant"
    assert _exchange(client, "made-up", verifier).json()["error"] == "invalid_grant"
    assert _exchange(client, code, verifier, client_id="nobody").status_code == 401
    assert _exchange(client, code, verifier, client_id="p\x00hr").status_code == 401
    with auth_engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(update(oauth_code).values(expires=0))
    assert _exchange(client, code, verifier).json()["error"] == "invalid_grant"


def test_authorize_refusals(client: TestClient, anna: str) -> None:
    verifier = _verifier()
    # Not a registered redirect URI, or an unknown client: shown to the user, never redirected.
    for changes in ({"redirect_uri": "https://evil.example/cb"}, {"client_id": "nobody"}, {"client_id": "p\x00hr"}):
        page = client.get(f"/oauth/authorize?{urlencode(_authorize_query(verifier, **changes))}",
                          follow_redirects=False)  # fmt: skip
        assert page.status_code == 400 and "evil.example" not in page.headers.get("location", "")
    # Everything else goes back to the app as an error.
    for changes, error in (
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "-"}, "invalid_request"),
        ({"aud": "https://other.example/fhir"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "system/*.rs"}, "invalid_scope"),
        ({"scope": "user/*.rs"}, "invalid_scope"),  # registered, but a patient cannot hold user/ scopes
    ):
        response = client.get(f"/oauth/authorize?{urlencode(_authorize_query(verifier, **changes))}",
                              follow_redirects=False)  # fmt: skip
        assert response.status_code == 303, (changes, response.text)
        sent = parse_qs(urlsplit(response.headers["location"]).query)
        assert sent["error"] == [error] and sent["state"] == ["s-123"]
    denied = _consent(client, _authorize_query(verifier), decision="deny")
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]
    no_csrf = client.post("/oauth/authorize", data={**_authorize_query(verifier), "decision": "allow"})
    assert no_csrf.status_code == 403


def test_scope_escalation_is_narrowed_to_registration_and_role(client: TestClient, anna: str) -> None:
    verifier = _verifier()
    code = _code(client, verifier, scope="patient/*.cruds patient/Observation.rs user/*.rs system/*.rs")
    body = _exchange(client, code, verifier).json()
    assert body["scope"] == "patient/Observation.rs" and "patient" not in body  # no launch/patient asked


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(client: TestClient, anna: str) -> None:
    verifier = _verifier()
    first = _exchange(client, _code(client, verifier), verifier).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": "phr"}
    second = client.post("/oauth/token", data={**form, "refresh_token": first})
    assert second.status_code == 200 and second.json()["patient"] == anna
    rotated = second.json()["refresh_token"]
    assert rotated != first
    assert client.post("/oauth/token", data={**form, "refresh_token": first}).json()["error"] == "invalid_grant"
    assert client.post("/oauth/token", data={**form, "refresh_token": rotated}).json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_needs_its_client(client: TestClient, anna: str) -> None:
    register_app(client, "other", REDIRECT, APP_SCOPE)
    verifier = _verifier()
    body = _exchange(client, _code(client, verifier), verifier).json()
    refusal = client.post("/oauth/revoke", data={"token": body["refresh_token"], "client_id": "other"})
    assert refusal.status_code == 400
    assert client.post("/oauth/revoke", data={"token": body["refresh_token"], "client_id": "phr"}).status_code == 200
    again = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "phr",
                                              "refresh_token": body["refresh_token"]})  # fmt: skip
    assert again.json()["error"] == "invalid_grant"
    # The access token is the app's to revoke too.
    assert client.post("/oauth/revoke", data={"token": body["access_token"], "client_id": "phr"}).status_code == 200
    headers = {"authorization": f"Bearer {body['access_token']}"}
    assert client.get(f"/fhir/Patient/{anna}", headers=headers).status_code == 401


def test_confidential_app_must_sign_its_exchange(client: TestClient, auth_engine: Engine, region: str) -> None:
    p1 = Store(auth_engine, region).create(patient("Иванова")).id
    add_web_user(client, "anna", Role.PATIENT, patient=p1)
    key = new_key()
    register_app(client, "phr", REDIRECT, APP_SCOPE, jwks=public_jwks(key))
    log_in(client, "anna")
    verifier = _verifier()
    code = _code(client, verifier)
    assert _exchange(client, code, verifier).status_code == 401  # client_id alone is not enough
    signed = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              "client_assertion": assertion(key, "phr")}  # fmt: skip
    assert _exchange(client, code, verifier, **signed).status_code == 200


def test_doctor_gets_user_scopes_and_no_patient_context(client: TestClient, auth_engine: Engine,
                                                        region: str) -> None:  # fmt: skip
    add_web_user(client, "dr", Role.DOCTOR)
    register_app(client, "phr", REDIRECT, APP_SCOPE)
    log_in(client, "dr")
    verifier = _verifier()
    code = _code(client, verifier, scope="launch/patient patient/*.rs user/*.rs")
    body = _exchange(client, code, verifier).json()
    assert body["scope"] == "user/*.rs" and "patient" not in body


def _id_claims(client: TestClient, id_token: str) -> dict[str, Any]:
    """The id_token's claims, verified as an app would: with the key the issuer's discovery points to."""
    discovery = client.get("/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(client.get(discovery["jwks_uri"].removeprefix("http://testserver")).json())
    decoded = jwt.decode(id_token, keys, algorithms=discovery["id_token_signing_alg_values_supported"])
    expected = {"iss": {"essential": True, "value": discovery["issuer"]}, "aud": {"essential": True, "value": "phr"},
                "exp": {"essential": True}}  # fmt: skip
    jwt.JWTClaimsRegistry(**expected).validate(decoded.claims)
    return dict(decoded.claims)


def test_openid_gives_an_id_token_naming_the_user_and_the_apps_nonce(client: TestClient, anna: str) -> None:
    verifier = _verifier()
    code = _code(client, verifier, scope="openid fhirUser launch/patient patient/*.rs offline_access", nonce="n-42")
    body = _exchange(client, code, verifier).json()
    claims = _id_claims(client, body["id_token"])
    assert claims["sub"] == "anna" and claims["nonce"] == "n-42"
    assert claims["fhirUser"] == f"{FHIR_BASE}/Patient/{anna}"
    # A refresh brings a fresh id_token (no nonce: the app sent none for it).
    refreshed = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "phr",
                                                  "refresh_token": body["refresh_token"]}).json()  # fmt: skip
    again = _id_claims(client, refreshed["id_token"])
    assert again["sub"] == "anna" and "nonce" not in again
    # Without openid there is none; without fhirUser it does not name the resource.
    plain = _code(client, verifier := _verifier(), scope="patient/*.rs")
    assert "id_token" not in _exchange(client, plain, verifier).json()
    bare = _code(client, verifier := _verifier(), scope="openid patient/*.rs")
    assert "fhirUser" not in _id_claims(client, _exchange(client, bare, verifier).json()["id_token"])


def test_an_id_token_is_not_an_access_token_and_a_long_nonce_is_refused(client: TestClient, anna: str) -> None:
    verifier = _verifier()
    code = _code(client, verifier, scope="openid fhirUser patient/*.rs")
    id_token = _exchange(client, code, verifier).json()["id_token"]
    assert client.get(f"/fhir/Patient/{anna}", headers={"authorization": f"Bearer {id_token}"}).status_code == 401
    refused = client.get(f"/oauth/authorize?{urlencode(_authorize_query(_verifier(), nonce='n' * 257))}",
                         follow_redirects=False)  # fmt: skip
    assert refused.status_code == 303 and "error=invalid_request" in refused.headers["location"]
