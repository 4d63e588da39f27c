"""The record's web pages: the chart for doctors and nurses, the patient portal (also a parent's view of their
child), the record as a PDF, and the analysts' page of the diagnosis assistant's accuracy in production.

Every page that shows a record asks the policy for the Patient first (another patient's record answers 404, as
an unknown id does, and the refusal is audited), reads the record under the caller's restriction, and records
one audit row for the opening.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.ai.tables import accuracy_by
from medcity.auth import proxy
from medcity.auth.gate import Access, page_access
from medcity.auth.pages import ROLE_HOME
from medcity.auth.users import Role
from medcity.checkups.rules import KIND_NAMES
from medcity.checkups.service import own_checkup
from medcity.immunization import pages as immunization_pages
from medcity.immunization import views as immunization_views
from medcity.immunization.service import DoseState, birth_of, forecast
from medcity.kit.db import reading
from medcity.kit.errors import Forbidden
from medcity.kit.i18n import N_, gettext
from medcity.kit.instants import shown_day
from medcity.records import pdf, portal
from medcity.records.chart import Chart, load_chart
from medcity.registry.catalogue import SPECIALTIES
from medcity.risk import pages as risk_pages
from medcity.risk.views import Panel as RiskPanel
from medcity.scheduling.display import Names
from medcity.store.repository import Store
from medcity.web.render import add_template_package, render, request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]

ROLE_HOME[Role.PATIENT.value] = "/portal"
ROLE_HOME[Role.PROXY.value] = "/portal"
ROLE_HOME[Role.ANALYST.value] = "/analytics/suggestions"


def _open_chart(request: Request, access: Access, patient_id: str, *, portal: bool = False) -> Chart:
    store: Store = request.app.state.store
    with store.reader() as tx:
        patient = tx.read("Patient", patient_id)
        access.require("read", "Patient", patient)
        chart = load_chart(tx, patient=patient, restrict=access.restriction_for(tx, patient_id), released_only=portal)
    access.record("read", "Patient", patient_id)
    return chart


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    add_template_package("medcity.records")
    add_template_package("medcity.risk")  # the chart's risk panel
    add_template_package("medcity.immunization")  # the chart's vaccination panel
    lang = request_language(request)
    words = {"visit_kind": partial(portal.visit_kind, lang=lang), "flag_label": partial(portal.flag_label, lang=lang),
             "flag_note": partial(portal.flag_note, lang=lang)}  # fmt: skip
    response = render(request, f"records/{template}", {**words, **context})
    response.headers["Cache-Control"] = "no-store"  # a record must not stay in shared or back-button caches
    return response


def _risk(request: Request, access: Access, chart: Chart) -> RiskPanel:
    """The risk panel of the chart's patient (already allowed), from what the caller may see of the record."""
    store: Store = request.app.state.store
    with store.reader() as tx:
        return risk_pages.panel_of(request, access, tx, chart.patient, read=chart.resources)


def _vaccinations(request: Request, chart: Chart) -> list[DoseState]:
    """The calendar of the chart's patient (already allowed), from the Immunizations the chart read."""
    birth = birth_of(chart.patient.resource)
    return forecast(birth, chart.resources, immunization_pages.today_of(request)) if birth else []


def _pdf(request: Request, chart: Chart) -> Response:
    body = pdf.record_pdf(chart, lang=request_language(request))
    headers = {"Content-Disposition": 'attachment; filename="record.pdf"', "Cache-Control": "no-store"}
    return Response(body, media_type="application/pdf", headers=headers)


# ---- the chart ----------------------------------------------------------------------------------------------


@router.get("/chart/{patient_id}", response_class=HTMLResponse)
def chart_page(request: Request, patient_id: str, access: PageAccess) -> Response:
    chart = _open_chart(request, access, patient_id)
    vaccination = immunization_views.panel(chart.patient.id, _vaccinations(request, chart),
                                           request_language(request))  # fmt: skip
    return _page(request, "chart.html", {"chart": chart, "risk": _risk(request, access, chart),
                                         "vaccination": vaccination})  # fmt: skip


@router.get("/chart/{patient_id}/record.pdf")
def chart_pdf(request: Request, patient_id: str, access: PageAccess) -> Response:
    return _pdf(request, _open_chart(request, access, patient_id))


# ---- the portal ---------------------------------------------------------------------------------------------


def _own_patient(access: Access) -> str:
    """The patient the account is (or, for a parent, represents)."""
    if not access.principal.patient:
        raise Forbidden(
            N_("The portal is for patients and their representatives; this account is linked to no patient")
        )
    return access.principal.patient


@router.get("/portal", response_class=HTMLResponse)
def portal_home(access: PageAccess) -> Response:
    return RedirectResponse(f"/portal/{_own_patient(access)}", status_code=303)


@router.get("/portal/record.pdf")
def portal_own_pdf(request: Request, access: PageAccess) -> Response:
    return _pdf(request, _open_chart(request, access, _own_patient(access), portal=True))


@router.get("/portal/{patient_id}", response_class=HTMLResponse)
def portal_page(request: Request, patient_id: str, access: PageAccess) -> Response:
    chart = _open_chart(request, access, patient_id, portal=True)
    represented = _represented(request, access) if access.principal.role == Role.PROXY.value else []
    risk = _risk(request, access, chart)
    birth = birth_of(chart.patient.resource)
    next_vaccination = (immunization_views.next_text(_vaccinations(request, chart), birth,
                                                     request_language(request)) if birth else "")  # fmt: skip
    checkup = own_checkup(chart.patient.resource, chart.resources, immunization_pages.today_of(request))
    if checkup:  # said in the reader's words
        lang = request_language(request)
        checkup = {"kind": gettext(KIND_NAMES[checkup["kind"]], lang), "done": shown_day(checkup["done"])}
    return _page(request, "portal.html", {"chart": chart, "represented": represented, "score2": risk.score2,
                                          "next_vaccination": next_vaccination, "checkup": checkup})  # fmt: skip


def _represented(request: Request, access: Access) -> list[dict[str, str]]:
    """Everyone a representative may act for (a parent's children), the one acted for now among them; the names of
    the others are shown to the person who represents them, as the registry desk linked them."""
    store: Store = request.app.state.store
    with store.reader() as tx:
        # The person acted for now is among them: the gate lets a proxy act only for one it holds an active link to.
        people = proxy.represented(tx, access.principal.username or "")
        names = Names(tx)
        return [{"id": pid, "name": names.of("Patient", pid)} for pid in people]


@router.get("/portal/{patient_id}/record.pdf")
def portal_pdf(request: Request, patient_id: str, access: PageAccess) -> Response:
    return _pdf(request, _open_chart(request, access, patient_id, portal=True))


# ---- analytics ----------------------------------------------------------------------------------------------


@router.get("/analytics/suggestions", response_class=HTMLResponse)
def suggestions_accuracy(request: Request, access: PageAccess) -> Response:
    # Aggregates only (counts and shares, no patient, no text), decided as `Condition/$suggest-accuracy` is.
    access.require("operation:suggest-accuracy", "Condition")
    with reading(request.app.state.engine) as conn:
        region: str = request.app.state.settings.region
        rows = accuracy_by(conn, region=region, group_by=("specialty", "month"))
        total = accuracy_by(conn, region=region, group_by=())
    lang = request_language(request)
    names = {code: concept.display(lang) for code, concept in SPECIALTIES.items()}
    return _page(request, "suggestions.html", {"rows": rows, "total": total[0] if total else None, "names": names})
