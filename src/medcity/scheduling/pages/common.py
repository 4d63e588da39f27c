"""What every scheduling page shares: who the logged-in user acts for, rendering, and running an action in one
transaction with a refusal shown as a page in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access
from medcity.kit.errors import Forbidden, InvalidRequest, MedcityError
from medcity.kit.i18n import N_
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store, Tx
from medcity.web.render import add_template_package, render, request_language

# Every change to a patient's bookings — book, move, cancel, the waiting list, check-in — is decided as the right
# to book for that patient: a patient or proxy for their own (or their child's) record, the registry for anyone.
BOOKING = "operation:book"
SCHEDULE = "operation:publish"
STAFF = frozenset({"registrar", "doctor", "nurse", "admin"})


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    # Registered on first use rather than at import, so that merely importing the FHIR api changes no renderer.
    add_template_package("medcity.scheduling")
    return render(request, f"scheduling/{template}", context, status_code=status_code)


def see(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def own_patient(access: Access) -> str:
    """The patient a patient or proxy user books for: themselves, or the child they represent."""
    principal = access.principal
    if principal.role not in ("patient", "proxy") or not principal.patient:
        raise Forbidden(N_("These pages are for patients and their representatives"))
    access.require(BOOKING, "Patient", principal.patient)
    return principal.patient


def staff_organization(access: Access, *roles: str) -> str:
    """The organisation a staff user works for, when their role is one of `roles`."""
    principal = access.principal
    if principal.role not in roles or not principal.organization:
        raise Forbidden(N_("This page is for the staff of a polyclinic"))
    return principal.organization


def act(
    request: Request, action: Callable[[Tx], Any], *, back: str, then: Response | Callable[[], Response]
) -> Response:
    """Run `action` in one transaction, then answer `then` (called after, when it needs what the action made); a
    refusal is shown on a page with the reason and a way back."""
    try:
        with store_of(request).transaction() as tx:
            action(tx)
    except MedcityError as refused:
        return page(request, "refused.html", {"reason": refused.say(request_language(request)), "back": back},
                    status_code=refused.status)  # fmt: skip
    return then if isinstance(then, Response) else then()


def local_day(tx: Tx, day: str | None) -> date:
    zone = rules_for(tx.region).timezone
    try:
        return date.fromisoformat(day) if day else datetime.now(zone).date()
    except ValueError:
        raise InvalidRequest(N_("A day is written YYYY-MM-DD")) from None
