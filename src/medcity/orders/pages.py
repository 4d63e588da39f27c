"""The doctor's ordering pages: order tests and studies for a patient (singly or a package per diagnosis), see the
sample labels, and follow the results and critical-value alerts of one's own orders.

Every page asks the policy first (the patient for an order, the orders and alerts it lists under the caller's
restriction) and records what it showed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import Forbidden
from medcity.kit.i18n import N_, gettext
from medcity.lab.service import results_of_each, work_items
from medcity.orders import service
from medcity.orders.catalogue import LAB, catalogue
from medcity.orders.errors import Refusal
from medcity.orders.views import Clock, moment, result_line, test_name
from medcity.records.chart import patient_name
from medcity.referrals.views import Names
from medcity.registry.catalogue import ORGANIZATION_KIND_SYSTEM
from medcity.scheduling.resources import ref_id
from medcity.store.repository import Tx
from medcity.terminology import service as terminology
from medcity.web.pages_kit import package_page, store_of
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
# Organisations that run diagnostic departments (ECG, imaging) besides laboratories.
DIAGNOSTIC_KINDS = ("polyclinic", "hospital", "private-clinic")


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    response = package_page(request, "orders", template, context)
    response.headers["Cache-Control"] = "no-store"
    return response


def _organisations(tx: Tx, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    query = ",".join(f"{ORGANIZATION_KIND_SYSTEM}|{kind}" for kind in kinds)
    # In id order, as `medcity users demo` picks the demo laboratory: the first one offered is the demo's.
    found = tx.search("Organization", [("type", query), ("_sort", "_id"), ("_count", "200")]).matches
    return [(o.id, str(o.resource.get("name") or o.id)) for o in found]


def _packages(region: str, lang: str) -> list[tuple[str, str, str]]:
    """(diagnosis code, its name, the tests' names) of this region's packages."""
    return [
        (code, terminology.display(code, lang) or code, ", ".join(catalogue().tests[t].name(lang) for t in tests))
        for code, tests in sorted(catalogue().packages_for(region).items())
    ]


@router.get("/orders/new", response_class=HTMLResponse)
def order_form(request: Request, access: PageAccess, patient: str, encounter: str = "", package: str = "") -> Response:
    try:
        return _order_page(request, access, patient, encounter, package)
    except Refusal as refused:  # a package unknown in this region
        return _order_page(request, access, patient, encounter, "", error=refused.say(request_language(request)))


def _order_page(
    request: Request, access: Access, patient: str, encounter: str, package: str, *, error: str = ""
) -> HTMLResponse:
    lang = request_language(request)
    with store_of(request).reader() as tx:
        stored = tx.read("Patient", patient)
        access.require("read", "Patient", stored)
        chosen = set(service.package(tx.region, package)) if package else set()
        tests = sorted(catalogue().tests.values(), key=lambda t: (t.kind != LAB, t.name(lang)))
        context = {
            "patient": stored.id, "patient_name": patient_name(stored.resource) or stored.id,
            "encounter": encounter, "package": package, "chosen": chosen, "error": error,
            "lab_tests": [(t.code, t.name(lang)) for t in tests if t.kind == LAB],
            "studies": [(t.code, t.name(lang)) for t in tests if t.kind != LAB],
            "packages": _packages(tx.region, lang),
            "laboratories": _organisations(tx, ("laboratory",)),
            "departments": _organisations(tx, DIAGNOSTIC_KINDS),
            "own_organisation": access.principal.organization or "",
        }  # fmt: skip
    access.record("read", "Patient", patient)
    return _page(request, "new.html", context)


@router.post("/orders/new", dependencies=[Depends(require_csrf)])
def place(
    request: Request,
    access: PageAccess,
    patient: Annotated[str, Form(max_length=64)],
    encounter: Annotated[str, Form(max_length=64)] = "",
    tests: Annotated[list[str] | None, Form()] = None,
    laboratory: Annotated[str, Form(max_length=64)] = "",
    department: Annotated[str, Form(max_length=64)] = "",
    package: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    if not access.principal.practitioner:
        text = N_("Orders are signed by a doctor: this account is linked to no practitioner")
        raise Forbidden(gettext(text, request_language(request)))
    try:
        with store_of(request).transaction() as tx:
            stored = tx.read("Patient", patient)
            access.require("read", "Patient", stored)
            access.require("create", "ServiceRequest", {"subject": {"reference": f"Patient/{patient}"}})
            placed = service.place_orders(
                tx, patient=patient, tests=list(tests or []), requester=access.principal.practitioner,
                encounter=encounter or None, laboratory=laboratory or None, diagnostics=department or None,
                diagnosis=package or None,
            )  # fmt: skip
    except Refusal as refused:
        page = _order_page(request, access, patient, encounter, "", error=refused.say(request_language(request)))
        page.status_code = 422
        return page
    for order in placed.orders:
        access.record("create", "ServiceRequest", order.id)
    return RedirectResponse(
        f"/orders/placed?{urlencode({'patient': patient, 'requisition': placed.requisition})}", status_code=303
    )


@router.get("/orders/placed", response_class=HTMLResponse)
def placed_page(request: Request, access: PageAccess, patient: str, requisition: str) -> Response:
    lang = request_language(request)
    with store_of(request).reader() as tx:
        stored = tx.read("Patient", patient)
        access.require("read", "Patient", stored)
        orders = tx.search(
            "ServiceRequest",
            [("requisition", f"{service.REQUISITION_SYSTEM}|{requisition}"), ("subject", f"Patient/{patient}")],
            restrict=access.restriction,
        ).matches
        items = work_items(tx, orders)
        performers = {o.id: ref_id((o.resource.get("performer") or [None])[0], "Organization") for o in orders}
        names = Names(tx, [("Organization", org) for org in performers.values()])
    for order in orders:
        access.record("read", "ServiceRequest", order.id)
    rows = [
        {"order": i.order.id, "test": test_name(i.order.resource.get("code"), lang), "barcode": i.barcode or "",
         "performer": names.of("Organization", performers[i.order.id])}
        for i in items
    ]  # fmt: skip
    context = {"patient": patient, "patient_name": patient_name(stored.resource) or patient,
               "requisition": requisition, "rows": rows}  # fmt: skip
    return _page(request, "placed.html", context)


@router.get("/orders/results", response_class=HTMLResponse)
def results_page(request: Request, access: PageAccess) -> Response:
    """The doctor's own orders, newest first, with their results' flags, and the critical-value alerts."""
    practitioner = access.principal.practitioner
    if not practitioner:
        text = N_("This page lists a doctor's own orders: this account is linked to no practitioner")
        raise Forbidden(gettext(text, request_language(request)))
    lang = request_language(request)
    with store_of(request).reader() as tx:
        access.require("search", "ServiceRequest")
        orders = tx.search(
            "ServiceRequest",
            [("requester", f"Practitioner/{practitioner}"), ("_sort", "-authored"), ("_count", "50")],
            restrict=access.restriction,
        ).matches
        alerts = tx.search(
            "Communication",
            [("recipient", f"Practitioner/{practitioner}"), ("category", "alert"), ("_sort", "-sent"),
             ("_count", "20")],
            restrict=access.restriction,
        ).matches  # fmt: skip
        items = work_items(tx, orders)
        names = Names(tx, [("Patient", service.subject_id(r.resource)) for r in [*orders, *alerts]])
        clock = Clock(tx)
        released = [i.report.resource if i.report and i.report.resource.get("status") == "final" else {}
                    for i in items]  # fmt: skip
        rows = []
        for item, report, results in zip(items, released, results_of_each(tx, released), strict=True):
            lines = [result_line(o, lang) for o in results]
            rows.append({
                "order": item.order.id, "test": test_name(item.order.resource.get("code"), lang),
                "patient": names.of("Patient", service.subject_id(item.order.resource)),
                "stage": item.stage,
                "authored": moment(clock, item.order.resource.get("authoredOn")),
                "lines": lines, "conclusion": report.get("conclusion", ""),
                "critical": any(line.critical for line in lines), "abnormal": any(line.abnormal for line in lines),
            })  # fmt: skip
    for order in orders:
        access.record("read", "ServiceRequest", order.id)
    for alert in alerts:
        access.record("read", "Communication", alert.id)
    # An alert's value as the order's released result line says it (the reader's units); its own text, written in
    # English for any FHIR reader, only for an order this page does not list.
    said = {(row["order"], line.name): f"{line.value} {line.unit} ({line.flag})"
            for row in rows for line in row["lines"]}  # fmt: skip
    shown_alerts = []
    for a in alerts:
        test = test_name((a.resource.get("reasonCode") or [None])[0], lang)
        order = ref_id(next(iter(a.resource.get("about") or []), None), "ServiceRequest")
        written = ((a.resource.get("payload") or [{}])[0]).get("contentString", "").partition(": ")[2]
        shown_alerts.append({"patient": names.of("Patient", service.subject_id(a.resource)), "test": test,
                             "text": said.get((order or "", test), written),
                             "sent": moment(clock, a.resource.get("sent"))})  # fmt: skip
    return _page(request, "results.html", {"rows": rows, "alerts": shown_alerts})
