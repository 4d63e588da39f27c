from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import Connection

from medcity.auth import tokens
from medcity.kit.errors import Unauthenticated
from tests.auth.conftest import NOW

ISS = "https://medcity.example"
AUD = "https://medcity.example/fhir"


@pytest.fixture
def key(tmp_path: Path) -> ECKey:
    return tokens.signing_key(tmp_path / "keys")


def _issue(key: ECKey, **kwargs: object) -> str:
    args: dict[str, object] = {"issuer": ISS, "audience": AUD, "region": "77", "subject": "anna", "role": "patient",
                               "scope": "patient/*.rs", "patient": "p1", "now": NOW}  # fmt: skip
    return tokens.issue(key, **{**args, **kwargs})  # type: ignore[arg-type]


def _verify(token: str, key: ECKey, **kwargs: object) -> tokens.TokenClaims:
    args: dict[str, object] = {
        "issuer": ISS,
        "audience": AUD,
        "region": "77",
        "now": NOW,
        "is_revoked": lambda _j: False,
    }
    return tokens.verify(token, key, **{**args, **kwargs})  # type: ignore[arg-type]


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def test_key_is_made_once_private_to_the_owner_and_published_without_its_secret(tmp_path: Path) -> None:
    key = tokens.signing_key(tmp_path / "k")
    path = tmp_path / "k" / tokens.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens.signing_key.cache_clear()
    assert tokens.signing_key(tmp_path / "k").kid == key.kid  # read back, not regenerated
    published = tokens.jwks(tmp_path / "k")["keys"][0]
    assert published["kid"] == key.kid and published["alg"] == "ES256" and "d" not in published


def test_workers_starting_together_agree_on_one_key_and_leave_no_drafts(tmp_path: Path) -> None:
    """uvicorn's workers each create the app at once, and each makes the keys if there are none yet."""
    from concurrent.futures import ThreadPoolExecutor

    from medcity.app import create_app
    from medcity.kit.config import Settings

    keys = tmp_path / "keys"
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", secret_dir=keys)
    tokens.signing_key.cache_clear()
    tokens.id_token_key.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _n: tokens._key_file(keys / "race.jwk.json", lambda: ECKey.generate_key("P-256")),
                             range(8)))  # fmt: skip
    assert len({key["d"] for key in made}) == 1
    create_app(settings)  # before any request: the keys a token and the JWKS need exist from the start
    made_files = sorted(p.name for p in keys.iterdir())
    assert made_files == sorted([tokens.ID_TOKEN_KEY_FILE, tokens.KEY_FILE, "race.jwk.json"])
    tokens.signing_key.cache_clear()
    tokens.id_token_key.cache_clear()


def test_round_trip_carries_the_smart_claims(key: ECKey) -> None:
    claims = _verify(_issue(key, fhir_user="Patient/p1"), key)
    assert (claims.subject, claims.role, claims.patient, claims.fhir_user) == ("anna", "patient", "p1", "Patient/p1")
    assert claims.scopes == ("patient/*.rs",)
    assert claims.expires == int(NOW.timestamp()) + int(tokens.DEFAULT_LIFETIME.total_seconds())


def test_alg_none_is_refused(key: ECKey) -> None:
    _header, payload, _sig = _parts(_issue(key))
    payload["role"] = "admin"
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': key.kid})}.{_b64(payload)}."
    with pytest.raises(Unauthenticated):
        _verify(forged, key)


def test_hmac_signed_with_the_public_key_is_refused(key: ECKey) -> None:
    # The classic confusion attack, built by hand: libraries refuse to make such a key on purpose.
    signing_input = f"{_b64({'alg': 'HS256', 'kid': key.kid})}.{_b64(_parts(_issue(key))[1])}"
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(Unauthenticated):
        _verify(forged, key)


def test_other_key_is_refused(key: ECKey) -> None:
    other = ECKey.generate_key("P-256", auto_kid=True)
    with pytest.raises(Unauthenticated):
        _verify(_issue(other), key)


def test_changed_payload_is_refused(key: ECKey) -> None:
    header, _payload, signature = _issue(key).split(".")
    claims = _parts(_issue(key))[1]
    claims["patient"] = "p2"
    with pytest.raises(Unauthenticated):
        _verify(f"{header}.{_b64(claims)}.{signature}", key)


def test_expired_is_refused(key: ECKey) -> None:
    token = _issue(key)
    _verify(token, key, now=NOW + tokens.DEFAULT_LIFETIME - timedelta(seconds=1))
    with pytest.raises(Unauthenticated):
        _verify(token, key, now=NOW + tokens.DEFAULT_LIFETIME + timedelta(seconds=1))


def test_other_audience_issuer_or_region_is_refused(key: ECKey) -> None:
    token = _issue(key)
    for change in ({"audience": "https://other.example/fhir"}, {"issuer": "https://evil.example"}, {"region": "78"}):
        with pytest.raises(Unauthenticated):
            _verify(token, key, **change)


def test_garbage_is_refused(key: ECKey) -> None:
    for junk in ("", "abc", "a.b.c", "....", _b64({"alg": "ES256"})):
        with pytest.raises(Unauthenticated):
            _verify(junk, key)


def test_revoked_is_refused(key: ECKey, write_conn: Connection) -> None:
    token = _issue(key)
    claims = _verify(token, key, is_revoked=lambda jti: tokens.is_revoked(write_conn, jti))
    tokens.revoke(write_conn, jti=claims.jti, expires=claims.expires, now=NOW)
    tokens.revoke(write_conn, jti=claims.jti, expires=claims.expires, now=NOW)  # twice is harmless
    with pytest.raises(Unauthenticated):
        _verify(token, key, is_revoked=lambda jti: tokens.is_revoked(write_conn, jti))


def test_client_id_is_carried_and_signed_claims_read_only_our_own_tokens(key: ECKey) -> None:
    token = _issue(key, client_id="phr", jti="fixed-jti")
    claims = _verify(token, key)
    assert (claims.client_id, claims.jti) == ("phr", "fixed-jti")
    # Revocation reads a token even after it expired, but never one signed by another key.
    assert tokens.signed_claims(token, key) is not None
    assert tokens.signed_claims(_issue(ECKey.generate_key("P-256", auto_kid=True)), key) is None
    assert tokens.signed_claims("junk", key) is None
