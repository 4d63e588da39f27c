"""The risk page of a patient (`/risk/{patient}`): the scores, every input with the resource and day it came from,
what is missing or stale and what to order, and FINDRISC's questions for the doctor to ask and record. The chart
shows the same panel (medcity.records.pages). Each page asks the policy for the Patient first (refused as the
chart is: 404 as for an unknown id, or 403 outside the caller's care with the break-glass offered) and reads the
record under the caller's restriction; the answers are written only where the policy lets the caller write the
patient's record, and every form carries the session's CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.policy import CLINICAL
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_, Label
from medcity.records.chart import patient_name
from medcity.risk import scores, service, views
from medcity.store.repository import JSON, StoredResource, Tx
from medcity.store.values import now_instant
from medcity.web.pages_kit import package_page, patient_of_page, store_of
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
YES_NO = ("yes", "no")


def panel_of(
    request: Request, access: Access, tx: Tx, patient: StoredResource, *, read: list[JSON] | None = None
) -> views.Panel:
    """The risk panel of a patient the caller was allowed to read, from their record as the caller may see it;
    `read` as for `service.assess` (the chart's resources)."""
    assessment = service.assess(tx, patient=patient, restrict=access.restriction_for(tx, patient.id),
                                region=tx.region, today=datetime.now(UTC).date(), read=read)  # fmt: skip
    return views.panel(assessment, request_language(request))


def _risk_page(request: Request, access: Access, patient_id: str, *, error: str = "", status: int = 200) -> Response:
    lang = request_language(request)
    with store_of(request).reader() as tx:
        patient = patient_of_page(tx, access, patient_id)
        shown = panel_of(request, access, tx, patient)
    access.record("read", "Patient", patient_id)
    context = {
        "panel": shown, "patient_name": patient_name(patient.resource) or patient_id, "error": error,
        "saved": request.query_params.get("saved") == "1", "stale_text": views.stale_text(lang),
        "can_answer": access.principal.role in CLINICAL,
        "family": [(code, views.FAMILY_NAMES[code]) for code in scores.FAMILY_HISTORY],
        "questions": [(name, views.INPUT_LABELS[name]) for name in ("activity", "vegetables")],
    }  # fmt: skip
    response = package_page(request, "risk", "risk.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/risk/{patient_id}", response_class=HTMLResponse)
def risk_page(request: Request, patient_id: str, access: PageAccess) -> Response:
    return _risk_page(request, access, patient_id)


def _yes(answer: str, label: str) -> bool:
    if answer not in YES_NO:
        raise InvalidRequest(N_("Answer the question: %(question)s"), question=Label(label))
    return answer == "yes"


@router.post("/risk/{patient_id}/findrisc", dependencies=[Depends(require_csrf)])
def answer_findrisc(
    request: Request,
    patient_id: str,
    access: PageAccess,
    activity: Annotated[str, Form(max_length=8)] = "",
    vegetables: Annotated[str, Form(max_length=8)] = "",
    family_history: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    author = access.principal.practitioner
    try:
        body = service.answers(
            patient=patient_id, author={"reference": f"Practitioner/{author}"} if author else None,
            activity=_yes(activity, views.INPUT_LABELS["activity"]),
            vegetables=_yes(vegetables, views.INPUT_LABELS["vegetables"]), family_history=family_history,
            when=now_instant(),
        )  # fmt: skip
    except InvalidRequest as refused:
        return _risk_page(request, access, patient_id, error=refused.say(request_language(request)), status=400)
    with store_of(request).transaction() as tx:
        patient_of_page(tx, access, patient_id)
        access.require("create", "QuestionnaireResponse", body, tx=tx)
        created = tx.create(body).stored
        access.record("create", created.type, created.id, tx=tx, patient=patient_id)
    return RedirectResponse(f"/risk/{patient_id}?saved=1", status_code=303)
