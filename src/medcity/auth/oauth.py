"""The OAuth 2.0 grants behind ``/oauth/token`` and ``/oauth/revoke``, and the authorization codes the consent
screen hands out. Everything a client sends is checked here; the routes only read forms and write answers.

- ``client_credentials`` for system clients (SMART Backend Services) with a ``private_key_jwt`` assertion;
- ``authorization_code`` with PKCE (S256) for SMART apps, public or confidential;
- ``refresh_token`` (rotating; offline_access only) for the code flow;
- revocation (RFC 7009) of access tokens (their jti goes to ``revoked_token``) and of refresh token families.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy import Connection, Table, delete, insert, select, update

from medcity.auth import clients, id_tokens, pkce, scopes, tokens
from medcity.auth.clients import Client
from medcity.auth.gate import fhir_base
from medcity.auth.oauth_errors import OAuthError, invalid_client, invalid_grant, invalid_request
from medcity.auth.tables import oauth_code, refresh_token
from medcity.auth.users import Role, User, get_user_by_id
from medcity.kit.config import Settings

SYSTEM_TOKEN_LIFETIME = timedelta(minutes=5)  # SMART Backend Services: short, the client just asks again
USER_TOKEN_LIFETIME = tokens.DEFAULT_LIFETIME
CODE_LIFETIME = timedelta(minutes=1)
REFRESH_LIFETIME = timedelta(days=30)


def token_url(settings: Settings) -> str:
    return f"{settings.base_url.rstrip('/')}/oauth/token"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


@dataclass(frozen=True)
class Issued:
    """A minted access token and what the token response tells about it."""

    access_token: str
    jti: str
    expires: int
    lifetime: timedelta
    scope: str

    def response(self, **extra: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": int(self.lifetime.total_seconds()),
            "scope": self.scope,
        }
        body.update({name: value for name, value in extra.items() if value})
        return body


def mint(
    settings: Settings,
    account: User,
    scope: str,
    now: datetime,
    *,
    patient: str | None,
    client_id: str | None,
    lifetime: timedelta = USER_TOKEN_LIFETIME,
) -> Issued:
    """An access token for ``account`` (a person, or a system client's own account)."""
    jti = tokens.new_jti()
    token = tokens.issue(
        tokens.signing_key(settings.secret_dir),
        issuer=settings.base_url,
        audience=fhir_base(settings),
        region=settings.region,
        subject=account.username,
        role=account.role.value,
        scope=scope,
        now=now,
        patient=patient,
        fhir_user=account.fhir_user,
        organization=account.organization,
        client_id=client_id,
        jti=jti,
        lifetime=lifetime,
    )
    return Issued(token, jti, _epoch(now + lifetime), lifetime, scope)


# ---- client authentication -------------------------------------------------------------------------------------


def _unverified_issuer(assertion: str) -> str:
    try:
        payload = json.loads(jws.extract_compact(assertion.encode()).payload)
    except (JoseError, ValueError, TypeError, UnicodeDecodeError):
        raise invalid_client("The client assertion is not a JWT") from None
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise invalid_client("The client assertion names no issuer")
    return issuer


def authenticate_client(conn: Connection, settings: Settings, form: Mapping[str, str], now: datetime) -> Client:
    """The client making this request. With a ``client_assertion`` it must prove itself (private_key_jwt); with
    only a ``client_id`` it must be a public client (no registered keys)."""
    assertion = form.get("client_assertion")
    named = form.get("client_id")
    if assertion is not None:
        if form.get("client_assertion_type") != clients.ASSERTION_TYPE:
            raise invalid_client(f"client_assertion_type must be {clients.ASSERTION_TYPE}")
        client_id = _unverified_issuer(assertion)
        if named is not None and named != client_id:
            raise invalid_client("client_id and the assertion's issuer differ")
    elif named:
        client_id = named
    else:
        raise invalid_client("The client is not identified: send client_id, or a client_assertion")
    client = clients.get_client(conn, region=settings.region, client_id=client_id)
    if client is None:
        raise invalid_client("Unknown client")
    if assertion is not None:
        clients.authenticate(
            conn, region=settings.region, client=client, assertion=assertion, token_url=token_url(settings), now=now
        )
    elif client.jwks is not None:
        raise invalid_client("This client must authenticate with a private_key_jwt client_assertion")
    return client


# ---- the grants ------------------------------------------------------------------------------------------------


def _held_by(conn: Connection, table: Table, region: str, secret: str, client: Client, what: str) -> tuple[Any, Any]:
    """The row of a code or refresh token (found by its hash) and its key, when it was issued to ``client``."""
    where = (table.c.partition == region, table.c.id == _hash(secret))
    row = conn.execute(select(table).where(*where)).first()
    if row is None or row.client_id != client.client_id:
        raise invalid_grant(f"Unknown {what}")
    return where, row


def client_credentials(conn: Connection, settings: Settings, form: Mapping[str, str], now: datetime) -> dict[str, Any]:
    if "client_assertion" not in form:
        raise invalid_client("A system client authenticates with a private_key_jwt client_assertion")
    client = authenticate_client(conn, settings, form, now)
    if not client.is_system or client.user_id is None:
        raise OAuthError("unauthorized_client", "This client may not use the client_credentials grant")
    account = get_user_by_id(conn, region=settings.region, user_id=client.user_id)
    if account is None or not account.active:
        raise invalid_client("This client's account is disabled")
    asked = form.get("scope", "").split() or list(client.scope)
    granted = [item for item in scopes.narrow(asked, list(client.scope))
               if item.startswith("system/") or item == scopes.EXCHANGE_SCOPE]  # fmt: skip
    if not granted:
        raise OAuthError("invalid_scope", "None of the requested scopes is granted to this client")
    issued = mint(settings, account, " ".join(granted), now, patient=None, client_id=client.client_id,
                  lifetime=SYSTEM_TOKEN_LIFETIME)  # fmt: skip
    return issued.response()


def authorization_code(conn: Connection, settings: Settings, form: Mapping[str, str], now: datetime) -> dict[str, Any]:
    client = authenticate_client(conn, settings, form, now)
    code, verifier, redirect_uri = form.get("code"), form.get("code_verifier"), form.get("redirect_uri")
    if not code or not verifier or not redirect_uri:
        raise invalid_request("code, code_verifier and redirect_uri are required")
    where, row = _held_by(conn, oauth_code, settings.region, code, client, "authorization code")
    if row.used:
        # A code used twice was stolen or replayed: what it bought is withdrawn too (RFC 6749 §4.1.2).
        if row.access_jti and row.access_expires:
            tokens.revoke(conn, jti=row.access_jti, expires=row.access_expires, now=now)
        _revoke_family(conn, settings.region, row.id)
        raise invalid_grant("This authorization code was used already")
    if row.expires <= _epoch(now):
        raise invalid_grant("The authorization code has expired")
    if row.redirect_uri != redirect_uri:
        raise invalid_grant("redirect_uri differs from the one the code was issued for")
    if not pkce.matches(verifier, row.challenge):
        raise invalid_grant("The code_verifier does not match the code_challenge")
    user = get_user_by_id(conn, region=settings.region, user_id=row.user_id)
    if user is None or not user.active:
        raise invalid_grant("The user's account is disabled")
    issued = mint(settings, user, row.scope, now, patient=row.patient, client_id=client.client_id)
    # Only one exchange wins even when two race: the row flips from unused to used exactly once.
    flipped = conn.execute(
        update(oauth_code)
        .where(*where, oauth_code.c.used.is_(False))
        .values(used=True, access_jti=issued.jti, access_expires=issued.expires)
    ).rowcount
    if flipped != 1:
        raise invalid_grant("This authorization code was used already")
    refresh = _new_refresh(conn, settings.region, row.id, client, user, row.scope, row.patient, now)
    identity = id_tokens.issue(settings, user, client_id=client.client_id, scope=row.scope, now=now, nonce=row.nonce)
    return issued.response(patient=_launch_patient(row.scope, row.patient), refresh_token=refresh, id_token=identity)


def refresh(conn: Connection, settings: Settings, form: Mapping[str, str], now: datetime) -> dict[str, Any]:
    client = authenticate_client(conn, settings, form, now)
    presented = form.get("refresh_token")
    if not presented:
        raise invalid_request("refresh_token is required")
    where, row = _held_by(conn, refresh_token, settings.region, presented, client, "refresh token")
    if row.used:
        _revoke_family(conn, settings.region, row.family)  # a rotated-away token came back: it was copied
        raise invalid_grant("This refresh token was used already; its family is revoked")
    if row.expires <= _epoch(now):
        raise invalid_grant("The refresh token has expired")
    user = get_user_by_id(conn, region=settings.region, user_id=row.user_id)
    if user is None or not user.active:
        raise invalid_grant("The user's account is disabled")
    asked = form.get("scope", "").split()
    scope = " ".join(scopes.narrow(asked, row.scope.split())) if asked else row.scope
    if not scope:
        raise OAuthError("invalid_scope", "The requested scope exceeds the original grant")
    if (
        conn.execute(update(refresh_token).where(*where, refresh_token.c.used.is_(False)).values(used=True)).rowcount
        != 1
    ):
        raise invalid_grant("This refresh token was used already")
    issued = mint(settings, user, scope, now, patient=row.patient, client_id=client.client_id)
    rotated = _new_refresh(conn, settings.region, row.family, client, user, scope, row.patient, now)
    identity = id_tokens.issue(settings, user, client_id=client.client_id, scope=scope, now=now, nonce=None)
    return issued.response(patient=_launch_patient(scope, row.patient), refresh_token=rotated, id_token=identity)


GRANTS = {
    "client_credentials": client_credentials,
    "authorization_code": authorization_code,
    "refresh_token": refresh,
}


def token(conn: Connection, settings: Settings, form: Mapping[str, str], now: datetime) -> dict[str, Any]:
    if not form.get("grant_type"):
        raise invalid_request("grant_type is required")
    grant = GRANTS.get(form["grant_type"])
    if grant is None:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of: {', '.join(GRANTS)}")
    return grant(conn, settings, form, now)


def _launch_patient(scope: str, patient: str | None) -> str | None:
    return patient if "launch/patient" in scope.split() else None


def _new_refresh(
    conn: Connection,
    region: str,
    family: str,
    client: Client,
    user: User,
    scope: str,
    patient: str | None,
    now: datetime,
) -> str | None:
    if "offline_access" not in scope.split():
        return None
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(refresh_token).values(
            partition=region,
            id=_hash(secret),
            family=family,
            client_id=client.client_id,
            user_id=user.id,
            scope=scope,
            patient=patient,
            expires=_epoch(now + REFRESH_LIFETIME),
            used=False,
        )
    )
    return secret


def _revoke_family(conn: Connection, region: str, family: str) -> None:
    conn.execute(delete(refresh_token).where(refresh_token.c.partition == region, refresh_token.c.family == family))


# ---- revocation (RFC 7009) -------------------------------------------------------------------------------------


def revoke(conn: Connection, settings: Settings, form: Mapping[str, str], now: datetime) -> None:
    """Withdraw an access or refresh token. An unknown, invalid or expired token is answered like a revoked one
    (RFC 7009 §2.2); a token issued to another client is refused."""
    presented = form.get("token")
    if not presented:
        raise invalid_request("token is required")
    client = authenticate_client(conn, settings, form, now) if _names_client(form) else None
    row = conn.execute(
        select(refresh_token).where(
            refresh_token.c.partition == settings.region, refresh_token.c.id == _hash(presented)
        )
    ).first()
    if row is not None:
        if client is None or client.client_id != row.client_id:
            raise OAuthError("unauthorized_client", "A refresh token is revoked by the client it was issued to")
        _revoke_family(conn, settings.region, row.family)
        return
    claims = tokens.signed_claims(presented, tokens.signing_key(settings.secret_dir))
    if claims is None or claims["exp"] <= _epoch(now):
        return
    owner = claims.get("client_id")
    # Holding a token is the right to give it up; only a token bound to a client needs that client to ask.
    if owner is not None and (client is None or client.client_id != owner):
        raise OAuthError("unauthorized_client", "This token was issued to another client")
    tokens.revoke(conn, jti=str(claims["jti"]), expires=int(claims["exp"]), now=now)


def _names_client(form: Mapping[str, str]) -> bool:
    return "client_id" in form or "client_assertion" in form


# ---- authorization codes (the consent screen) ------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked ``GET /oauth/authorize``: what the consent screen shows and, on approval, binds the code to."""

    client: Client
    redirect_uri: str
    state: str
    challenge: str
    asked: tuple[str, ...]
    nonce: str | None = None

    def granted(self, user: User) -> list[str]:
        """The asked scopes this client is registered for and this user's role may hold; `launch/patient` only
        when the user acts for a patient."""
        kept = scopes.narrow(list(self.asked), list(self.client.scope))
        return [
            item for item in kept if scopes.fits_role(item, user.role) and (item != "launch/patient" or user.patient)
        ]


class RedirectableError(OAuthError):
    """An authorization error the client learns through its redirect URI (RFC 6749 §4.1.2.1); errors before the
    redirect URI is trusted are shown to the user instead, never redirected."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state


def check_authorize(conn: Connection, settings: Settings, params: Mapping[str, str]) -> AuthorizeRequest:
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    client = clients.get_client(conn, region=settings.region, client_id=client_id) if client_id else None
    if client is None or client.is_system:
        raise invalid_request("Unknown client_id")
    if redirect_uri not in client.redirect_uris:
        raise invalid_request("redirect_uri is not one registered for this client")
    state = params.get("state", "")

    def refuse(error: str, description: str) -> RedirectableError:
        return RedirectableError(error, description, redirect_uri, state)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be 'code'")
    if params.get("aud", "").rstrip("/") != fhir_base(settings):
        raise refuse("invalid_request", "aud must be this server's FHIR base URL")
    if params.get("code_challenge_method") != "S256" or not pkce.is_challenge(params.get("code_challenge", "")):
        raise refuse("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
    asked = tuple(params.get("scope", "").split())
    if not scopes.narrow(list(asked), list(client.scope)):
        raise refuse("invalid_scope", "None of the requested scopes is registered for this client")
    nonce = params.get("nonce") or None
    if nonce is not None and len(nonce) > id_tokens.NONCE_MAX:
        raise refuse("invalid_request", f"nonce is longer than {id_tokens.NONCE_MAX} characters")
    return AuthorizeRequest(client, redirect_uri, state, params["code_challenge"], asked, nonce)


def issue_code(conn: Connection, settings: Settings, request: AuthorizeRequest, user: User, now: datetime) -> str:
    """A one-time code for ``user``'s approval of ``request``; RedirectableError when nothing can be granted."""
    granted = request.granted(user)
    if not any(item not in scopes.CONTEXT_SCOPES for item in granted):
        raise RedirectableError(
            "invalid_scope", "No requested data scope fits this user", request.redirect_uri, request.state
        )
    patient = user.patient if user.role in (Role.PATIENT, Role.PROXY) else None
    code = secrets.token_urlsafe(32)
    conn.execute(
        insert(oauth_code).values(
            partition=settings.region,
            id=_hash(code),
            client_id=request.client.client_id,
            user_id=user.id,
            redirect_uri=request.redirect_uri,
            challenge=request.challenge,
            scope=" ".join(granted),
            patient=patient,
            expires=_epoch(now + CODE_LIFETIME),
            used=False,
            nonce=request.nonce,
        )
    )
    return code
