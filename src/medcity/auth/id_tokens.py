"""OpenID Connect id_tokens for SMART apps that ask who the user is (`openid fhirUser`): issued with the access
token of the code flow (and of a refresh), signed RS256 with the server's own key (its public half in the JWKS),
for the app (`aud` is its client_id); `fhirUser` is the user's Practitioner or Patient as an absolute URL, and
`nonce` is the one the app sent to /oauth/authorize, so that it can tell its own login from a replayed one."""

from __future__ import annotations

from datetime import datetime, timedelta

from joserfc import jwt

from medcity.auth import tokens
from medcity.auth.gate import fhir_base
from medcity.auth.users import User
from medcity.kit.config import Settings

LIFETIME = timedelta(minutes=15)
NONCE_MAX = 256


def issue(
    settings: Settings, user: User, *, client_id: str, scope: str, now: datetime, nonce: str | None
) -> str | None:
    """The id_token for this grant, or None when the app did not ask for `openid`."""
    granted = scope.split()
    if "openid" not in granted:
        return None
    issued = int(now.timestamp())
    claims: dict[str, object] = {
        "iss": settings.base_url,
        "sub": user.username,
        "aud": client_id,
        "iat": issued,
        "exp": issued + int(LIFETIME.total_seconds()),
    }
    if nonce:
        claims["nonce"] = nonce
    if "fhirUser" in granted and user.fhir_user:
        claims["fhirUser"] = f"{fhir_base(settings)}/{user.fhir_user}"
    key = tokens.id_token_key(settings.secret_dir)
    return jwt.encode({"alg": tokens.ID_TOKEN_ALGORITHM, "kid": key.kid, "typ": "JWT"}, claims, key)
