"""Prescription pages: the doctor's prescriptions of a patient (write one, cancel one not yet dispensed), the
pharmacy's counter (find a prescription by its number and the patient's identifier, dispense it, the latest
dispenses), and the patient's own prescriptions. Each page asks the policy before it shows or writes anything and
records what it showed; every form carries the session's CSRF token. The pharmacy's lookups are posted, not put in
the address, so that a patient's identifier never stands in a URL or an access log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.pages import ROLE_HOME
from medcity.auth.policy import PRESCRIPTION_LOOKUP
from medcity.auth.sessions import require_csrf
from medcity.auth.users import Role
from medcity.kit.errors import Conflict, Forbidden, InvalidRequest, MedcityError, NotFound, Unprocessable
from medcity.kit.i18n import N_, gettext
from medcity.prescriptions import rules, service
from medcity.prescriptions.medicines import medicine_name, medicines
from medcity.prescriptions.views import Row, quantity_text, row, rows
from medcity.records.chart import patient_name
from medcity.referrals.views import Names
from medcity.registry.identifiers import TYPE_CODES
from medcity.scheduling.resources import ref_id
from medcity.store.repository import StoredResource, Tx
from medcity.web.pages_kit import package_page, patient_of_page, store_of
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
ROLE_HOME[Role.PHARMACIST.value] = "/pharmacy"
# Refusals a form shows next to its fields, so that the user can correct and send again.
FORM_ERRORS = (Unprocessable, Conflict, InvalidRequest, NotFound)


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    response = package_page(request, "prescriptions", template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _now() -> datetime:
    return datetime.now(UTC)


def _listed(tx: Tx, access: Access, found: list[StoredResource], lang: str) -> list[Row]:
    """The prescriptions with their dispenses, each audited as shown."""
    dispenses = service.dispenses_of(tx, [s.id for s in found], restrict=access.restriction)
    for stored in found:
        access.record("read", stored.type, stored.id)
    for handed in dispenses.values():
        for dispense in handed:
            access.record("read", "MedicationDispense", str(dispense.get("id")))
    return rows(tx, found, dispenses, lang, rules.local_today(tx.region, _now()))


# ---- the doctor ------------------------------------------------------------------------------------------------


def _doctor_page(
    request: Request, access: Access, patient: str, encounter: str, *, error: str = "", status: int = 200,
    values: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    lang = request_language(request)
    with store_of(request).reader() as tx:
        stored = patient_of_page(tx, access, patient)
        access.record("read", "Patient", stored.id)
        access.require("search", "MedicationRequest")
        found = service.of_patient(tx, patient=patient, restrict=access.restriction)
        listed = _listed(tx, access, found, lang)
    context = {
        "patient": patient, "patient_name": patient_name(stored.resource) or patient, "encounter": encounter,
        "medicines": sorted(((m.atc, m.name(lang)) for m in medicines().values()), key=lambda m: m[1]),
        "rows": listed, "error": error, "done": request.query_params.get("done", ""),
        "values": {"medicine": "", "dosage": "", "quantity": "", "reason": "", **(values or {})},
    }  # fmt: skip
    return _page(request, "doctor.html", context, status_code=status)


@router.get("/prescriptions", response_class=HTMLResponse)
def prescriptions_page(request: Request, access: PageAccess, patient: str, encounter: str = "") -> Response:
    return _doctor_page(request, access, patient, encounter)


@router.post("/prescriptions", dependencies=[Depends(require_csrf)])
def prescribe(
    request: Request,
    access: PageAccess,
    patient: Annotated[str, Form(max_length=64)],
    medicine: Annotated[str, Form(max_length=16)] = "",
    dosage: Annotated[str, Form(max_length=500)] = "",
    quantity: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=16)] = "",
    encounter: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    practitioner = access.principal.practitioner
    if not practitioner:
        text = N_("Prescriptions are signed by a doctor: this account is linked to no practitioner")
        raise Forbidden(gettext(text, request_language(request)))
    values = {"medicine": medicine, "dosage": dosage, "quantity": quantity, "reason": reason}
    try:
        draft = service.Draft(
            patient=patient, medicine=medicine, dosage=dosage, quantity=_count(quantity), requester=practitioner,
            organization=access.principal.organization, encounter=encounter or None, reason=reason or None,
        )  # fmt: skip
        with store_of(request).transaction() as tx:
            patient_of_page(tx, access, patient)
            access.require("create", "MedicationRequest", service.build(draft, region=tx.region, now=_now()), tx=tx)
            created = service.prescribe(tx, draft, now=_now())
            access.record("create", "MedicationRequest", created.id, tx=tx, patient=created.patient)
    except FORM_ERRORS as refused:
        lang = request_language(request)
        return _doctor_page(request, access, patient, encounter, error=refused.say(lang), status=refused.status,
                            values=values)  # fmt: skip
    query = urlencode({"patient": patient, "encounter": encounter, "done": rules.number_of(created.resource) or ""})
    return RedirectResponse(f"/prescriptions?{query}", status_code=303)


def _count(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidRequest(N_("The quantity is a whole number")) from None


@router.post("/prescriptions/{prescription}/cancel", dependencies=[Depends(require_csrf)])
def cancel(request: Request, access: PageAccess, prescription: str) -> Response:
    with store_of(request).transaction() as tx:
        stored = service.get(tx, prescription)
        access.require("update", "MedicationRequest", stored, tx=tx)
        cancelled = service.cancel(tx, prescription, now=_now())
        access.record("update", "MedicationRequest", cancelled.id, tx=tx, patient=cancelled.patient)
    return RedirectResponse(f"/prescriptions?{urlencode({'patient': cancelled.patient or ''})}", status_code=303)


# ---- the pharmacy ----------------------------------------------------------------------------------------------


def _pharmacy_of(request: Request, access: Access) -> str:
    access.require(PRESCRIPTION_LOOKUP, "MedicationRequest")
    organization = access.principal.organization
    if not organization:
        text = N_("Prescriptions are dispensed by a pharmacy: this account is linked to no organisation")
        raise Forbidden(gettext(text, request_language(request)))
    return organization


def _counter(
    request: Request,
    access: Access,
    pharmacy: str,
    *,
    found: StoredResource | None = None,
    asked: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The pharmacy's page: the lookup form, a prescription found, the latest dispenses of this pharmacy."""
    lang = request_language(request)
    with store_of(request).reader() as tx:
        access.require("search", "MedicationDispense")
        latest = service.dispensed_by(tx, pharmacy=pharmacy, restrict=access.restriction)
        for stored in latest:
            access.record("read", stored.type, stored.id)
        shown = _shown_found(tx, found, lang)
        lines = [_dispense_line(d.resource, lang, tx.region) for d in latest]
        pharmacy_name = Names(tx, [("Organization", pharmacy)]).of("Organization", pharmacy)
    # The dispense just made, shown once the browser was redirected here: one of this pharmacy's own.
    dispensed = next((line for line in lines if line["id"] == request.query_params.get("dispensed")), None)
    annulled = next((line for line in lines if line["id"] == request.query_params.get("annulled")), None)
    context = {
        "pharmacy": pharmacy_name, "found": shown, "asked": {"number": "", "system": "", "value": "", **(asked or {})},
        "systems": [(system, TYPE_CODES[system][1]) for system in service.PATIENT_SYSTEMS], "error": error,
        "latest": lines, "dispensed": dispensed, "annulled": annulled,
        "annul_hours": rules.annul_hours(store_of(request).region),
    }  # fmt: skip
    return _page(request, "pharmacy.html", context, status_code=status)


def _shown_found(tx: Tx, found: StoredResource | None, lang: str) -> Row | None:
    if found is None:
        return None
    # Where and when it was handed over, and what is left of it: what a dispense would be told (409, 422) anyway.
    handed = [d.resource for d in rules.completed_dispenses(tx, found.id)]
    names = Names(tx, [("Practitioner", ref_id(found.resource.get("requester"), "Practitioner")),
                       ("Organization", rules.pharmacy_of(handed[0]) if handed else None)])  # fmt: skip
    return row(found, handed, names, lang, tx.region, rules.local_today(tx.region, _now()))


def _dispense_line(data: dict[str, Any], lang: str, region: str) -> dict[str, Any]:
    concept = data.get("medicationCodeableConcept")
    handed = str(data.get("whenHandedOver") or "")
    return {"id": str(data.get("id")), "medicine": medicine_name(concept, lang),
            "quantity": quantity_text(data, concept, lang), "when": rules.day_text(handed, region),
            "annulled": data.get("status") == rules.ANNULLED,
            "reason": str((data.get("statusReasonCodeableConcept") or {}).get("text") or ""),
            "annullable": rules.annullable(data, region, _now())}  # fmt: skip


@router.get("/pharmacy", response_class=HTMLResponse)
def pharmacy_page(request: Request, access: PageAccess) -> Response:
    return _counter(request, access, _pharmacy_of(request, access))


def _asked(
    number: Annotated[str, Form(max_length=40)],
    system: Annotated[str, Form(max_length=100)],
    value: Annotated[str, Form(max_length=40)],
) -> dict[str, str]:
    """What the pharmacist typed to find a prescription: its number and the patient's identifier."""
    return {"number": number, "system": system, "value": value}


Asked = Annotated[dict[str, str], Depends(_asked)]


def _refused(
    request: Request, access: Access, pharmacy: str, asked: dict[str, str], refused: MedcityError
) -> HTMLResponse:
    """The counter again with what was typed and why it was refused, in the pharmacist's language."""
    error = refused.say(request_language(request))
    return _counter(request, access, pharmacy, asked=asked, error=error, status=refused.status)


@router.post("/pharmacy/find", dependencies=[Depends(require_csrf)])
def find(request: Request, access: PageAccess, asked: Asked) -> Response:
    pharmacy = _pharmacy_of(request, access)
    try:
        with store_of(request).reader() as tx:
            found = service.find(tx, **asked)
    except FORM_ERRORS as refused:
        return _refused(request, access, pharmacy, asked, refused)
    access.record("read", found.type, found.id)
    return _counter(request, access, pharmacy, found=found, asked=asked)


@router.post("/pharmacy/dispense", dependencies=[Depends(require_csrf)])
def dispense(
    request: Request, access: PageAccess, asked: Asked, quantity: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    pharmacy = _pharmacy_of(request, access)
    try:
        with store_of(request).transaction() as tx:
            found = service.find(tx, **asked)
            body = service.dispense_body(
                tx, found, pharmacy=pharmacy, pharmacist=access.principal.practitioner,
                quantity=_count(quantity) if quantity.strip() else None, now=_now(),
            )  # fmt: skip
            access.require("create", "MedicationDispense", body, tx=tx)
            stored = service.dispense(tx, body)
            access.record("create", "MedicationDispense", stored.id, tx=tx, patient=stored.patient)
    except FORM_ERRORS as refused:
        return _refused(request, access, pharmacy, asked, refused)
    return RedirectResponse(f"/pharmacy?{urlencode({'dispensed': stored.id})}", status_code=303)


@router.post("/pharmacy/annul", dependencies=[Depends(require_csrf)])
def annul(
    request: Request,
    access: PageAccess,
    dispense: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Take back a dispense this pharmacy handed over by mistake, with the reason; the prescription is valid again."""
    pharmacy = _pharmacy_of(request, access)
    try:
        with store_of(request).transaction() as tx:
            access.require("update", "MedicationDispense", service.get_dispense(tx, dispense), tx=tx)
            annulled = service.annul(tx, dispense, reason=reason)
            access.record("update", "MedicationDispense", annulled.id, tx=tx, patient=annulled.patient)
    except FORM_ERRORS as refused:
        error = refused.say(request_language(request))
        return _counter(request, access, pharmacy, error=error, status=refused.status)
    return RedirectResponse(f"/pharmacy?{urlencode({'annulled': annulled.id})}", status_code=303)


# ---- the patient -----------------------------------------------------------------------------------------------


@router.get("/patient/prescriptions", response_class=HTMLResponse)
def mine(request: Request, access: PageAccess) -> Response:
    """The patient's (or proxy's) own prescriptions and where each stands."""
    patient = access.principal.patient
    access.require("search", "MedicationRequest")
    with store_of(request).reader() as tx:
        found = service.of_patient(tx, patient=patient, restrict=access.restriction) if patient else []
        listed = _listed(tx, access, found, request_language(request))
    return _page(request, "mine.html", {"rows": listed})
