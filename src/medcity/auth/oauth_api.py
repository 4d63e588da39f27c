"""The OAuth 2.0 endpoints: ``POST /oauth/token``, ``POST /oauth/revoke`` and the consent screen at
``/oauth/authorize``. Errors are RFC 6749 JSON (400, or 401 for a client that failed to authenticate), never an
OperationOutcome and never a 500; the grants themselves are in ``medcity.auth.oauth``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict

from medcity.auth import oauth, scopes
from medcity.auth.oauth_errors import OAuthError, invalid_client, invalid_request
from medcity.auth.sessions import WebSession, current_user, require_csrf
from medcity.auth.users import User
from medcity.kit.config import Settings
from medcity.kit.db import WRITE, reading
from medcity.web.errors import login_redirect
from medcity.web.render import add_template_package, render

router = APIRouter(include_in_schema=False)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_VALUE = 8192
_AUTHORIZE_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state", "aud", "code_challenge",
                     "code_challenge_method", "nonce")  # fmt: skip
T = TypeVar("T")


def _single_values(items: ImmutableMultiDict[str, Any] | Any) -> dict[str, str]:
    """The parameters as a dict; a repeated or oversized parameter is invalid_request (RFC 6749 §3.1)."""
    values: dict[str, str] = {}
    for name, value in items.multi_items():
        if not isinstance(value, str) or name in values or len(value) > _MAX_VALUE:
            raise invalid_request(f"The parameter '{str(name)[:40]}' is repeated, too long or not text")
        values[name] = value
    return values


async def _form(request: Request) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise invalid_request("The body must be application/x-www-form-urlencoded")
    return _single_values(await request.form())


def _oauth_error(error: OAuthError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=_NO_STORE)


def _in_write_transaction(request: Request, work: Callable[[Connection, Settings, datetime], T]) -> T:
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            return work(conn, settings, datetime.now(UTC))
    except IntegrityError:
        # Only the assertion replay guard's primary key can clash here: two requests with one jti raced.
        raise invalid_client("This client assertion was used already (jti replayed)") from None


def _commit_refusals(request: Request, work: Callable[[Connection, Settings, datetime], T]) -> T:
    """Run ``work``; an OAuthError still commits what was written before it (a replayed code's revocations)."""
    failure: list[OAuthError] = []

    def guarded(conn: Connection, settings: Settings, now: datetime) -> T | None:
        try:
            return work(conn, settings, now)
        except OAuthError as error:
            failure.append(error)
            return None

    result = _in_write_transaction(request, guarded)
    if failure:
        raise failure[0]
    assert result is not None
    return result


@router.post("/oauth/token")
async def token(request: Request) -> Response:
    try:
        form = await _form(request)
        body = await run_in_threadpool(
            _commit_refusals, request, lambda conn, settings, now: oauth.token(conn, settings, form, now)
        )
    except OAuthError as error:
        return _oauth_error(error)
    return JSONResponse(body, headers=_NO_STORE)


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    try:
        form = await _form(request)
        await run_in_threadpool(
            _in_write_transaction, request, lambda conn, settings, now: oauth.revoke(conn, settings, form, now)
        )
    except OAuthError as error:
        return _oauth_error(error)
    return Response(status_code=200, headers=_NO_STORE)


# ---- the consent screen ----------------------------------------------------------------------------------------


def _redirect_with(uri: str, params: Mapping[str, str]) -> RedirectResponse:
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode({k: v for k, v in params.items() if v})}", status_code=303)


def _refusal(request: Request, error: OAuthError) -> Response:
    if isinstance(error, oauth.RedirectableError):
        fields = {"error": error.error, "error_description": error.description, "state": error.state}
        return _redirect_with(error.redirect_uri, fields)
    add_template_package("medcity.auth")
    return render(request, "auth/oauth_error.html", {"description": error.description}, status_code=400)


def _check(request: Request, params: dict[str, str]) -> oauth.AuthorizeRequest:
    engine: Engine = request.app.state.engine
    with reading(engine) as conn:
        return oauth.check_authorize(conn, request.app.state.settings, params)


def _scope_items(granted: list[str]) -> list[dict[str, str]]:
    """What the template needs to word each scope in the page's language."""
    items = []
    for code in granted:
        context, _, rest = code.partition("/")
        rtype, _, letters = rest.partition(".")
        kind = code if code in scopes.CONTEXT_SCOPES else context
        items.append({"code": code, "kind": kind, "type": rtype, "letters": letters})
    return items


@router.get("/oauth/authorize", response_class=HTMLResponse)
async def authorize(request: Request) -> Response:
    try:
        params = _single_values(request.query_params)
        checked = await run_in_threadpool(_check, request, params)
    except OAuthError as error:
        return _refusal(request, error)
    user: User | None = await run_in_threadpool(current_user, request)
    if user is None:
        return login_redirect(request)
    granted = checked.granted(user)
    if not any(item not in scopes.CONTEXT_SCOPES for item in granted):
        return _refusal(request, oauth.RedirectableError("invalid_scope", "No requested data scope fits this user",
                                                         checked.redirect_uri, checked.state))  # fmt: skip
    add_template_package("medcity.auth")
    fields = {name: params[name] for name in _AUTHORIZE_FIELDS if name in params}
    context = {"client_name": checked.client.name, "scopes": _scope_items(granted), "fields": fields}
    response = render(request, "auth/consent.html", context)
    response.headers["Cache-Control"] = "no-store"
    # The consent screen must not be framed by another site (clickjacking the "Allow" button).
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


@router.post("/oauth/authorize")
async def decide(request: Request, session: Annotated[WebSession, Depends(require_csrf)]) -> Response:
    try:
        params = _single_values(await request.form())
        checked = await run_in_threadpool(_check, request, params)
        if params.get("decision") != "allow":
            raise oauth.RedirectableError("access_denied", "The user declined", checked.redirect_uri, checked.state)
        code = await run_in_threadpool(
            _in_write_transaction,
            request,
            lambda conn, settings, now: oauth.issue_code(conn, settings, checked, session.user, now),
        )
    except OAuthError as error:
        return _refusal(request, error)
    return _redirect_with(checked.redirect_uri, {"code": code, "state": checked.state})
