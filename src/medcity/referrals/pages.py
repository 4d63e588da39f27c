"""Referral pages: the doctor's referral form and sent list, the receiving organisation's worklist, and the
patient's own referrals. Each page asks the policy before it shows or writes patient data and records what it
showed; every form carries the session's CSRF token."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import Conflict, InvalidRequest, Unprocessable
from medcity.kit.i18n import N_
from medcity.kit.instants import shown_day
from medcity.referrals import service
from medcity.referrals.codes import CATEGORY_TOKEN, KIND_NAMES, KINDS, SUPPORTING_TYPES
from medcity.referrals.views import Names, rows
from medcity.registry.catalogue import receives_referrals, specialty_choices
from medcity.scheduling.resources import utcnow
from medcity.store.repository import Store, StoredResource, Tx
from medcity.web.render import add_template_package, render, request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
# Refusals a form shows next to its fields, so the doctor can correct and send again.
FORM_ERRORS = (Unprocessable, Conflict, InvalidRequest)


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    add_template_package("medcity.referrals")
    response = render(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def shown(access: Access, found: list[StoredResource]) -> list[StoredResource]:
    """Audit what a list shows."""
    for stored in found:
        access.record("read", stored.type, stored.id)
    return found


def _documents(tx: Tx, access: Access, patient: str) -> list[tuple[str, str]]:
    """The patient's documents a referral may carry, newest first: (reference, label)."""
    found = []
    for rtype in SUPPORTING_TYPES:
        matches = tx.search(rtype, [("patient", patient), ("_count", "30")], restrict=access.restriction).matches
        for stored in shown(access, matches):
            data = stored.resource
            concept = data.get("code") or data.get("type") or {}
            label = concept.get("text") or next((c.get("display") or c.get("code") for c in concept.get("coding") or []
                                                 if isinstance(c, dict)), None)  # fmt: skip
            when = data.get("effectiveDateTime") or data.get("issued") or data.get("date") or ""
            found.append((stored.reference, f"{label or rtype} {shown_day(when)}".strip()))
    return found


def _form(
    request: Request,
    access: Access,
    patient: str,
    *,
    error: str = "",
    status: int = 422,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    lang = request_language(request)
    with store_of(request).reader() as tx:
        stored = tx.read("Patient", patient)
        access.require("read", "Patient", stored)
        access.record("read", "Patient", stored.id)
        organisations = tx.search("Organization", [("_count", "500")]).matches
        context = {
            "patient": patient,
            "patient_name": Names(tx, [("Patient", patient)]).of("Patient", patient),
            "kinds": [(k, KIND_NAMES[k][1 if lang == "en" else 0]) for k in KINDS],
            "specialties": specialty_choices(lang),
            "organisations": sorted(
                ((o.id, str(o.resource.get("name") or o.id)) for o in organisations if receives_referrals(o.resource)),
                key=lambda o: o[1],
            ),
            "documents": _documents(tx, access, patient),
            "error": error,
            "values": {
                **dict.fromkeys(("kind", "specialty", "organization", "reasons", "valid_until", "note"), ""),
                "documents": [],
                **(values or {}),
            },
        }
    return page(request, "referrals/new.html", context, status_code=status if error else 200)


@router.get("/referrals/new", response_class=HTMLResponse)
def referral_form(request: Request, access: PageAccess, patient: str) -> Response:
    return _form(request, access, patient)


@router.post("/referrals/new", dependencies=[Depends(require_csrf)])
def send_referral(
    request: Request,
    access: PageAccess,
    patient: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=32)],
    specialty: Annotated[str, Form(max_length=64)] = "",
    organization: Annotated[str, Form(max_length=64)] = "",
    reasons: Annotated[str, Form(max_length=200)] = "",
    valid_until: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    documents: Annotated[list[str] | None, Form()] = None,
) -> Response:
    principal = access.principal
    values = {"kind": kind, "specialty": specialty, "organization": organization, "reasons": reasons,
              "valid_until": valid_until, "note": note, "documents": documents or []}  # fmt: skip
    try:
        draft = service.Draft(
            patient=patient, kind=kind, requester=principal.practitioner, specialty=specialty or None,
            organization=organization or None, practitioner=None,
            reasons=tuple(r.strip() for r in reasons.replace(";", ",").split(",") if r.strip()),
            note=note, documents=tuple(documents or ()), valid_until=_day(valid_until),
        )  # fmt: skip
        with store_of(request).transaction() as tx:
            access.require("read", "Patient", tx.read("Patient", patient))
            access.require("create", "ServiceRequest", service.build(draft, now=utcnow()))
            created = service.issue(tx, draft, now=utcnow())
    except FORM_ERRORS as refused:
        return _form(
            request, access, patient, error=refused.say(request_language(request)), status=refused.status, values=values
        )
    access.record("create", "ServiceRequest", created.id)
    return RedirectResponse(f"/referrals/sent?done={created.id}", status_code=303)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidRequest(N_("The validity date is not a date")) from None


def _list(request: Request, access: PageAccess, template: str, found: list[StoredResource], **extra: Any) -> Response:
    lang = request_language(request)
    with store_of(request).reader() as tx:
        states = service.states_of(tx, shown(access, found), now=utcnow())
        context = {"rows": rows(tx, found, states, lang), "done": request.query_params.get("done", ""), **extra}
    return page(request, template, context)


@router.get("/referrals/sent", response_class=HTMLResponse)
def sent(request: Request, access: PageAccess) -> Response:
    access.require("search", "ServiceRequest")
    practitioner = access.principal.practitioner
    with store_of(request).reader() as tx:
        found = service.sent_by(tx, practitioner=practitioner, restrict=access.restriction) if practitioner else []
    return _list(request, access, "referrals/sent.html", found)


@router.get("/referrals/incoming", response_class=HTMLResponse)
def incoming(request: Request, access: PageAccess) -> Response:
    access.require("search", "ServiceRequest")
    organization = access.principal.organization
    with store_of(request).reader() as tx:
        found = service.incoming_for(tx, organization=organization, restrict=access.restriction) if organization else []
    return _list(request, access, "referrals/incoming.html", found, category=CATEGORY_TOKEN)


@router.get("/referrals/mine", response_class=HTMLResponse)
def mine(request: Request, access: PageAccess) -> Response:
    """The patient's (or proxy's) own referrals and where each stands."""
    patient = access.principal.patient
    access.require("search", "ServiceRequest")
    with store_of(request).reader() as tx:
        found = service.of_patient(tx, patient=patient, restrict=access.restriction) if patient else []
    return _list(request, access, "referrals/mine.html", found)


def _change(request: Request, access: Access, referral: str, action: str, then: str) -> Response:
    with store_of(request).transaction() as tx:
        access.require("update", "ServiceRequest", service.get(tx, referral))
        if action == "cancel":
            service.cancel(tx, referral, now=utcnow())
        else:
            service.complete(tx, referral, now=utcnow())
    access.record("update", "ServiceRequest", referral)
    return RedirectResponse(f"{then}?done={referral}", status_code=303)


@router.post("/referrals/{referral}/cancel", dependencies=[Depends(require_csrf)])
def cancel(request: Request, access: PageAccess, referral: str) -> Response:
    return _change(request, access, referral, "cancel", "/referrals/sent")


@router.post("/referrals/{referral}/complete", dependencies=[Depends(require_csrf)])
def complete(request: Request, access: PageAccess, referral: str) -> Response:
    return _change(request, access, referral, "complete", "/referrals/incoming")
