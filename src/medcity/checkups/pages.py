"""`/checkups`: a polyclinic doctor's or nurse's worklist of the year's диспансеризация: how many attached adults
are due it, how many have had it, and the others, the oldest first, with whether they were invited; one button
invites them all (once a year each, as a notice through the patient's channel). The patient's own line is in the
portal (medcity.records.pages). The adults are read under the caller's restriction and each one shown is audited;
an invitation is written with its audit row, and the form carries the session's CSRF token."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.policy import CLINICAL
from medcity.auth.sessions import require_csrf
from medcity.checkups import service
from medcity.immunization.pages import today_of
from medcity.immunization.service import birth_of
from medcity.kit.errors import Forbidden
from medcity.kit.i18n import N_
from medcity.kit.instants import shown_day
from medcity.records.chart import patient_name
from medcity.web.pages_kit import package_page, store_of

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]


def _organization(access: Access) -> str:
    organization = access.principal.organization
    if access.principal.role not in CLINICAL or not organization:
        raise Forbidden(N_("The check-ups worklist is a polyclinic's doctors' and nurses'"))
    access.require("search", "Patient")
    access.require("search", "Condition")
    return organization


def _coverage(request: Request, access: Access, organization: str, today: date) -> service.Coverage:
    with store_of(request).reader() as tx:
        found = service.coverage(tx, organization=organization, today=today, restrict=access.restriction)
    for due in found.waiting:
        access.record("read", "Patient", due.patient.id)
    return found


@router.get("/checkups", response_class=HTMLResponse)
def checkups_page(request: Request, access: PageAccess) -> Response:
    today = today_of(request)
    found = _coverage(request, access, _organization(access), today)
    rows = [{"patient": d.patient.id, "name": patient_name(d.patient.resource) or d.patient.id,
             "born": shown_day(d.patient.resource.get("birthDate")),
             "age": today.year - birth.year if (birth := birth_of(d.patient.resource)) else "", "invited": d.invited}
            for d in found.waiting]  # fmt: skip
    share = round(100 * found.done / found.due) if found.due else 0
    context = {"year": today.year, "due": found.due, "done": found.done, "share": share, "rows": rows,
               "limit": service.WORKLIST_ROWS, "invited": request.query_params.get("invited")}  # fmt: skip
    response = package_page(request, "checkups", "worklist.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/checkups/invite", dependencies=[Depends(require_csrf)])
def invite_all(request: Request, access: PageAccess) -> Response:
    """Invite everyone the worklist shows who was not invited this year yet."""
    today = today_of(request)
    found = _coverage(request, access, _organization(access), today)
    sent = 0
    with store_of(request).transaction() as tx:
        for due in found.waiting:
            if not due.invited and service.invite(tx, patient=due.patient, year=today.year):
                access.record("create", "Communication", service.invitation_id(due.patient.id, today.year), tx=tx,
                              patient=due.patient.id)  # fmt: skip
                sent += 1
    return RedirectResponse(f"/checkups?invited={sent}", status_code=303)
