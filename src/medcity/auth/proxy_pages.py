"""The represented person's side of a proxy request: ``/proxy/confirm`` lists who asks to act for them, and
takes the one-time code that makes the proxy active (``medcity.auth.proxy``); and the proxy's side:
``/portal/act-for`` moves a parent's account to another child it represents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from medcity.auth import proxy
from medcity.auth.sessions import WebSession, current_user, require_csrf
from medcity.auth.users import Role, User
from medcity.kit.errors import Forbidden, Unauthenticated
from medcity.kit.i18n import N_
from medcity.store.repository import Store
from medcity.web.render import add_template_package, render

router = APIRouter(include_in_schema=False)


def _represented(user: User | None) -> str:
    """The logged-in person's own Patient id: only they may confirm who acts for them."""
    if user is None:
        raise Unauthenticated(N_("Please log in"))
    if user.role != Role.PATIENT or not user.patient:
        raise Forbidden(N_("Only the represented person confirms a proxy, in their own account"))
    return user.patient


def _page(request: Request, patient: str, outcome: str | None = None, proxy_name: str | None = None) -> HTMLResponse:
    store: Store = request.app.state.store
    with store.reader() as tx:
        waiting = proxy.pending(tx, patient=patient, now=datetime.now(UTC))
    add_template_package("medcity.auth")
    context = {"waiting": waiting, "outcome": outcome, "proxy_name": proxy_name}
    response = render(request, "auth/proxy_confirm.html", context, status_code=400 if outcome == "wrong" else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/proxy/confirm", response_class=HTMLResponse)
async def confirm_form(request: Request) -> HTMLResponse:
    patient = _represented(await run_in_threadpool(current_user, request))
    return await run_in_threadpool(_page, request, patient)


def _confirm(request: Request, patient: str, code: str) -> HTMLResponse:
    store: Store = request.app.state.store
    # Committed whether the code is right or not: a wrong one must count against the request.
    with store.transaction() as tx:
        confirmed = proxy.confirm(tx, patient=patient, code=code, now=datetime.now(UTC))
    if confirmed is None:
        return _page(request, patient, "wrong")
    return _page(request, patient, "confirmed", confirmed.username)


@router.post("/proxy/confirm", response_class=HTMLResponse)
async def confirm(
    request: Request,
    session: Annotated[WebSession, Depends(require_csrf)],
    code: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    return await run_in_threadpool(_confirm, request, _represented(session.user), code)


@router.post("/portal/act-for")
async def act_for(
    request: Request,
    patient: Annotated[str, Form(max_length=64)],
    session: Annotated[WebSession, Depends(require_csrf)],
) -> RedirectResponse:
    """A parent of several children switches to another one: what the portal shows and the API answers from now
    on is that child's record."""
    user = session.user
    if user.role != Role.PROXY:
        raise Forbidden(N_("Only a representative switches between the people they represent"))
    store: Store = request.app.state.store

    def switch() -> None:
        with store.transaction() as tx:
            proxy.act_for(tx, user, patient)

    await run_in_threadpool(switch)
    return RedirectResponse(f"/portal/{patient}", status_code=303)
