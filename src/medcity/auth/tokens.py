"""Access tokens: JWTs signed with an EC key the server makes on first start, published as a JWKS.

Verification trusts nothing in the token's header but the key id: the algorithm is pinned to ES256 (so `alg: none`
and HMAC-with-the-public-key tricks fail), and issuer, audience, region, expiry and revocation are all checked.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import Connection, delete, insert, select

from medcity.auth import revocations
from medcity.auth.tables import revoked_token
from medcity.kit.errors import Unauthenticated

ALGORITHM = "ES256"
KEY_FILE = "signing-key.jwk.json"
ID_TOKEN_KEY_FILE = "id-token-key.jwk.json"  # noqa: S105 (a file name)
ID_TOKEN_ALGORITHM = "RS256"  # noqa: S105 (an algorithm name)
DEFAULT_LIFETIME = timedelta(minutes=15)
REFUSED = "The access token is invalid or expired"


@lru_cache(maxsize=8)
def signing_key(secret_dir: Path) -> ECKey:
    """The server's private key for access tokens (ES256), created on first use."""
    return ECKey.import_key(_key_file(Path(secret_dir) / KEY_FILE, lambda: ECKey.generate_key("P-256", auto_kid=True)))


@lru_cache(maxsize=8)
def id_token_key(secret_dir: Path) -> RSAKey:
    """The server's private key for OpenID Connect id_tokens (RS256, which every OpenID client must accept),
    created on first use."""
    return RSAKey.import_key(_key_file(Path(secret_dir) / ID_TOKEN_KEY_FILE,
                                       lambda: RSAKey.generate_key(2048, auto_kid=True)))  # fmt: skip


def _key_file(path: Path, generate: Callable[[], ECKey | RSAKey]) -> Any:
    """A private key's JWK, created on first use. The key is written whole to a file of its own (0600) and then
    linked into place, which fails if the name exists: two workers starting together agree on one key, and none
    reads a key half written."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = generate().as_dict(private=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps(key).encode())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker's key is in place: use it
        else:
            return key
        finally:
            draft.unlink()
    return json.loads(path.read_text())


def jwks(secret_dir: Path) -> dict[str, Any]:
    """The public halves, as served at /.well-known/jwks.json: the access tokens' key and the id_tokens'."""
    access = signing_key(secret_dir).as_dict(private=False)
    identity = id_token_key(secret_dir).as_dict(private=False)
    return {"keys": [{**access, "use": "sig", "alg": ALGORITHM}, {**identity, "use": "sig", "alg": ID_TOKEN_ALGORITHM}]}


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    role: str
    scopes: tuple[str, ...]
    region: str
    jti: str
    expires: int
    patient: str | None = None
    fhir_user: str | None = None
    organization: str | None = None
    client_id: str | None = None


def issue(
    key: ECKey,
    *,
    issuer: str,
    audience: str,
    region: str,
    subject: str,
    role: str,
    scope: str,
    now: datetime,
    patient: str | None = None,
    fhir_user: str | None = None,
    organization: str | None = None,
    client_id: str | None = None,
    jti: str | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> str:
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": jti or new_jti(),
        "role": role,
        "scope": scope,
        "region": region,
    }
    # SMART launch context: `patient` and `fhirUser` are what a SMART app reads from the token response.
    # `client_id` names the OAuth client the token was issued to (RFC 9068), so only it may revoke the token.
    context = (("patient", patient), ("fhirUser", fhir_user), ("organization", organization), ("client_id", client_id))
    for name, value in context:
        if value:
            claims[name] = value
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM])


def verify(
    token: str,
    key: ECKey,
    *,
    issuer: str,
    audience: str,
    region: str,
    now: datetime,
    is_revoked: Callable[[str], bool],
) -> TokenClaims:
    """The token's claims, or Unauthenticated. The message stays vague on purpose: it helps no attacker."""
    refused = Unauthenticated(REFUSED)
    try:
        decoded = jwt.decode(token, KeySet([key]), algorithms=[ALGORITHM])
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            role={"essential": True},
            region={"essential": True, "value": region},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError):
        raise refused from None
    claims = decoded.claims
    if is_revoked(str(claims["jti"])):
        raise refused
    scope = claims.get("scope", "")
    return TokenClaims(
        subject=str(claims["sub"]),
        role=str(claims["role"]),
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        region=str(claims["region"]),
        jti=str(claims["jti"]),
        expires=int(claims["exp"]),
        patient=claims.get("patient"),
        fhir_user=claims.get("fhirUser"),
        organization=claims.get("organization"),
        client_id=claims.get("client_id"),
    )


def new_jti() -> str:
    return secrets.token_urlsafe(18)


def signed_claims(token: str, key: ECKey) -> dict[str, Any] | None:
    """The claims of a token this server signed, expired or not (for revocation); None for anything else."""
    try:
        claims = jwt.decode(token, KeySet([key]), algorithms=[ALGORITHM]).claims
    except (JoseError, ValueError, TypeError):
        return None
    return claims if isinstance(claims.get("jti"), str) and isinstance(claims.get("exp"), int) else None


def revoke(conn: Connection, *, jti: str, expires: int, now: datetime) -> None:
    """Refuse this token from now on; rows of tokens that have expired anyway are purged on the way."""
    conn.execute(delete(revoked_token).where(revoked_token.c.expires < int(now.timestamp())))
    if not is_revoked(conn, jti):
        conn.execute(insert(revoked_token).values(jti=jti, expires=expires))
    revocations.of(conn.engine).add(jti, expires)


def is_revoked(conn: Connection, jti: str) -> bool:
    return conn.execute(select(revoked_token.c.jti).where(revoked_token.c.jti == jti)).first() is not None
