"""Bearer tokens from a trusted external OpenID Connect issuer (a regional identity provider), beside our own.

With ``MEDCITY_OIDC_ISSUER`` and ``MEDCITY_OIDC_JWKS_FILE`` set, a token whose ``iss`` is that issuer is verified
with the issuer's public keys read from that local file — nothing is fetched from the network at run time: the
operator syncs the file from the issuer's ``jwks_uri`` (the file is re-read when it changes, so key rotation needs
no restart). Its claims become the same ``TokenClaims`` as ours: ``sub``, ``role`` (or the first known role in
``roles``), ``scope`` (or ``scp``), ``fhirUser``, ``patient``, ``organization``. Every other token is ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from medcity.auth import tokens
from medcity.auth.users import Role
from medcity.kit.config import Settings
from medcity.kit.errors import Unauthenticated

# Asymmetric algorithms only: a symmetric one would let anyone holding the (public) JWKS forge tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
_LEEWAY = 30


def fhir_base(settings: Settings) -> str:
    return f"{settings.base_url.rstrip('/')}/fhir"


@lru_cache(maxsize=4)
def _key_set(path: Path, _modified_ns: int) -> KeySet:
    """The issuer's keys; cached per file version (the modification time is part of the key)."""
    data = json.loads(path.read_text())
    public = {"keys": [key for key in data.get("keys", []) if "d" not in key and key.get("kty") in ("RSA", "EC")]}
    return KeySet.import_key_set(cast(Any, public))


def issuer_keys(settings: Settings) -> KeySet:
    path = settings.oidc_jwks_file
    if path is None:
        raise Unauthenticated("No JWKS file is configured for the external issuer (MEDCITY_OIDC_JWKS_FILE)")
    try:
        return _key_set(Path(path), Path(path).stat().st_mtime_ns)
    except (OSError, ValueError, JoseError) as exc:
        raise Unauthenticated(f"The external issuer's keys cannot be read ({type(exc).__name__})") from None


def _unverified_issuer(token: str) -> str | None:
    try:
        payload = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, TypeError, UnicodeDecodeError):
        return None
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    return issuer if isinstance(issuer, str) else None


def is_external(token: str, settings: Settings) -> bool:
    """Whether the token claims to come from the trusted external issuer (to be verified with its keys)."""
    return bool(settings.oidc_issuer) and _unverified_issuer(token) == settings.oidc_issuer


def verify_bearer(
    token: str, settings: Settings, now: datetime, is_revoked: Callable[[str], bool]
) -> tokens.TokenClaims:
    """A bearer token's claims, whoever of the two trusted issuers signed it; Unauthenticated otherwise."""
    if is_external(token, settings):
        return verify_external(token, settings, now, is_revoked)
    return tokens.verify(token, tokens.signing_key(settings.secret_dir), issuer=settings.base_url,
                         audience=fhir_base(settings), region=settings.region, now=now,
                         is_revoked=is_revoked)  # fmt: skip


def _role(claims: dict[str, Any]) -> Role:
    named = claims.get("role")
    candidates = [named] if isinstance(named, str) else claims.get("roles") or []
    for candidate in candidates if isinstance(candidates, list) else []:
        if isinstance(candidate, str) and candidate in Role.__members__.values():
            return Role(candidate)
    raise ValueError("no known role")


def _scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(scope, list):
        return tuple(item for item in scope if isinstance(item, str))
    return tuple(scope.split()) if isinstance(scope, str) else ()


def _text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def verify_external(
    token: str, settings: Settings, now: datetime, is_revoked: Callable[[str], bool]
) -> tokens.TokenClaims:
    refused = Unauthenticated(tokens.REFUSED)
    keys = issuer_keys(settings)
    try:
        claims = jwt.decode(token, keys, algorithms=ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=_LEEWAY,
            iss={"essential": True, "value": settings.oidc_issuer or ""},
            aud={"essential": True, "value": fhir_base(settings)},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(claims)
        role = _role(claims)
    except (JoseError, ValueError, TypeError):
        raise refused from None
    jti = _text(claims, "jti") or ""
    if jti and is_revoked(jti):
        raise refused
    fhir_user = _text(claims, "fhirUser")
    patient = _text(claims, "patient")
    if patient is None and role == Role.PATIENT and fhir_user and fhir_user.startswith("Patient/"):
        patient = fhir_user.removeprefix("Patient/")
    return tokens.TokenClaims(
        subject=str(claims["sub"]),
        role=role.value,
        scopes=_scopes(claims),
        region=settings.region,
        jti=jti,
        expires=int(claims["exp"]),
        patient=patient,
        fhir_user=fhir_user,
        organization=_text(claims, "organization"),
        client_id=_text(claims, "client_id") or _text(claims, "azp"),
    )
