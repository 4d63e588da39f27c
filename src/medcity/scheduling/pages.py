"""Scheduling's web pages: a patient finds, chooses and confirms a slot, sees and changes their appointments and
waiting-list entries; the registrar sees a polyclinic's day; a doctor sees their day list; a kiosk checks in.

DEVELOPMENT STAND-IN: web login does not exist yet, so the patient, doctor and polyclinic are chosen by a query
parameter (or from a list of patients). These pages therefore answer only while `MEDCITY_AUTH_REQUIRED` is false,
and 403 otherwise, so that they can never bypass the access policy in production.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Row

from medcity.kit.errors import MedcityError
from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling import inventory, service, waiting
from medcity.scheduling.resources import ref_id, utcnow
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store, Tx
from medcity.web.render import add_template_package, render, request_language


def _development_only(request: Request) -> None:
    if request.app.state.settings.auth_required:
        raise HTTPException(status_code=403, detail="these pages need web login, which is not built yet")


router = APIRouter(include_in_schema=False, dependencies=[Depends(_development_only)])


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    # Registered on first use rather than at import, so that merely importing the FHIR api changes no renderer.
    add_template_package("medcity.scheduling")
    return render(request, f"scheduling/{template}", context, status_code=status_code)


def _see(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)


class Names:
    """Display names of the people and places on a page, read once per page."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.zone = rules_for(tx.region).timezone
        self._cache: dict[tuple[str, str], str] = {}

    def of(self, rtype: str, rid: str) -> str:
        if (rtype, rid) not in self._cache:
            stored = self.tx.current(rtype, rid)
            data = stored.resource if stored is not None and not stored.deleted else {}
            self._cache[(rtype, rid)] = self._name(rtype, data) or rid
        return self._cache[(rtype, rid)]

    def _name(self, rtype: str, data: dict[str, Any]) -> str | None:
        if rtype == "PractitionerRole":
            practitioner = ref_id(data.get("practitioner"), "Practitioner")
            return self.of("Practitioner", practitioner) if practitioner else None
        if rtype in ("Patient", "Practitioner"):
            name = (data.get("name") or [{}])[0]
            return " ".join([name.get("family", ""), *name.get("given", [])]).strip() or None
        name = data.get("name")
        return name if isinstance(name, str) else None

    def when(self, moment: datetime) -> str:
        return moment.replace(tzinfo=UTC).astimezone(self.zone).strftime("%d.%m.%Y %H:%M")


def _specialties(lang: str) -> list[tuple[str, str]]:
    return sorted(((code, concept.display(lang)) for code, concept in SPECIALTIES.items()), key=lambda s: s[1])


def _day_bounds(tx: Tx, day: str | None) -> tuple[date, datetime, datetime]:
    """A local calendar day (today by default) as [start, end) in the inventory's naive UTC."""
    zone = rules_for(tx.region).timezone
    local = date.fromisoformat(day) if day else datetime.now(zone).date()
    start = datetime.combine(local, time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return local, start, start + timedelta(days=1)


# ---- patient ----------------------------------------------------------------------------------------------


@router.get("/patient/booking", response_class=HTMLResponse)
def booking_page(
    request: Request, patient: str | None = None, specialty: str | None = None, reschedule: str | None = None
) -> Response:
    store = _store(request)
    with store.reader() as tx:
        if not patient:
            found = tx.search("Patient", [("_count", "50")])
            people = [(p.id, Names(tx).of("Patient", p.id)) for p in found.matches]
            return _page(request, "choose_patient.html", {"people": people})
        names = Names(tx)
        slots: list[Row] = []
        if specialty in SPECIALTIES:
            now = utcnow()
            window = timedelta(days=rules_for(tx.region).booking_window_days)
            slots = service.find_slots(tx, specialty=specialty, patient=patient, start=now, end=now + window, count=20)
        context = {
            "patient": patient, "patient_name": names.of("Patient", patient), "specialty": specialty or "",
            "specialties": _specialties(request_language(request)),
            "reschedule": reschedule or "", "slots": slots, "names": names,
        }  # fmt: skip
        return _page(request, "booking.html", context)


@router.get("/patient/booking/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, patient: str, slot: str, reschedule: str | None = None) -> Response:
    with _store(request).reader() as tx:
        row = inventory.get_slot(tx, slot)
        names = Names(tx)
        context = {"patient": patient, "slot": row, "names": names, "reschedule": reschedule or "",
                   "specialty_name": SPECIALTIES[row.specialty].display(request_language(request))}  # fmt: skip
        return _page(request, "confirm.html", context)


@router.post("/patient/booking/confirm")
def confirm(
    request: Request,
    patient: str = Form(),
    slot: str = Form(),
    referral: str = Form(""),
    reschedule: str = Form(""),
) -> Response:
    def act(tx: Tx) -> None:
        if reschedule:
            service.reschedule(tx, appointment_id=reschedule, slot_id=slot, channel="self")
        else:
            service.book(tx, patient=patient, slot_id=slot, channel="self", referral=referral or None)

    return _act(request, act, back=f"/patient/booking/confirm?{urlencode({'patient': patient, 'slot': slot})}",
                then=_see("/patient/appointments", patient=patient, done="booked"))  # fmt: skip


@router.get("/patient/appointments", response_class=HTMLResponse)
def appointments_page(request: Request, patient: str, done: str | None = None) -> Response:
    with _store(request).reader() as tx:
        names = Names(tx)
        entries = [(e, waiting.position(tx, entry_id=e.id)) for e in waiting.entries_of(tx, patient=patient)]
        context = {
            "patient": patient, "patient_name": names.of("Patient", patient), "names": names, "done": done or "",
            "appointments": service.appointments_of(tx, patient=patient), "entries": entries,
            "specialty_names": {code: c.display(request_language(request)) for code, c in SPECIALTIES.items()},
        }  # fmt: skip
        return _page(request, "appointments.html", context)


@router.post("/patient/appointments/{appointment}/cancel")
def cancel(request: Request, appointment: str, patient: str = Form()) -> Response:
    return _act(request, lambda tx: service.cancel(tx, appointment_id=appointment),
                back=f"/patient/appointments?patient={patient}",
                then=_see("/patient/appointments", patient=patient, done="cancelled"))  # fmt: skip


@router.post("/patient/waiting")
def join(request: Request, patient: str = Form(), specialty: str = Form()) -> Response:
    return _act(request, lambda tx: waiting.join_waiting_list(tx, patient=patient, specialty=specialty),
                back=f"/patient/booking?patient={patient}",
                then=_see("/patient/appointments", patient=patient, done="waiting"))  # fmt: skip


@router.post("/patient/waiting/{entry}/{answer}")
def answer_offer(request: Request, entry: str, answer: str, patient: str = Form()) -> Response:
    actions = {
        "accept": lambda tx: service.accept_offer(tx, entry_id=entry),
        "decline": lambda tx: waiting.decline_offer(tx, entry_id=entry),
        "leave": lambda tx: waiting.leave_waiting_list(tx, entry_id=entry),
    }
    if answer not in actions:
        raise HTTPException(status_code=404)
    return _act(request, actions[answer], back=f"/patient/appointments?patient={patient}",
                then=_see("/patient/appointments", patient=patient, done=answer))  # fmt: skip


# ---- staff ------------------------------------------------------------------------------------------------


@router.get("/registry/schedule", response_class=HTMLResponse)
def registry_page(request: Request, organization: str, day: str | None = None) -> Response:
    with _store(request).reader() as tx:
        local, start, end = _day_bounds(tx, day)
        names = Names(tx)
        context = {"organization": organization, "organization_name": names.of("Organization", organization),
                   "day": local, "slots": service.slots_of(tx, organization=organization, start=start, end=end),
                   "names": names}  # fmt: skip
        return _page(request, "registry.html", context)


@router.get("/doctor/day", response_class=HTMLResponse)
def doctor_page(request: Request, role: str, day: str | None = None) -> Response:
    with _store(request).reader() as tx:
        local, start, end = _day_bounds(tx, day)
        names = Names(tx)
        context = {"role": role, "doctor": names.of("PractitionerRole", role), "day": local, "names": names,
                   "appointments": service.day_list(tx, role=role, start=start, end=end)}  # fmt: skip
        return _page(request, "doctor.html", context)


@router.post("/doctor/appointments/{appointment}/{mark}")
def doctor_mark(request: Request, appointment: str, mark: str, role: str = Form(), day: str = Form()) -> Response:
    actions = {
        "arrived": lambda tx: service.check_in(tx, appointment_id=appointment),
        "noshow": lambda tx: service.mark_no_show(tx, appointment_id=appointment),
    }
    if mark not in actions:
        raise HTTPException(status_code=404)
    return _act(request, actions[mark], back=f"/doctor/day?role={role}&day={day}",
                then=_see("/doctor/day", role=role, day=day))  # fmt: skip


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk_page(request: Request, done: str | None = None) -> Response:
    return _page(request, "kiosk.html", {"done": done or ""})


@router.post("/kiosk")
def kiosk(request: Request, appointment: str = Form()) -> Response:
    return _act(request, lambda tx: service.check_in(tx, appointment_id=appointment.strip()),
                back="/kiosk", then=_see("/kiosk", done=appointment.strip()))  # fmt: skip


def _act(request: Request, action: Any, *, back: str, then: Response) -> Response:
    """Run `action` in one transaction; a refusal is shown on an error page with the reason and a way back."""
    try:
        with _store(request).transaction() as tx:
            action(tx)
    except MedcityError as refused:
        context = {"reason": refused.diagnostics, "back": back}
        return _page(request, "refused.html", context, status_code=refused.status)
    return then

