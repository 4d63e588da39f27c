"""Hospital pages: admission (from an incoming referral or by emergency) into a free bed, the ward view with
transfer, the discharge form that signs the summary, and the polyclinic's follow-up worklist. The hospital or
polyclinic is the logged-in user's organisation; each page asks the policy and records what it showed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access
from medcity.auth.pages import KIND_HOME
from medcity.auth.sessions import require_csrf
from medcity.hospital import service
from medcity.kit.errors import Forbidden, Unprocessable
from medcity.kit.i18n import N_, gettext
from medcity.referrals import pages as referral_pages
from medcity.referrals import service as referrals
from medcity.referrals.pages import FORM_ERRORS, PageAccess, shown, store_of
from medcity.referrals.views import Names, kind_name, local_time, plain_text, reasons
from medcity.registry.service import find_by_oms
from medcity.scheduling.resources import ref_id, utcnow
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Tx
from medcity.web.render import add_template_package, request_language

router = APIRouter(include_in_schema=False)
# A hospital's doctors and nurses start on the ward.
KIND_HOME[("doctor", "hospital")] = KIND_HOME[("nurse", "hospital")] = "/hospital/ward"


def page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    add_template_package("medcity.hospital")
    return referral_pages.page(request, template, context, status_code=status_code)


def _organisation(access: Access) -> str:
    organization = access.principal.organization
    if not organization:
        raise Forbidden(N_("This page is for staff of an organisation"))
    return organization


def _admit_form(request: Request, access: Access, referral: str, *, error: str = "", status: int = 422) -> HTMLResponse:
    hospital = _organisation(access)
    with store_of(request).reader() as tx:
        context: dict[str, Any] = {"referral": referral, "error": error, "summary": None, "patient_name": ""}
        if referral:
            stored = referrals.get(tx, referral)
            access.require("read", "ServiceRequest", stored)
            shown(access, [stored])
            data = stored.resource
            patient = ref_id(data.get("subject"), "Patient")
            context.update(
                summary={"kind": kind_name(data, request_language(request)), "reasons": reasons(data),
                         "documents": [str(d.get("reference")) for d in data.get("supportingInfo") or []]},
                patient_name=Names(tx, [("Patient", patient)]).of("Patient", patient),
            )  # fmt: skip
        context["beds"] = [
            (bed.id, f"{ward.name} — {bed.name}") for ward, bed in service.free_beds(tx, hospital=hospital)
        ]
    return page(request, "hospital/admit.html", context, status_code=status if error else 200)


@router.get("/hospital/admit", response_class=HTMLResponse)
def admit_form(request: Request, access: PageAccess, referral: str = "") -> Response:
    return _admit_form(request, access, referral)


@router.post("/hospital/admit", dependencies=[Depends(require_csrf)])
def admit(
    request: Request,
    access: PageAccess,
    bed: Annotated[str, Form(max_length=64)],
    referral: Annotated[str, Form(max_length=64)] = "",
    oms: Annotated[str, Form(max_length=40)] = "",
    birth_date: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    hospital = _organisation(access)
    try:
        with store_of(request).transaction() as tx:
            if referral:
                who = ref_id(referrals.get(tx, referral).resource.get("subject"), "Patient")
            else:
                who = _emergency_patient(tx, oms, birth_date)
                # The patient brought in is seldom in the hospital's care yet: the admission opens their record,
                # as a break-glass with this reason would, flagged and shown to the patient.
                access.break_glass_reason = _emergency_reason(request, reason)
            access.require("read", "Patient", tx.read("Patient", who or "-"), tx=tx)
            access.require(
                "create", "Encounter", {"resourceType": "Encounter", "subject": {"reference": f"Patient/{who}"}}, tx=tx
            )
            stay = service.admit(
                tx, hospital=hospital, bed=bed, now=utcnow(), referral=referral or None, patient=who or None,
                reason=reason.strip() or None, practitioner=access.principal.practitioner,
            )  # fmt: skip
    except FORM_ERRORS as refused:
        error = refused.say(request_language(request))
        return _admit_form(request, access, referral, error=error, status=refused.status)
    access.record("create", "Encounter", stay.id)
    return RedirectResponse(f"/hospital/ward?done={stay.id}", status_code=303)


def _emergency_patient(tx: Tx, oms: str, birth_date: str) -> str:
    """The patient an emergency admission names by ОМС policy number and birth date, as the desk finds them."""
    try:
        born = date.fromisoformat(birth_date.strip())
    except ValueError:
        raise Unprocessable(N_("Give the patient's birth date")) from None
    found = find_by_oms(tx, oms=oms, birth_date=born)
    if found is None:
        raise Unprocessable(N_("No patient with this policy number and birth date."))
    return found


def _emergency_reason(request: Request, diagnosis: str) -> str:
    reason = gettext(N_("Emergency admission"), request_language(request))
    return f"{reason}: {diagnosis.strip()}" if diagnosis.strip() else reason


@router.get("/hospital/ward", response_class=HTMLResponse)
def ward(request: Request, access: PageAccess, done: str = "", error: str = "") -> Response:
    hospital = _organisation(access)
    access.require("search", "Encounter")
    with store_of(request).reader() as tx:
        wards = service.wards_of(tx, hospital=hospital, restrict=access.restriction)
        stays = [bed.stay for w in wards for bed in w.beds if bed.stay is not None]
        shown(access, stays)
        names = Names(tx, [("Patient", ref_id(s.resource.get("subject"), "Patient")) for s in stays])
        zone = rules_for(tx.region).timezone
        patients = {s.id: names.of("Patient", ref_id(s.resource.get("subject"), "Patient")) for s in stays}
        since = {s.id: local_time((s.resource.get("period") or {}).get("start"), zone) for s in stays}
        free = [(bed.id, f"{w.name} — {bed.name}") for w in wards for bed in w.beds if bed.stay is None]
    context = {"wards": wards, "patients": patients, "since": since, "free": free, "done": done, "error": error}
    return page(request, "hospital/ward.html", context)


@router.post("/hospital/stays/{encounter}/transfer", dependencies=[Depends(require_csrf)])
def transfer(
    request: Request, access: PageAccess, encounter: str, bed: Annotated[str, Form(max_length=64)]
) -> Response:
    _organisation(access)
    try:
        with store_of(request).transaction() as tx:
            access.require("update", "Encounter", tx.read("Encounter", encounter))
            service.transfer(tx, encounter=encounter, bed=bed, now=utcnow())
    except FORM_ERRORS as refused:
        return RedirectResponse(f"/hospital/ward?error={refused.status}", status_code=303)
    access.record("update", "Encounter", encounter)
    return RedirectResponse(f"/hospital/ward?done={encounter}", status_code=303)


def _discharge_form(
    request: Request,
    access: Access,
    encounter: str,
    *,
    error: str = "",
    status: int = 422,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    with store_of(request).reader() as tx:
        stored = tx.read("Encounter", encounter)
        access.require("read", "Encounter", stored)
        shown(access, [stored])
        patient = ref_id(stored.resource.get("subject"), "Patient")
        context = {"encounter": encounter, "patient_name": Names(tx, [("Patient", patient)]).of("Patient", patient),
                   "error": error,
                   "values": {**dict.fromkeys(("diagnoses", "procedures", "results", "recommendations"), ""),
                              **(values or {})}}  # fmt: skip
    return page(request, "hospital/discharge.html", context, status_code=status if error else 200)


@router.get("/hospital/stays/{encounter}/discharge", response_class=HTMLResponse)
def discharge_form(request: Request, access: PageAccess, encounter: str) -> Response:
    return _discharge_form(request, access, encounter)


@router.post("/hospital/stays/{encounter}/discharge", dependencies=[Depends(require_csrf)])
def discharge(
    request: Request,
    access: PageAccess,
    encounter: str,
    diagnoses: Annotated[str, Form(max_length=200)] = "",
    procedures: Annotated[str, Form(max_length=4000)] = "",
    results: Annotated[str, Form(max_length=4000)] = "",
    recommendations: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    hospital = _organisation(access)
    values = {"diagnoses": diagnoses, "procedures": procedures, "results": results, "recommendations": recommendations}
    summary = service.Summary(
        diagnoses=tuple(d.strip() for d in diagnoses.replace(";", ",").split(",") if d.strip()),
        procedures=procedures, results=results, recommendations=recommendations,
    )  # fmt: skip
    try:
        with store_of(request).transaction() as tx:
            access.require("update", "Encounter", tx.read("Encounter", encounter))
            signed = service.discharge(tx, encounter=encounter, summary=summary, hospital=hospital,
                                       practitioner=access.principal.practitioner, now=utcnow())  # fmt: skip
    except FORM_ERRORS as refused:
        return _discharge_form(
            request,
            access,
            encounter,
            error=refused.say(request_language(request)),
            status=refused.status,
            values=values,
        )
    access.record("update", "Encounter", encounter)
    access.record("create", "Composition", signed.id)
    return RedirectResponse(f"/hospital/ward?done={encounter}", status_code=303)


@router.get("/followup", response_class=HTMLResponse)
def followup(request: Request, access: PageAccess, done: str = "") -> Response:
    """The attached polyclinic's worklist: its patients discharged in the last weeks, with the summary."""
    organization = _organisation(access)
    access.require("search", "Composition")
    with store_of(request).reader() as tx:
        items = service.followup(tx, organization=organization, now=utcnow(), restrict=access.restriction)
        shown(access, [item.summary for item in items])
        refs = [(i.summary.resource.get("subject"), i.summary.resource.get("custodian")) for i in items]
        names = Names(tx, [r for subject, custodian in refs for r in (
            ("Patient", ref_id(subject, "Patient")), ("Organization", ref_id(custodian, "Organization")))])  # fmt: skip
        zone = rules_for(tx.region).timezone
        rows = [
            {"id": i.summary.id, "seen": i.seen, "date": local_time(i.summary.resource.get("date"), zone),
             "patient_id": ref_id(subject, "Patient"), "patient": names.of("Patient", ref_id(subject, "Patient")),
             "hospital": names.of("Organization", ref_id(custodian, "Organization")),
             "sections": [(s.get("title", ""), plain_text((s.get("text") or {}).get("div")))
                          for s in i.summary.resource.get("section") or []]}
            for i, (subject, custodian) in zip(items, refs, strict=True)
        ]  # fmt: skip
    return page(request, "hospital/followup.html", {"rows": rows, "done": done})


@router.post("/followup/{summary}/seen", dependencies=[Depends(require_csrf)])
def seen(request: Request, access: PageAccess, summary: str) -> Response:
    organization = _organisation(access)
    with store_of(request).transaction() as tx:
        access.require("read", "Composition", tx.read("Composition", summary))
        access.require("create", "Task", {"resourceType": "Task"})
        service.mark_seen(tx, summary=summary, organization=organization, practitioner=access.principal.practitioner,
                          now=utcnow())  # fmt: skip
    access.record("update", "Composition", summary)
    return RedirectResponse(f"/followup?done={summary}", status_code=303)
