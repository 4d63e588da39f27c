"""`/chart/{patient}/regions`: a doctor or nurse asks the regions this one exchanges records with for the summary
of a patient they treat, by the patient's СНИЛС or ЕНП, and reads it as the chart shows the record (problems,
allergies, medications, latest results, vaccinations). The patient is opened under the policy as the chart is; the
request to the other region is audited on the patient here (who asked), and there as a reading of its record by
this region's system. What comes back is shown, not stored."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from medcity.auth import tokens
from medcity.auth.gate import Access, page_access
from medcity.auth.policy import CLINICAL
from medcity.auth.sessions import require_csrf
from medcity.exchange.api import NATIONAL
from medcity.exchange.client import fetch_summary, summary_resources
from medcity.kit.errors import Forbidden, InvalidRequest, MedcityError
from medcity.kit.i18n import N_
from medcity.records import portal
from medcity.records.chart import Chart, chart_of, patient_name
from medcity.registry.regions import region_of
from medcity.scheduling.rules import rules_for
from medcity.store.repository import StoredResource
from medcity.web.pages_kit import patient_of_page, store_of
from medcity.web.render import add_template_package, render, request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
AUDITED = "operation:exchange-summary"


def _opened(request: Request, access: Access, patient_id: str) -> StoredResource:
    if access.principal.role not in CLINICAL:
        raise Forbidden(N_("Other regions are asked by the doctors and nurses who treat the patient"))
    with store_of(request).reader() as tx:
        return patient_of_page(tx, access, patient_id)


def _peers(request: Request, lang: str) -> list[tuple[str, str]]:
    """(code, name) of the regions the served region exchanges records with."""
    served = region_of(store_of(request).region)
    return [(code, region_of(code).name.display(lang) or code) for code in sorted(served.peers)]


def _page(request: Request, patient: StoredResource, **context: Any) -> HTMLResponse:
    add_template_package("medcity.records")
    add_template_package("medcity.exchange")
    lang = request_language(request)
    words = {"flag_label": partial(portal.flag_label, lang=lang), "flag_note": partial(portal.flag_note, lang=lang)}
    values = {"patient": patient, "name": patient_name(patient.resource) or patient.id, "peers": _peers(request, lang),
              "chart": None, "asked": "", "asked_name": "", "error": "", "received": "",
              **words, **context}  # fmt: skip
    response = render(request, "exchange/regions.html", values, status_code=context.get("status", 200))
    response.headers["Cache-Control"] = "no-store"  # a record must not stay in shared or back-button caches
    return response


@router.get("/chart/{patient_id}/regions", response_class=HTMLResponse)
def regions_page(request: Request, patient_id: str, access: PageAccess) -> Response:
    return _page(request, _opened(request, access, patient_id))


@router.post("/chart/{patient_id}/regions", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def ask_region(
    request: Request,
    patient_id: str,
    access: PageAccess,
    peer: Annotated[str, Form(max_length=16)],
) -> Response:
    patient = _opened(request, access, patient_id)
    lang = request_language(request)
    store = store_of(request)
    try:
        chart = _asked(request, access, patient, peer)
    except MedcityError as refused:
        return _page(request, patient, asked=peer, error=refused.say(lang), status=refused.status)
    received = datetime.now(rules_for(store.region).timezone).strftime("%d.%m.%Y %H:%M")
    name = region_of(peer).name.display(lang) or peer
    return _page(request, patient, chart=chart, asked=peer, asked_name=name, received=received)


def _asked(request: Request, access: Access, patient: StoredResource, peer: str) -> Chart:
    store = store_of(request)
    base = region_of(store.region).peers.get(peer)
    if base is None:
        raise InvalidRequest(N_("This region exchanges no records with region %(code)s"), code=peer[:16])
    identifier = _national(patient.resource)
    settings = request.app.state.settings
    access.record(AUDITED, "Patient", patient.id)  # asked there in this patient's name, whatever the answer
    document = fetch_summary(
        base=base, region_name=region_of(peer).name.display(request_language(request)) or peer,
        own_region=store.region, key=tokens.id_token_key(settings.secret_dir), identifier=identifier,
        now=datetime.now(UTC),
    )  # fmt: skip
    with store.reader() as tx:
        restrict = access.restriction_for(tx, patient.id)
        return chart_of(tx, patient=patient, resources=summary_resources(document), restrict=restrict)


def _national(patient: dict[str, Any]) -> tuple[str, str]:
    for system in NATIONAL:
        for identifier in patient.get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") == system and identifier.get("value"):
                return system, str(identifier["value"])
    raise InvalidRequest(N_("The record holds neither СНИЛС nor ЕНП: another region cannot find the patient by it"))
