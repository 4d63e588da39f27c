"""Browser sessions for web login, and the CSRF check every state-changing form goes through.

The cookie ``medcity_session`` carries a random 32-byte token; the table ``web_session`` keeps only its SHA-256,
so reading the table gives nobody a session. A session ends at ``expires`` (absolute lifetime) or after ``IDLE``
without a request, whichever comes first, and at logout (the row is deleted, so the old cookie is worthless).

CSRF: each session has a secret (``csrf``) that forms carry in the hidden field ``csrf_token`` (or scripts in the
``X-CSRF-Token`` header): a synchroniser token, compared in constant time by ``require_csrf``. The login form,
which has no session yet, uses a double-submit cookie instead (see ``medcity.auth.pages``).

Pages use ``current_user(request)`` to know who is there, and ``Depends(require_csrf)`` on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Header, HTTPException, Request
from sqlalchemy import Connection, Engine, delete, insert, select, update

from medcity.auth.tables import app_user, web_session
from medcity.auth.users import User, _to_user
from medcity.kit import instants
from medcity.kit.db import WRITE, reading

COOKIE = "medcity_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=8)
IDLE = timedelta(minutes=30)
# last_seen is written at most this often, so that ordinary page views do not each cost a write.
TOUCH_EVERY = timedelta(minutes=1)

_STATE = "medcity_web_session"  # request.state attribute caching the session for the request


@dataclass(frozen=True)
class WebSession:
    key: str  # the stored hash, never the token itself
    user: User
    csrf: str
    expires: datetime
    last_seen: datetime


def _instant(moment: datetime) -> str:
    return instants.to_text(moment)


def _parse(text: str) -> datetime:
    return instants.from_text(text)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create_session(conn: Connection, *, region: str, user: User, now: datetime) -> tuple[str, WebSession]:
    """A new session for ``user``: the token for the cookie, and the session. Always a fresh random token."""
    token = secrets.token_urlsafe(32)
    session = WebSession(_key(token), user, secrets.token_urlsafe(32), now + LIFETIME, now)
    conn.execute(
        insert(web_session).values(
            partition=region,
            id=session.key,
            user_id=user.id,
            created=_instant(now),
            expires=_instant(session.expires),
            last_seen=_instant(now),
            csrf=session.csrf,
        )
    )
    return token, session


def load_session(conn: Connection, *, region: str, token: str, now: datetime) -> WebSession | None:
    """The live session for ``token``; None when unknown, expired, idle too long, or its user is disabled."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        select(web_session.c.id, web_session.c.csrf, web_session.c.expires, web_session.c.last_seen, app_user)
        .join(app_user, (app_user.c.partition == web_session.c.partition) & (app_user.c.id == web_session.c.user_id))
        .where(web_session.c.partition == region, web_session.c.id == _key(token))
    ).first()
    if row is None:
        return None
    mapping: Any = row._mapping
    expires, last_seen = _parse(mapping["expires"]), _parse(mapping["last_seen"])
    if now >= expires or now >= last_seen + IDLE or not mapping["active"]:
        return None
    user_row = {column.name: mapping[app_user.c[column.name]] for column in app_user.columns}
    return WebSession(mapping[web_session.c.id], _to_user(user_row), mapping["csrf"], expires, last_seen)


def touch_session(conn: Connection, *, region: str, session: WebSession, now: datetime) -> None:
    conn.execute(
        update(web_session)
        .where(web_session.c.partition == region, web_session.c.id == session.key)
        .values(last_seen=_instant(now))
    )


def delete_session(conn: Connection, *, region: str, token: str) -> None:
    conn.execute(delete(web_session).where(web_session.c.partition == region, web_session.c.id == _key(token)))


def purge_expired(conn: Connection, *, region: str, now: datetime) -> int:
    """Delete sessions past their absolute lifetime; returns how many."""
    result = conn.execute(
        delete(web_session).where(web_session.c.partition == region, web_session.c.expires <= _instant(now))
    )
    return result.rowcount or 0


def current_session(request: Request) -> WebSession | None:
    """The request's live session, read once per request; touches ``last_seen`` when it is getting old."""
    # A one-tuple, so that "read, and there is no session" differs from "not read yet".
    cached: tuple[WebSession | None] | None = getattr(request.state, _STATE, None)
    if cached is not None:
        return cached[0]
    session = None
    token = request.cookies.get(COOKIE)
    if token:
        engine: Engine = request.app.state.engine
        region: str = request.app.state.settings.region
        now = datetime.now(UTC)
        with reading(engine) as conn:
            session = load_session(conn, region=region, token=token, now=now)
        if session is not None and now - session.last_seen >= TOUCH_EVERY:
            with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                touch_session(conn, region=region, session=session, now=now)
    setattr(request.state, _STATE, (session,))
    return session


def forget_session(request: Request) -> None:
    """Drop the per-request cache (after login or logout changed the session)."""
    setattr(request.state, _STATE, None)


def current_user(request: Request) -> User | None:
    """The logged-in user of this browser, or None."""
    session = current_session(request)
    return session.user if session is not None else None


def require_csrf(
    request: Request,
    csrf_token: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> WebSession:
    """Dependency for every state-changing page route: the session, when the form (or header) carries its CSRF
    token; otherwise 403, before the route does anything."""
    session = current_session(request)
    sent = csrf_token or x_csrf_token or ""
    if session is None or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token, or no session")
    return session


def template_context(request: Request) -> dict[str, Any]:
    """What base.html needs for its header: the user (or None) and the token its logout form posts."""
    session = current_session(request)
    return {"web_user": session.user if session else None, "session_csrf": session.csrf if session else ""}
