"""Errors on web pages: people get a page in their language, or the login form, never a JSON body."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.breakglass import page_url
from medcity.kit.errors import Forbidden, MedcityError, NotFound, Unauthenticated
from medcity.web.render import render, request_language


def login_redirect(request: Request) -> Response:
    """To the login form, and back here after it (htmx follows ``HX-Redirect`` instead of a 303)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"/login?next={quote(here, safe='')}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, exc: MedcityError) -> Response:
    """The page for an error a domain raised while serving a page."""
    if isinstance(exc, Unauthenticated):
        return login_redirect(request)
    kind = "forbidden" if isinstance(exc, Forbidden) else "not-found" if isinstance(exc, NotFound) else "other"
    # Refused for want of a care relationship (medcity.auth.gate.OutsideCare): offer the break-glass form.
    patient = getattr(exc, "patient", None) if isinstance(exc, Forbidden) else None
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context = {
        "kind": kind,
        "message": exc.say(request_language(request)),
        "break_glass": page_url(patient, here) if patient else None,
    }
    response: HTMLResponse = render(request, "error.html", context, status_code=exc.status)
    return response
