"""The staff's scheduling pages: the registrar's schedule editor (templates, publishing, leave and sick days),
the desk (check-in, walk-ins into the emergency reserve), the outbox of notices; the doctor's day list; the queue
display. A registrar works on their own organisation only; a doctor sees their own day."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import Forbidden, InvalidRequest, NotFound
from medcity.kit.i18n import N_
from medcity.registry.catalogue import specialty_choices
from medcity.registry.service import find_by_name, find_by_oms
from medcity.scheduling import checkin, notices, service
from medcity.scheduling.display import Names, specialty_name, ticket
from medcity.scheduling.pages.common import (
    BOOKING,
    SCHEDULE,
    STAFF,
    act,
    local_day,
    page,
    see,
    staff_organization,
    store_of,
)
from medcity.scheduling.publish import Session, Template, publish_schedule
from medcity.scheduling.resources import day_bounds, ref_id, utcnow
from medcity.scheduling.tables import SLOT_KINDS
from medcity.store.repository import Tx
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
CSRF = [Depends(require_csrf)]
WEEK = range(7)
# What a registrar reads for the inventory's codes (scheduling.tables.SLOT_KINDS, SLOT_STATUSES).
SLOT_KIND_NAMES = {
    "self": N_("self-booking"), "referral": N_("by referral"), "registry": N_("registry only"),
    "reserve": N_("emergency reserve"),
}  # fmt: skip
SLOT_STATUS_NAMES = {
    "free": N_("free"),
    "held": N_("held for an offer"),
    "booked": N_("taken"),
    "blocked": N_("closed to booking"),
}


def _registrar(access: Access) -> str:
    organization = staff_organization(access, "registrar")
    access.require(SCHEDULE, "Schedule")
    return organization


def _roles_and_rooms(tx: Tx, organization: str) -> tuple[list[str], list[str]]:
    org = f"Organization/{organization}"
    roles = tx.search("PractitionerRole", [("organization", org), ("_count", "500"), ("_sort", "_id")]).matches
    rooms = tx.search("Location", [("organization", org), ("_count", "500"), ("_sort", "_id")]).matches
    return [r.id for r in roles], [r.id for r in rooms]


def _time(text: str, name: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(N_("%(name)s: a time is written HH:MM"), name=name) from None


# ---- registrar: schedule editor ------------------------------------------------------------------------------


@router.get("/registry/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request, access: PageAccess, day: str | None = None, done: str = "", count: int = 0
) -> Response:
    organization = _registrar(access)
    with store_of(request).reader() as tx:
        shown = local_day(tx, day)
        start, end = day_bounds(tx.region, shown)
        roles, rooms = _roles_and_rooms(tx, organization)
        names = Names(tx)
        context = {
            "organization_name": names.of("Organization", organization), "day": shown,
            "previous": shown - timedelta(days=1), "next": shown + timedelta(days=1),
            "slots": service.slots_of(tx, organization=organization, start=start, end=end), "names": names,
            "roles": roles, "rooms": rooms, "kinds": SLOT_KINDS, "kind_names": SLOT_KIND_NAMES,
            "status_names": SLOT_STATUS_NAMES, "week": WEEK, "done": done, "count": count,
            "specialties": specialty_choices(request_language(request)),
        }  # fmt: skip
        return page(request, "registry.html", context)


@router.post("/registry/schedule/publish", dependencies=CSRF)
def publish(
    request: Request,
    access: PageAccess,
    role: Annotated[str, Form(max_length=64)],
    room: Annotated[str, Form(max_length=64)],
    specialty: Annotated[str, Form(max_length=64)],
    start: Annotated[str, Form(max_length=8)],
    end: Annotated[str, Form(max_length=8)],
    weekday: Annotated[list[int], Form()],
    slot_minutes: Annotated[int, Form()] = 15,
    break_start: Annotated[str, Form(max_length=8)] = "",
    break_end: Annotated[str, Form(max_length=8)] = "",
    kinds: Annotated[list[str], Form()] = ["self"],  # noqa: B006 - FastAPI copies defaults per request
) -> Response:
    organization = _registrar(access)
    published: list[str] = []

    def run(tx: Tx) -> None:
        roles, rooms = _roles_and_rooms(tx, organization)
        if role not in roles or room not in rooms:
            raise Forbidden(N_("The doctor and the room must be of your own organisation"))
        sessions = tuple(
            Session(weekday=d, start=_time(start, "start"), end=_time(end, "end"), room=room, kinds=tuple(kinds))
            for d in sorted(set(weekday))
        )
        breaks = ((_time(break_start, "break"), _time(break_end, "break")),) if break_start and break_end else ()
        template = Template(role=role, organization=organization, specialty=specialty, sessions=sessions,
                            slot_minutes=slot_minutes, breaks=breaks)  # fmt: skip
        published.extend(publish_schedule(tx, template=template))

    return act(request, run, back="/registry/schedule",
               then=lambda: see("/registry/schedule", done="published", count=str(len(published))))  # fmt: skip


@router.post("/registry/schedule/close", dependencies=CSRF)
def close(
    request: Request,
    access: PageAccess,
    role: Annotated[str, Form(max_length=64)],
    first_day: Annotated[date, Form()],
    last_day: Annotated[date, Form()],
    move: Annotated[bool, Form()] = False,
) -> Response:
    organization = _registrar(access)
    affected: list[str] = []

    def run(tx: Tx) -> None:
        if role not in _roles_and_rooms(tx, organization)[0]:
            raise Forbidden(N_("The doctor must be of your own organisation"))
        if last_day < first_day:
            raise InvalidRequest(N_("The last day comes before the first"))
        start, end = day_bounds(tx.region, first_day, (last_day - first_day).days + 1)
        affected.extend(service.close_period(tx, role=role, start=start, end=end, move=move))

    response = act(request, run, back="/registry/schedule", then=see("/registry/schedule", done="closed"))
    for appointment in affected:
        access.record("update", "Appointment", appointment)
    return response


# ---- registrar: the desk and the outbox --------------------------------------------------------------------


@router.get("/registry/desk", response_class=HTMLResponse)
def desk_page(
    request: Request,
    access: PageAccess,
    oms: str = "",
    family: str = "",
    birth_date: date | None = None,
    patient: str = "",
    done: str = "",
) -> Response:
    """Find the patient by their ОМС policy, or by family name when they have no policy with them (several
    matches are listed to choose from), both with the birth date; then check in or book a walk-in."""
    organization = staff_organization(access, "registrar")
    with store_of(request).reader() as tx:
        names = Names(tx)
        _start, day_end = day_bounds(tx.region, local_day(tx, None))
        candidates = []
        if not patient and oms and birth_date:
            patient = find_by_oms(tx, oms=oms, birth_date=birth_date) or ""
        elif not patient and family.strip() and birth_date:
            candidates = find_by_name(tx, family=family, birth_date=birth_date, restrict=access.restriction)
            if len(candidates) == 1:
                patient, candidates = candidates[0].id, []
        if patient:
            access.require(BOOKING, "Patient", patient)
        due = checkin.due_today(tx, patient=patient, organization=organization, now=utcnow(), day_end=day_end) \
            if patient else []  # fmt: skip
        free = checkin.walk_in_slots(tx, organization=organization, day_end=day_end) if patient else []
        context = {
            "oms": oms, "family": family, "birth_date": birth_date.isoformat() if birth_date else "",
            "searched": bool(oms or family.strip()), "candidates": candidates,
            "patient": patient, "patient_name": names.of("Patient", patient) if patient else "",
            "due": due, "free": free, "names": names, "done": done, "kind_names": SLOT_KIND_NAMES,
        }  # fmt: skip
        for shown in [patient] if patient else [c.id for c in candidates]:
            access.record("read", "Patient", shown)
        return page(request, "desk.html", context)


@router.post("/registry/desk/{step}", dependencies=CSRF)
def desk(
    request: Request,
    access: PageAccess,
    step: str,
    patient: Annotated[str, Form(max_length=64)],
    birth_date: Annotated[str, Form(max_length=10)] = "",
    slot: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    organization = staff_organization(access, "registrar")
    access.require(BOOKING, "Patient", patient)
    if step not in ("check-in", "walk-in"):
        raise HTTPException(status_code=404)

    def run(tx: Tx) -> None:
        _start, day_end = day_bounds(tx.region, local_day(tx, None))
        if step == "walk-in":
            checkin.walk_in(tx, patient=patient, slot_id=slot, organization=organization)
        else:
            checkin.check_in_patient(tx, patient=patient, organization=organization, day_end=day_end)

    back = f"/registry/desk?{urlencode({'patient': patient, 'birth_date': birth_date})}"
    response = act(request, run, back=back, then=see("/registry/desk", patient=patient, birth_date=birth_date,
                                                     done=step))  # fmt: skip
    access.record("update", "Patient", patient)
    return response


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, access: PageAccess) -> Response:
    organization = staff_organization(access, "registrar", "admin")
    with store_of(request).reader() as tx:
        found = notices.outbox_of(tx, organization=organization)
        names = Names(tx)
        rows = [(n.resource, names.of("Patient", ref_id(n.resource.get("subject"), "Patient") or "")) for n in found]
        for notice in found:
            access.record("read", "Communication", notice.id)
        return page(
            request,
            "outbox.html",
            {
                "rows": rows,
                "kind_of": notices.kind_of,
                "kind_names": notices.KIND_NAMES,
                "state_names": notices.STATE_NAMES,
            },
        )


# ---- doctor: the day list ------------------------------------------------------------------------------------


@router.get("/doctor/day", response_class=HTMLResponse)
def doctor_page(request: Request, access: PageAccess, day: str | None = None) -> Response:
    practitioner = access.principal.practitioner
    if access.principal.role != "doctor" or not practitioner:
        raise Forbidden(N_("The day list is a doctor's"))
    lang = request_language(request)
    with store_of(request).reader() as tx:
        shown = local_day(tx, day)
        start, end = day_bounds(tx.region, shown)
        appointments = service.day_list(tx, roles=service.roles_of(tx, practitioner=practitioner), start=start,
                                        end=end)  # fmt: skip
        for appointment in appointments:
            access.require("read", "Patient", appointment.patient)
        names = Names(tx)
        context = {"doctor": names.of("Practitioner", practitioner), "day": shown, "names": names,
                   "appointments": appointments, "ticket": ticket, "practitioner": practitioner,
                   "specialty_name": lambda code: specialty_name(code, lang)}  # fmt: skip
        for appointment in appointments:
            access.record("read", "Patient", appointment.patient)
        return page(request, "doctor.html", context)


@router.post("/doctor/appointments/{appointment}/{mark}", dependencies=CSRF)
def doctor_mark(
    request: Request, access: PageAccess, appointment: str, mark: str, day: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    practitioner = access.principal.practitioner
    if access.principal.role != "doctor" or not practitioner:
        raise Forbidden(N_("Only the doctor marks their own appointments"))
    actions = {"arrived": service.check_in, "noshow": service.mark_no_show}
    if mark not in actions:
        raise HTTPException(status_code=404)

    def run(tx: Tx) -> None:
        if service.appointment_row(tx, appointment).role not in service.roles_of(tx, practitioner=practitioner):
            raise NotFound(N_("Appointment/%(appointment)s is not on your day list"), appointment=appointment)
        actions[mark](tx, appointment_id=appointment)

    response = act(request, run, back="/doctor/day", then=see("/doctor/day", **({"day": day} if day else {})))
    access.record("update", "Appointment", appointment)
    return response


# ---- the queue display ---------------------------------------------------------------------------------------


def _queue(request: Request, access: Access, practitioner: str, template: str) -> Response:
    """Today's queue of one doctor at the viewer's organisation: tickets and times, never names (it hangs in the
    waiting hall)."""
    if access.principal.role not in STAFF:
        raise Forbidden(N_("The queue display is shown by the polyclinic's staff"))
    organization = access.principal.organization
    with store_of(request).reader() as tx:
        start, end = day_bounds(tx.region, local_day(tx, None))
        roles = service.roles_of(tx, practitioner=practitioner, organization=organization)
        appointments = service.day_list(tx, roles=roles, start=start, end=end) if roles else []
        names = Names(tx)
        waiting_now = [a for a in appointments if a.status == "arrived"]
        context = {
            "practitioner": practitioner, "doctor": names.of("Practitioner", practitioner), "names": names,
            "rows": [a for a in appointments if a.status in ("arrived", "booked")], "ticket": ticket,
            "next": waiting_now[0].id if waiting_now else "", "now": names.clock(utcnow()),
        }  # fmt: skip
        return page(request, template, context)


@router.get("/queue/{practitioner}", response_class=HTMLResponse)
def queue_page(request: Request, access: PageAccess, practitioner: str) -> Response:
    return _queue(request, access, practitioner, "queue.html")


@router.get("/queue/{practitioner}/rows", response_class=HTMLResponse)
def queue_rows(request: Request, access: PageAccess, practitioner: str) -> Response:
    """The live part of the display, polled by htmx every few seconds."""
    return _queue(request, access, practitioner, "_queue_rows.html")
