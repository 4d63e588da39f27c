"""The represented person's side of a proxy request: ``/proxy/confirm`` lists who asks to act for them, and
takes the one-time code that makes the proxy active (``medcity.auth.proxy``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
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
