"""OAuth clients: registration, and client authentication by ``private_key_jwt`` (SMART Backend Services).

A client proves itself with a JWT it signs with its own private key (ES384 or RS384): ``iss`` = ``sub`` = its
client_id, ``aud`` = our token endpoint, ``exp`` at most five minutes ahead, and a ``jti`` it never used before
(every accepted one is remembered until it expires, so a captured assertion cannot be replayed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from sqlalchemy import Connection, delete, insert, select

from medcity.auth import scopes
from medcity.auth.oauth_errors import invalid_client
from medcity.auth.tables import oauth_assertion, oauth_client
from medcity.auth.users import Role, add_user
from medcity.kit.errors import Conflict, InvalidRequest

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["ES384", "RS384"]
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
# Clocks differ a little between systems: an assertion a few seconds "from the future" is still accepted.
_SKEW = 30


@dataclass(frozen=True)
class Client:
    client_id: str
    user_id: str | None  # a system client's own account; None for an app acting for the logged-in user
    jwks: dict[str, Any] | None  # None: a public client (PKCE only)
    scope: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    name: str

    @property
    def is_system(self) -> bool:
        return self.user_id is not None


def _checked_jwks(jwks: Any) -> dict[str, Any]:
    """A JWKS of public EC or RSA keys that can sign one of our algorithms; InvalidRequest otherwise."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InvalidRequest("The JWKS must be a JSON object with a non-empty 'keys' list")
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA"):
            raise InvalidRequest("Each key must be an EC or RSA public key")
        if "d" in key:
            raise InvalidRequest("The JWKS holds a private key: register the public half only")
    try:
        KeySet.import_key_set(cast(Any, jwks))
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequest(f"The JWKS cannot be read: {str(exc)[:200]}") from None
    return jwks


def _exists(conn: Connection, region: str, client_id: str) -> bool:
    query = select(oauth_client.c.client_id).where(
        oauth_client.c.partition == region, oauth_client.c.client_id == client_id
    )
    return conn.execute(query).first() is not None


def _check_id(conn: Connection, region: str, client_id: str) -> None:
    if not client_id or len(client_id) > 128 or not client_id.isprintable() or " " in client_id:
        raise InvalidRequest("A client id must have 1 to 128 printable characters without spaces")
    if _exists(conn, region, client_id):
        raise Conflict(f"The client '{client_id}' is registered already")


def add_system_client(
    conn: Connection, *, region: str, client_id: str, organization: str, scope: str, jwks: Any, now: datetime
) -> Client:
    """Register another system (a clinic's, a region's): its account (role system, of ``organization``) and its
    public keys. It may ask for ``system/`` scopes only, up to ``scope``."""
    _check_id(conn, region, client_id)
    granted = scope.split()
    if not granted or not all(
        item == scopes.EXCHANGE_SCOPE or (scopes.fits_role(item, Role.SYSTEM) and item.startswith("system/"))
        for item in granted
    ):
        raise InvalidRequest(
            f"A system client is registered for system/ scopes (e.g. 'system/*.rs') or {scopes.EXCHANGE_SCOPE} only"
        )
    if scopes.EXCHANGE_SCOPE in granted and len(granted) > 1:
        raise InvalidRequest(f"Another region's system is registered for {scopes.EXCHANGE_SCOPE} alone")
    keys = _checked_jwks(jwks)
    user = add_user(
        conn, region=region, username=client_id, role=Role.SYSTEM, password=None, organization=organization, now=now
    )
    conn.execute(
        insert(oauth_client).values(
            partition=region,
            client_id=client_id,
            user_id=user.id,
            jwks=json.dumps(keys),
            scope=" ".join(granted),
            redirect_uris=None,
            name=client_id,
        )
    )
    return Client(client_id, user.id, keys, tuple(granted), (), client_id)


def add_app(
    conn: Connection,
    *,
    region: str,
    client_id: str,
    name: str,
    redirect_uris: list[str],
    scope: str,
    jwks: Any = None,
) -> Client:
    """Register a SMART app for the authorization code flow. Without ``jwks`` it is a public client (a browser or
    phone app that cannot keep a secret), which PKCE protects; with one it must also authenticate."""
    _check_id(conn, region, client_id)
    if not redirect_uris or any(not uri.startswith(("https://", "http://")) or " " in uri for uri in redirect_uris):
        raise InvalidRequest("An app needs at least one absolute http(s) redirect URI")
    granted = scope.split()
    if not granted or any(item.startswith("system/") for item in granted):
        raise InvalidRequest("An app is registered for patient/, user/ and launch scopes, not system/")
    keys = _checked_jwks(jwks) if jwks is not None else None
    conn.execute(
        insert(oauth_client).values(
            partition=region,
            client_id=client_id,
            user_id=None,
            jwks=json.dumps(keys) if keys else None,
            scope=" ".join(granted),
            redirect_uris=" ".join(redirect_uris),
            name=name[:256] or client_id,
        )
    )
    return Client(client_id, None, keys, tuple(granted), tuple(redirect_uris), name)


def get_client(conn: Connection, *, region: str, client_id: str) -> Client | None:
    if not client_id.isprintable():
        return None  # never registered (see _check_id), and PostgreSQL refuses NUL in a query
    row = conn.execute(
        select(oauth_client).where(oauth_client.c.partition == region, oauth_client.c.client_id == client_id[:128])
    ).first()
    if row is None:
        return None
    return Client(
        client_id=row.client_id,
        user_id=row.user_id,
        jwks=json.loads(row.jwks) if row.jwks else None,
        scope=tuple(row.scope.split()),
        redirect_uris=tuple((row.redirect_uris or "").split()),
        name=row.name or row.client_id,
    )


def _candidate_keys(client: Client, header: dict[str, Any]) -> list[Key]:
    keys = KeySet.import_key_set(cast(Any, client.jwks or {"keys": []})).keys
    kid = header.get("kid")
    return [key for key in keys if key.kid == kid] if kid else list(keys)


def authenticate(
    conn: Connection, *, region: str, client: Client, assertion: str, token_url: str, now: datetime
) -> None:
    """Accept ``assertion`` as ``client``'s proof, or raise invalid_client. Remembers its jti (replay guard)."""
    refused = invalid_client("The client assertion is invalid, expired, replayed or not for this endpoint")
    if not client.jwks:
        raise invalid_client("This client has no registered keys")
    try:
        header = jws.extract_compact(assertion.encode()).protected
        claims = None
        for key in _candidate_keys(client, header):
            try:
                claims = jwt.decode(assertion, key, algorithms=ASSERTION_ALGORITHMS).claims
                break
            except JoseError:
                continue
        if claims is None:
            raise refused
        moment = int(now.timestamp())
        jwt.JWTClaimsRegistry(
            now=moment,
            leeway=_SKEW,
            iss={"essential": True, "value": client.client_id},
            sub={"essential": True, "value": client.client_id},
            aud={"essential": True, "value": token_url},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, TypeError):
        raise refused from None
    expires, jti = claims["exp"], claims["jti"]
    if not isinstance(expires, int) or expires > moment + MAX_ASSERTION_LIFETIME.total_seconds() + _SKEW:
        raise invalid_client("The client assertion must expire within five minutes")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise refused
    _remember(conn, region=region, client_id=client.client_id, jti=jti, expires=expires, now=moment)


def _remember(conn: Connection, *, region: str, client_id: str, jti: str, expires: int, now: int) -> None:
    conn.execute(
        delete(oauth_assertion).where(oauth_assertion.c.partition == region, oauth_assertion.c.expires < now - _SKEW)
    )
    seen = conn.execute(
        select(oauth_assertion.c.jti).where(
            oauth_assertion.c.partition == region,
            oauth_assertion.c.client_id == client_id,
            oauth_assertion.c.jti == jti,
        )
    ).first()
    if seen:
        raise invalid_client("This client assertion was used already (jti replayed)")
    # Two concurrent replays both pass the look-up; the primary key stops the second (IntegrityError → refused).
    conn.execute(insert(oauth_assertion).values(partition=region, client_id=client_id, jti=jti, expires=expires))
