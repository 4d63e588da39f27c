"""The laboratory's and the diagnostic department's pages: the worklist of orders addressed to the user's
organisation, sample receipt by barcode, result entry by hand or from an analyser's CSV, validation and release by
a second person; and the report of an instrumental or imaging study with its document.

Each page asks the policy for the orders it shows (under the caller's restriction) and for the results it writes,
and records what it touched. Errors in a form come back to the form with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from medcity.auth.gate import Access, page_access
from medcity.auth.pages import ROLE_HOME
from medcity.auth.sessions import require_csrf
from medcity.auth.users import Role
from medcity.kit.errors import Forbidden, MedcityError, TooLarge
from medcity.kit.i18n import N_, gettext
from medcity.lab import diagnostics, service
from medcity.lab.rules import range_for_patient
from medcity.orders.catalogue import LAB, catalogue
from medcity.orders.service import order_refs, subject_id
from medcity.orders.views import Clock, moment, result_line, test_name
from medcity.records.chart import patient_name
from medcity.referrals.views import Names
from medcity.store.repository import StoredResource, Tx
from medcity.terminology.units import unit_name
from medcity.web.pages_kit import package_page, store_of
from medcity.web.render import add_template_package, request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
ROLE_HOME[Role.LAB.value] = "/lab"
MAX_UPLOAD = 2 * 1024 * 1024
STUDY_KINDS = ("ecg", "imaging")


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    add_template_package("medcity.orders")  # the lab's templates import the orders' macros
    response = package_page(request, "lab", template, context)
    response.headers["Cache-Control"] = "no-store"
    return response


def _organisation(request: Request, access: Access) -> str:
    if not access.principal.organization:
        text = N_("This page is for the staff of a laboratory or diagnostic department: no organisation")
        raise Forbidden(gettext(text, request_language(request)))
    return access.principal.organization


def _done(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", status_code=303)


def _refused(page: HTMLResponse) -> HTMLResponse:
    page.status_code = 422
    return page


def _writing(access: Access, rtype: str, order: StoredResource, organization: str) -> None:
    """The caller may see the order and write a result of `rtype` for its patient under their organisation."""
    access.require("read", "ServiceRequest", order)
    body = {"resourceType": rtype, "subject": order.resource.get("subject"),
            "performer": [{"reference": f"Organization/{organization}"}]}  # fmt: skip
    access.require("create", rtype, body)


def _worklist(request: Request, access: Access, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    organization = _organisation(request, access)
    lang = request_language(request)
    with store_of(request).reader() as tx:
        access.require("search", "ServiceRequest")
        items = service.worklist(tx, organization=organization, kinds=kinds, restrict=access.restriction)
        names = Names(tx, [("Patient", subject_id(i.order.resource)) for i in items])
        clock = Clock(tx)
    for item in items:
        access.record("read", "ServiceRequest", item.order.id)
    return [
        {"order": i.order.id, "test": test_name(i.order.resource.get("code"), lang), "barcode": i.barcode or "",
         "patient": names.of("Patient", subject_id(i.order.resource)), "stage": i.stage,
         "authored": moment(clock, i.order.resource.get("authoredOn"))}
        for i in items
    ]  # fmt: skip


# ---- the laboratory -----------------------------------------------------------------------------------------


@router.get("/lab", response_class=HTMLResponse)
def lab_worklist(request: Request, access: PageAccess, done: str = "") -> Response:
    return _lab_page(request, access, done=done)


def _lab_page(request: Request, access: Access, *, done: str = "", error: str = "") -> HTMLResponse:
    rows = _worklist(request, access, (LAB,))
    return _page(request, "worklist.html", {"rows": rows, "done": done, "error": error})


@router.post("/lab/receive", dependencies=[Depends(require_csrf)])
def receive(request: Request, access: PageAccess, barcode: Annotated[str, Form(max_length=32)]) -> Response:
    organization = _organisation(request, access)
    try:
        with store_of(request).transaction() as tx:
            specimen, orders = service.sample(tx, barcode=barcode, organization=organization)
            for order in orders:
                access.require("read", "ServiceRequest", order)
            access.require("update", "Specimen", specimen)
            received = service.receive(tx, specimen)
    except MedcityError as refused:
        return _refused(_lab_page(request, access, error=refused.say(request_language(request))))
    access.record("update", "Specimen", received.id)
    return _done("/lab", "received")


@router.post("/lab/upload", dependencies=[Depends(require_csrf)])
async def upload(request: Request, access: PageAccess, file: Annotated[UploadFile, File()]) -> Response:
    organization = _organisation(request, access)
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        text = gettext(N_("An analyser file is at most %(size)s KB"), request_language(request))
        raise TooLarge(text % {"size": MAX_UPLOAD // 1024})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = gettext(N_("The file is not UTF-8 text (CSV)"), request_language(request))
        return _refused(_lab_page(request, access, error=message))

    def enter() -> list[StoredResource]:
        with store_of(request).transaction() as tx:
            reports = service.upload(tx, text=text, entered_by=_username(access), organization=organization)
            for order in tx.read_many([("ServiceRequest", rid) for r in reports for rid in order_refs(r.resource)]):
                _writing(access, "DiagnosticReport", order, organization)
            return reports

    try:
        reports = await run_in_threadpool(enter)
    except MedcityError as refused:
        return _refused(_lab_page(request, access, error=refused.say(request_language(request))))
    for report in reports:
        access.record("create", "DiagnosticReport", report.id)
    return _done("/lab", "uploaded")


def _username(access: Access) -> str:
    return access.principal.username or ""


def _entry_context(tx: Tx, access: Access, order: StoredResource, lang: str) -> dict[str, Any]:
    item = service.work_items(tx, [order])[0]
    patient = tx.read("Patient", subject_id(order.resource) or "")
    report = item.report.resource if item.report else None
    lines = [result_line(o, lang) for o in service.results_of(tx, report)] if report else []
    entered = {line.name: line for line in lines}
    analytes = []
    for code in item.test.analytes if item.test else ():
        analyte = catalogue().analytes[code]
        fitting = range_for_patient(analyte, patient.resource)
        bounds = "" if fitting is None else "–".join(
            "" if b is None else f"{b:g}" for b in (fitting.low, fitting.high))  # fmt: skip
        line = entered.get(analyte.name(lang))
        analytes.append({"code": code, "name": analyte.name(lang), "unit": unit_name(analyte.unit, lang),
                         "range": bounds, "value": line.value if line else "",
                         "flag": line.flag if line else ""})  # fmt: skip
    entered_by = service.extension_value(report, service.ENTERED_BY) if report else None
    return {
        "order": order.id, "test": test_name(order.resource.get("code"), lang), "barcode": item.barcode or "",
        "patient": patient_name(patient.resource) or patient.id,
        "stage": item.stage, "analytes": analytes, "report": item.report.id if item.report else "",
        "entered_by": entered_by or "", "may_release": bool(entered_by) and entered_by != _username(access),
        "lines": lines,
    }  # fmt: skip


@router.get("/lab/orders/{order}", response_class=HTMLResponse)
def entry_form(request: Request, access: PageAccess, order: str, done: str = "") -> Response:
    return _entry_page(request, access, order, done=done)


def _entry_page(request: Request, access: Access, order: str, *, done: str = "", error: str = "") -> HTMLResponse:
    organization = _organisation(request, access)
    with store_of(request).reader() as tx:
        stored = service.addressed_order(tx, order=order, organization=organization)
        access.require("read", "ServiceRequest", stored)
        context = _entry_context(tx, access, stored, request_language(request))
    access.record("read", "ServiceRequest", order)
    return _page(request, "entry.html", {**context, "error": error, "done": done})


@router.post("/lab/orders/{order}/results", dependencies=[Depends(require_csrf)])
async def enter_results(request: Request, access: PageAccess, order: str) -> Response:
    organization = _organisation(request, access)
    form = await request.form()
    values: dict[str, tuple[Any, str | None]] = {
        key.removeprefix("value-"): (str(value), None)
        for key, value in form.multi_items() if key.startswith("value-") and str(value).strip()
    }  # fmt: skip

    def enter() -> StoredResource:
        with store_of(request).transaction() as tx:
            stored = service.addressed_order(tx, order=order, organization=organization)
            _writing(access, "DiagnosticReport", stored, organization)
            return service.enter_results(tx, order=order, values=values, entered_by=_username(access),
                                         organization=organization)  # fmt: skip

    try:
        report = await run_in_threadpool(enter)
    except MedcityError as refused:
        return _refused(_entry_page(request, access, order, error=refused.say(request_language(request))))
    access.record("create", "DiagnosticReport", report.id)
    return _done(f"/lab/orders/{order}", "entered")


@router.post("/lab/reports/{report}/release", dependencies=[Depends(require_csrf)])
def release(request: Request, access: PageAccess, report: str) -> Response:
    organization = _organisation(request, access)
    order = ""
    try:
        with store_of(request).transaction() as tx:
            stored = tx.read("DiagnosticReport", report)
            order = next(iter(order_refs(stored.resource)), "")
            _writing(access, "DiagnosticReport", tx.read("ServiceRequest", order), organization)
            access.require("update", "DiagnosticReport", stored)
            service.release(tx, report=report, released_by=_username(access), organization=organization)
    except MedcityError as refused:
        message = refused.say(request_language(request))
        page = (
            _entry_page(request, access, order, error=message) if order else _lab_page(request, access, error=message)
        )
        return _refused(page)
    access.record("update", "DiagnosticReport", report)
    return _done("/lab", "released")


# ---- diagnostic departments ---------------------------------------------------------------------------------


@router.get("/diagnostics", response_class=HTMLResponse)
def diagnostics_worklist(request: Request, access: PageAccess, done: str = "") -> Response:
    rows = _worklist(request, access, STUDY_KINDS)
    return _page(request, "diagnostics.html", {"rows": rows, "done": done})


@router.get("/diagnostics/orders/{order}", response_class=HTMLResponse)
def study_form(request: Request, access: PageAccess, order: str) -> Response:
    return _study_page(request, access, order)


def _study_page(request: Request, access: Access, order: str, *, error: str = "") -> HTMLResponse:
    organization = _organisation(request, access)
    lang = request_language(request)
    with store_of(request).reader() as tx:
        stored = service.addressed_order(tx, order=order, organization=organization)
        access.require("read", "ServiceRequest", stored)
        who = subject_id(stored.resource)
        patient = Names(tx, [("Patient", who)]).of("Patient", who)
    access.record("read", "ServiceRequest", order)
    context = {"order": order, "test": test_name(stored.resource.get("code"), lang), "patient": patient,
               "error": error}  # fmt: skip
    return _page(request, "study.html", context)


@router.post("/diagnostics/orders/{order}", dependencies=[Depends(require_csrf)])
async def report_study(
    request: Request,
    access: PageAccess,
    order: str,
    conclusion: Annotated[str, Form(max_length=20000)] = "",
    imaging_study: Annotated[str, Form(max_length=64)] = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    organization = _organisation(request, access)
    attached = None
    if document is not None and document.filename:
        data = await document.read(diagnostics.MAX_DOCUMENT_BYTES + 1)
        attached = diagnostics.Document(document.content_type or "", data, document.filename)

    def sign() -> StoredResource:
        with store_of(request).transaction() as tx:
            stored = service.addressed_order(tx, order=order, organization=organization)
            _writing(access, "DiagnosticReport", stored, organization)
            return diagnostics.report_study(
                tx, order=order, organization=organization, conclusion=conclusion, document=attached,
                interpreter=access.principal.practitioner, imaging_study=imaging_study or None,
            )  # fmt: skip

    try:
        report = await run_in_threadpool(sign)
    except MedcityError as refused:
        return _refused(_study_page(request, access, order, error=refused.say(request_language(request))))
    access.record("create", "DiagnosticReport", report.id)
    return _done("/diagnostics", "reported")
