"""The vaccination pages: a patient's calendar (`/immunization/{patient}`: every dose done, due, overdue or not yet
due, and the form a nurse or doctor records a vaccination with), and the worklist of attached children with an
overdue dose (`/immunization/overdue`). The chart's panel and the portal's line are drawn from the same forecast
(medcity.records.pages). Each page asks the policy first and reads under the caller's restriction, as the risk
page does; a vaccination is written in one transaction with its audit row, and every form carries the session's
CSRF token."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.policy import CLINICAL
from medcity.auth.sessions import require_csrf
from medcity.immunization import service, views
from medcity.immunization.calendar import calendar
from medcity.kit.errors import Forbidden, InvalidRequest
from medcity.kit.i18n import N_, gettext
from medcity.kit.instants import shown_day
from medcity.prescriptions.rules import local_today
from medcity.records.chart import patient_name
from medcity.store.repository import StoredResource, Tx
from medcity.store.values import now_instant
from medcity.web.pages_kit import package_page, patient_of_page, store_of
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]


def today_of(request: Request) -> date:
    """The region's own day: a dose due from today is due all of today in Moscow."""
    return local_today(store_of(request).region, datetime.now(UTC))


def forecast_of(access: Access, tx: Tx, patient: StoredResource, today: date) -> list[service.DoseState]:
    """The calendar of a patient the caller was allowed to read, from the Immunizations they may see."""
    birth = service.birth_of(patient.resource)
    if birth is None:
        return []
    return service.forecast(birth, service.immunizations_of(tx, patient.id, access.restriction_for(tx, patient.id)),
                            today)  # fmt: skip


def _calendar_page(
    request: Request, access: Access, patient_id: str, *, error: str = "", status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    lang = request_language(request)
    today = today_of(request)
    with store_of(request).reader() as tx:
        patient = patient_of_page(tx, access, patient_id)
        states = forecast_of(access, tx, patient, today)
    access.record("read", "Patient", patient_id)
    shown = views.rows(states, lang)
    # The form offers the doses still to give first, the calendar's order kept.
    open_first = sorted(shown, key=lambda r: r.state in ("done", "missed"))
    context = {
        "patient": patient_id, "patient_name": patient_name(patient.resource) or patient_id, "rows": shown,
        "no_birth_date": service.birth_of(patient.resource) is None, "error": error,
        "saved": request.query_params.get("saved") == "1", "can_record": access.principal.role in CLINICAL,
        "choices": [(r.code, f"{r.infection}: {r.dose}") for r in open_first if r.state != "done"],
        "sites": [(code, gettext(label, lang)) for code, label in service.SITES.items()],
        "outcomes": [(code, gettext(label, lang)) for code, label in service.NOT_GIVEN.items()],
        "source": calendar().source,
        "values": {"dose": request.query_params.get("dose", ""), "day": today.isoformat(), "lot": "", "site": "",
                   "outcome": "given", **(values or {})},
    }  # fmt: skip
    response = package_page(request, "immunization", "calendar.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/immunization/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, access: PageAccess) -> Response:
    organization = access.principal.organization
    if access.principal.role not in CLINICAL or not organization:
        text = N_("The overdue vaccinations are a worklist of a polyclinic's doctors and nurses")
        raise Forbidden(gettext(text, request_language(request)))
    access.require("search", "Patient")
    access.require("search", "Immunization")
    lang = request_language(request)
    with store_of(request).reader() as tx:
        behind = service.overdue_children(tx, organization=organization, today=today_of(request),
                                          restrict=access.restriction)  # fmt: skip
    for found in behind:
        access.record("read", "Patient", found.patient.id)
    listed: list[dict[str, Any]] = [
        {"patient": b.patient.id, "name": patient_name(b.patient.resource) or b.patient.id,
         "born": shown_day(b.patient.resource.get("birthDate")), "doses": views.rows(b.doses, lang)}
        for b in behind
    ]  # fmt: skip
    response = package_page(request, "immunization", "overdue.html",
                            {"children": listed, "limit": service.WORKLIST_ROWS})  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/immunization/{patient_id}", response_class=HTMLResponse)
def calendar_page(request: Request, patient_id: str, access: PageAccess) -> Response:
    return _calendar_page(request, access, patient_id)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(N_("Enter the vaccination date as a date")) from None


@router.post("/immunization/{patient_id}", dependencies=[Depends(require_csrf)])
def record_vaccination(
    request: Request,
    patient_id: str,
    access: PageAccess,
    dose: Annotated[str, Form(max_length=20)] = "",
    day: Annotated[str, Form(max_length=20)] = "",
    lot: Annotated[str, Form(max_length=200)] = "",
    site: Annotated[str, Form(max_length=8)] = "",
    outcome: Annotated[str, Form(max_length=10)] = "given",
) -> Response:
    values = {"dose": dose, "day": day, "lot": lot, "site": site, "outcome": outcome}
    # Whoever may not record vaccinations at all (a patient, a parent) is refused before the form is judged.
    access.require("create", "Immunization")
    try:
        with store_of(request).transaction() as tx:
            patient = patient_of_page(tx, access, patient_id)
            performer = service.performer_of(tx, practitioner=access.principal.practitioner,
                                             organization=access.principal.organization)  # fmt: skip
            record = service.Record(patient=patient_id, dose=dose, day=_day(day), lot=lot, site=site,
                                    performer=performer, not_given="" if outcome == "given" else outcome)  # fmt: skip
            body = service.build(record, birth=service.birth_of(patient.resource), today=today_of(request),
                                 recorded=now_instant())  # fmt: skip
            access.require("create", "Immunization", body, tx=tx)
            created = tx.create(body).stored
            access.record("create", created.type, created.id, tx=tx, patient=patient_id)
    except InvalidRequest as refused:
        lang = request_language(request)
        return _calendar_page(request, access, patient_id, error=refused.say(lang), status=400, values=values)
    return RedirectResponse(f"/immunization/{patient_id}?saved=1", status_code=303)
