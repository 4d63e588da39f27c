"""Web login and logout.

``POST /login`` checks the password (argon2id, lockout after repeated failures: ``medcity.auth.users``) and on
success always starts a *new* session, deleting any the browser sent, so a session id planted before login
(session fixation) is never promoted. The login form has no session to tie a CSRF token to, so it uses a
double-submit cookie (``medcity_login_csrf``, HttpOnly, SameSite=Strict, Path=/login) matched by a hidden field.
``POST /logout`` needs the session's CSRF token, deletes the session row and clears the cookie.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.sessions import (
    COOKIE,
    LIFETIME,
    create_session,
    delete_session,
    forget_session,
    require_csrf,
    template_context,
)
from medcity.auth.users import User, authenticate
from medcity.kit.db import WRITE
from medcity.kit.errors import Unauthenticated
from medcity.registry.catalogue import organization_kind
from medcity.web.render import add_context_processor, add_template_package, render

LOGIN_CSRF_COOKIE = "medcity_login_csrf"
_LOGIN_PATH = "/login"

router = APIRouter(include_in_schema=False)

# Every page's header shows who is logged in (base.html), so the processor is registered with the pages.
add_context_processor(template_context)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_page(
    request: Request, token: str, *, error: str | None = None, username: str = "", next_path: str | None = None
) -> HTMLResponse:
    add_template_package("medcity.auth")
    context: dict[str, Any] = {"csrf_token": token, "error": error, "username": username, "next": next_path}
    response = render(request, "auth/login.html", context, status_code=401 if error else 200)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, path=_LOGIN_PATH, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


def _login_token(request: Request) -> str:
    """The browser's pre-session CSRF token when it has a sane one; else a new one."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return token if 32 <= len(token) <= 64 and token.isascii() else secrets.token_urlsafe(32)


# Where each role lands after login when the page it came from is not known. Domain packages add their pages
# here (``ROLE_HOME[role] = path``) as they mount them.
ROLE_HOME: dict[str, str] = {}
# Where a role lands instead when its organisation is of a kind (registry's catalogue) that works elsewhere: a
# hospital's doctor lands on the ward, not the polyclinic's day list.
KIND_HOME: dict[tuple[str, str], str] = {}


def home_of(request: Request, user: User) -> str:
    if user.organization and any(role == user.role.value for role, _kind in KIND_HOME):
        with request.app.state.store.reader() as tx:
            found = tx.current("Organization", user.organization)
        kind = organization_kind(found.resource) if found is not None and not found.deleted else None
        if kind is not None and (user.role.value, kind) in KIND_HOME:
            return KIND_HOME[(user.role.value, kind)]
    return ROLE_HOME.get(user.role.value, "/")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site; None for anything else (an open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target if len(target) <= 2000 and target.isprintable() else None


def _failure_reason(exc: Unauthenticated) -> str:
    # Kinds, not texts, reach the template: it words them in the page's language.
    message = str(exc)
    if "locked" in message:
        return "locked"
    if "disabled" in message:
        return "disabled"
    return "wrong"


@router.get(_LOGIN_PATH, response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, _login_token(request), next_path=safe_next(next))


@router.post(_LOGIN_PATH, response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(csrf_token.encode(), cookie.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token on the login form")
    engine = request.app.state.engine
    region: str = request.app.state.settings.region
    now = datetime.now(UTC)
    failure: Unauthenticated | None = None
    # One write transaction that commits on failure too: the failed-login count must stick.
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        try:
            user = authenticate(conn, region=region, username=username.strip(), password=password, now=now)
        except Unauthenticated as exc:
            failure = exc
        else:
            planted = request.cookies.get(COOKIE)
            if planted:  # never reuse what the browser sent: end it, and start afresh
                delete_session(conn, region=region, token=planted)
            token, _session = create_session(conn, region=region, user=user, now=now)
    forget_session(request)
    if failure is not None:
        return _login_page(
            request, cookie, error=_failure_reason(failure), username=username.strip(), next_path=safe_next(next)
        )
    response = RedirectResponse(safe_next(next) or home_of(request, user), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=_LOGIN_PATH)
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    engine = request.app.state.engine
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        delete_session(conn, region=request.app.state.settings.region, token=token)
    forget_session(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response
