"""`/break-glass/{patient}`: the form where a doctor or nurse gives the reason to open a record outside their care.

Other pages link here with `medcity.auth.breakglass.page_url(patient, next_path)` (and the error page does so by
itself when the policy refuses a page for want of a care relationship); after the reason is given the browser goes
back to `next`, which the policy now opens for `Settings.break_glass_minutes`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth import breakglass
from medcity.auth.gate import Access, page_access
from medcity.auth.pages import safe_next
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import Forbidden, InvalidRequest
from medcity.kit.i18n import N_
from medcity.web.render import add_template_package, render

router = APIRouter(include_in_schema=False)
add_template_package("medcity.auth")


def _form(request: Request, access: Access, patient: str, next_path: str, error: bool, status: int) -> HTMLResponse:
    if not access.may_break_glass:
        raise Forbidden(N_("Access denied: only doctors and nurses may break the glass"))
    context = {"patient": patient, "next": next_path, "error": error, "minutes": access.break_glass_minutes,
               "min_length": breakglass.MIN_REASON, "max_length": breakglass.MAX_REASON}  # fmt: skip
    response: HTMLResponse = render(request, "auth/break_glass.html", context, status_code=status)
    return response


@router.get("/break-glass/{patient}", response_class=HTMLResponse)
def break_glass_form(
    patient: str, request: Request, access: Annotated[Access, Depends(page_access)], next: str | None = None
) -> HTMLResponse:
    return _form(request, access, patient, safe_next(next) or "/", error=False, status=200)


@router.post("/break-glass/{patient}", dependencies=[Depends(require_csrf)])
def break_glass(
    patient: str,
    request: Request,
    access: Annotated[Access, Depends(page_access)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = safe_next(next) or "/"
    try:
        access.break_glass(patient, reason)
    except InvalidRequest:
        return _form(request, access, patient, target, error=True, status=400)
    return RedirectResponse(target, status_code=303)
