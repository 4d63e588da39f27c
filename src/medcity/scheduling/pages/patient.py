"""The patient's booking pages: find → choose → confirm, my appointments (cancel, reschedule), the waiting list
and the notices. A patient acts for themselves, a proxy for the child they represent; nobody else uses these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Row

from medcity.auth.gate import Access, page_access
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import NotFound
from medcity.kit.i18n import N_
from medcity.referrals import service as referrals
from medcity.referrals.codes import ISSUED
from medcity.referrals.rules import specialty_of
from medcity.referrals.views import Row as ReferralRow
from medcity.referrals.views import rows as referral_rows
from medcity.registry.catalogue import SPECIALTIES, specialty_choices
from medcity.scheduling import inventory, notices, service, waiting
from medcity.scheduling.display import Names, specialty_name
from medcity.scheduling.pages.common import act, own_patient, page, see, store_of
from medcity.scheduling.resources import parse_instant, utcnow
from medcity.scheduling.rules import RegionRules, rules_for
from medcity.store.repository import Tx
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
CSRF = [Depends(require_csrf)]


def _mine(tx: Tx, patient: str, appointment_id: str) -> None:
    if service.appointment_row(tx, appointment_id).patient != patient:
        raise NotFound(N_("Appointment/%(appointment_id)s is not known"), appointment_id=appointment_id)


def _my_entry(tx: Tx, patient: str, entry_id: str) -> None:
    if waiting.get_entry(tx, entry_id).patient != patient:
        raise NotFound(N_("Waiting-list entry %(entry_id)s is not known"), entry_id=entry_id)


def _by_referral(named: list[tuple[str, str]], rules: RegionRules) -> list[tuple[str, list[tuple[str, str]]]]:
    """The specialties a patient books on their own first, then those that need a doctor's referral: the patient
    sees before choosing which is which."""
    return [
        (N_("Without a referral"), [(code, name) for code, name in named if code in rules.self_bookable]),
        (N_("With a doctor's referral"), [(code, name) for code, name in named if code not in rules.self_bookable]),
    ]


@dataclass
class DoctorTimes:
    """One doctor's free times on the booking page, by day: what a patient scans for."""

    role: str
    organization: str
    days: dict[date, list[Row]] = field(default_factory=dict)


def _by_doctor(slots: list[Row], names: Names) -> list[DoctorTimes]:
    """The free slots by doctor (in the order the search gave them: the patient's own polyclinic first), then by
    the region's day, each day's times in order."""
    doctors: dict[tuple[str, str], DoctorTimes] = {}
    for slot in slots:
        doctor = doctors.setdefault((slot.role, slot.organization), DoctorTimes(slot.role, slot.organization))
        doctor.days.setdefault(names.local(slot.start).date(), []).append(slot)
    for doctor in doctors.values():
        doctor.days = {day: sorted(times, key=lambda s: s.start) for day, times in sorted(doctor.days.items())}
    return list(doctors.values())


@router.get("/patient/booking", response_class=HTMLResponse)
def booking_page(
    request: Request, access: PageAccess, specialty: str | None = None, reschedule: str | None = None
) -> Response:
    patient = own_patient(access)
    with store_of(request).reader() as tx:
        if reschedule:
            _mine(tx, patient, reschedule)
        names = Names(tx)
        slots: list[Row] = []
        if specialty in SPECIALTIES:
            now = utcnow()
            window = timedelta(days=rules_for(tx.region).booking_window_days)
            slots = service.find_slots(tx, specialty=specialty, patient=patient, start=now, end=now + window, count=60)
        context = {
            "patient_name": names.of("Patient", patient), "specialty": specialty or "",
            "specialty_groups": _by_referral(specialty_choices(request_language(request)), rules_for(tx.region)),
            "reschedule": reschedule or "", "doctors": _by_doctor(slots, names), "names": names,
        }  # fmt: skip
        access.record("read", "Patient", patient)
        return page(request, "booking.html", context)


@router.get("/patient/booking/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, access: PageAccess, slot: str, reschedule: str | None = None) -> Response:
    patient = own_patient(access)
    lang = request_language(request)
    with store_of(request).reader() as tx:
        row = inventory.get_slot(tx, slot)
        needs_referral = not reschedule and rules_for(tx.region).needs_referral(specialty=row.specialty, kind=row.kind)
        context = {"slot": row, "names": Names(tx), "reschedule": reschedule or "", "needs_referral": needs_referral,
                   "referrals": _usable_referrals(tx, access, patient, row.specialty, lang) if needs_referral else [],
                   "specialty_name": specialty_name(row.specialty, lang)}  # fmt: skip
        return page(request, "confirm.html", context)


def _usable_referrals(tx: Tx, access: Access, patient: str, specialty: str, lang: str) -> list[ReferralRow]:
    """The patient's issued referrals to this specialty that no appointment uses yet: what the booking can take,
    so that the patient chooses one instead of typing its number."""
    found = [r for r in referrals.of_patient(tx, patient=patient, restrict=access.restriction)
             if specialty_of(r.resource) == specialty]  # fmt: skip
    states = referrals.states_of(tx, found, now=utcnow())
    return referral_rows(tx, [r for r in found if states[r.id] == ISSUED], states, lang)


@router.post("/patient/booking/confirm", dependencies=CSRF)
def confirm(
    request: Request,
    access: PageAccess,
    slot: Annotated[str, Form(max_length=64)],
    referral: Annotated[str, Form(max_length=64)] = "",
    reschedule: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    patient = own_patient(access)
    made: list[str] = []

    def run(tx: Tx) -> None:
        if reschedule:
            _mine(tx, patient, reschedule)
            made.append(service.reschedule(tx, appointment_id=reschedule, slot_id=slot, channel="self").id)
        else:
            made.append(service.book(tx, patient=patient, slot_id=slot, channel="self",
                                     referral=referral.strip() or None).id)  # fmt: skip

    response = act(request, run, back=f"/patient/booking/confirm?{urlencode({'slot': slot})}",
                   then=see("/patient/appointments", done="rescheduled" if reschedule else "booked"))  # fmt: skip
    for appointment in made:
        access.record("create", "Appointment", appointment)
    return response


@router.get("/patient/appointments", response_class=HTMLResponse)
def appointments_page(request: Request, access: PageAccess, done: str | None = None) -> Response:
    patient = own_patient(access)
    lang = request_language(request)
    with store_of(request).reader() as tx:
        names = Names(tx)
        entries = [(e, waiting.position(tx, entry_id=e.id)) for e in waiting.entries_of(tx, patient=patient)]
        offered = {e.offer_slot: inventory.get_slot(tx, e.offer_slot) for e, _ in entries if e.offer_slot}
        context = {
            "patient_name": names.of("Patient", patient), "names": names, "done": done or "",
            "appointments": service.appointments_of(tx, patient=patient), "entries": entries, "offered": offered,
            "specialty_names": {code: c.display(lang) for code, c in SPECIALTIES.items()},
        }  # fmt: skip
        access.record("read", "Patient", patient)
        return page(request, "appointments.html", context)


@router.post("/patient/appointments/{appointment}/cancel", dependencies=CSRF)
def cancel(request: Request, access: PageAccess, appointment: str) -> Response:
    patient = own_patient(access)

    def run(tx: Tx) -> None:
        _mine(tx, patient, appointment)
        service.cancel(tx, appointment_id=appointment)

    response = act(request, run, back="/patient/appointments", then=see("/patient/appointments", done="cancelled"))
    access.record("update", "Appointment", appointment)
    return response


@router.post("/patient/waiting", dependencies=CSRF)
def join(request: Request, access: PageAccess, specialty: Annotated[str, Form(max_length=64)]) -> Response:
    patient = own_patient(access)
    return act(request, lambda tx: waiting.join_waiting_list(tx, patient=patient, specialty=specialty),
               back=f"/patient/booking?{urlencode({'specialty': specialty})}",
               then=see("/patient/appointments", done="waiting"))  # fmt: skip


@router.post("/patient/waiting/{entry}/{answer}", dependencies=CSRF)
def answer_offer(request: Request, access: PageAccess, entry: str, answer: str) -> Response:
    patient = own_patient(access)
    actions = {
        "accept": lambda tx: service.accept_offer(tx, entry_id=entry),
        "decline": lambda tx: waiting.decline_offer(tx, entry_id=entry),
        "leave": lambda tx: waiting.leave_waiting_list(tx, entry_id=entry),
    }
    if answer not in actions:
        raise HTTPException(status_code=404)

    def run(tx: Tx) -> None:
        _my_entry(tx, patient, entry)
        actions[answer](tx)

    return act(request, run, back="/patient/appointments", then=see("/patient/appointments", done=answer))


@router.get("/patient/notices", response_class=HTMLResponse)
def notices_page(request: Request, access: PageAccess) -> Response:
    patient = own_patient(access)
    with store_of(request).reader() as tx:
        found = notices.notices_of(tx, patient=patient)
        names = Names(tx)
        shown = [(names.when(parse_instant(n.resource["sent"])) if "sent" in n.resource else "",
                  notices.text_of(n.resource), n.resource.get("status")) for n in found]  # fmt: skip
        context = {"patient_name": names.of("Patient", patient), "notices": shown}
        for notice in found:
            access.record("read", "Communication", notice.id)
        return page(request, "notices.html", context)
