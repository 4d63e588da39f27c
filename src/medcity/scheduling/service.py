"""Scheduling workflows: find free slots, book, cancel, reschedule, accept a waiting-list offer, check in, no-show.

Every function takes the caller's `Tx`, so a workflow is one database transaction: it all happens or none of it.
Slots are published by `medcity.scheduling.publish`, the waiting list lives in `medcity.scheduling.waiting`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from medcity.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from medcity.kit.i18n import N_, Label
from medcity.kit.ids import new_id
from medcity.registry.catalogue import SPECIALTIES, SPECIALTY_SYSTEM
from medcity.scheduling import inventory, notices, waiting
from medcity.scheduling.publish import block_slots
from medcity.scheduling.resources import appointment_resource, ref_id, utcnow
from medcity.scheduling.rules import CHANNELS_BY_KIND, RegionRules, rules_for
from medcity.scheduling.tables import sched_appointment, sched_slot, sched_waiting
from medcity.store.repository import JSON, StoredResource, Tx

# FHIR Appointment statuses in which the patient is still to be seen.
OPEN_APPOINTMENT = ("booked", "arrived", "checked-in")


def find_slots(
    tx: Tx,
    *,
    specialty: str,
    start: datetime,
    end: datetime,
    patient: str | None = None,
    organization: str | None = None,
    location: str | None = None,
    role: str | None = None,
    count: int = 10,
    channel: str = "self",
    now: datetime | None = None,
) -> list[Row]:
    """Free slots of a specialty in [start, end), earliest first; the patient's own polyclinic first, then the rest
    of the region. Only the slot kinds the channel may book are listed; ``role`` keeps one doctor's (a
    PractitionerRole id)."""
    rules_for(tx.region).check_specialty(specialty)
    s = sched_slot
    kinds = [kind for kind, channels in CHANNELS_BY_KIND.items() if channel in channels]
    base = select(s).where(
        s.c.partition == tx.region,
        s.c.specialty == specialty,
        s.c.status == "free",
        s.c.start >= max(start, now or utcnow()),
        s.c.start < end,
        s.c.kind.in_(kinds),
    )
    if location is not None:
        base = base.where(s.c.location == location)
    if role is not None:
        base = base.where(s.c.role == role)
    own = organization or (_home_organization(tx, patient) if patient else None)
    if own is None:
        return list(tx.execute(base.order_by(s.c.start, s.c.id).limit(count)))
    found = list(tx.execute(base.where(s.c.organization == own).order_by(s.c.start, s.c.id).limit(count)))
    if organization is None and len(found) < count:
        others = base.where(s.c.organization != own).order_by(s.c.start, s.c.id).limit(count - len(found))
        found += tx.execute(others)
    return found


def _home_organization(tx: Tx, patient: str) -> str | None:
    stored = tx.current("Patient", patient)
    if stored is None or stored.deleted:
        return None
    return ref_id(stored.resource.get("managingOrganization"), "Organization")


def book(
    tx: Tx,
    *,
    patient: str,
    slot_id: str,
    channel: str,
    referral: str | None = None,
    now: datetime | None = None,
    body: JSON | None = None,
    organization: str | None = None,
) -> StoredResource:
    """Book the slot for the patient under the region's rules; a slot someone else took is a `Conflict`, a slot of
    another organisation than `organization` (when given: a registrar's own) is refused.

    `body` is an Appointment a client sent (plain FHIR create): its own fields (reason, comment, ...) are kept, and
    the ones booking decides (status, slot, times, participants) are set here."""
    now = now or utcnow()
    rules = rules_for(tx.region)
    slot = _claim(tx, slot_id=slot_id, patient=patient)
    if organization is not None and slot.organization != organization:
        raise Forbidden(
            N_("Slot/%(slot_id)s belongs to another organisation: a registrar books their own organisation's"),
            slot_id=slot_id,
        )
    rules.check_channel(kind=slot.kind, channel=channel)
    rules.check_window(start=slot.start, now=now)
    _check_patient(tx, rules, patient=patient, specialty=slot.specialty, channel=channel, now=now)
    if referral is not None or rules.needs_referral(specialty=slot.specialty, kind=slot.kind):
        _check_referral(tx, referral=referral, patient=patient, specialty=slot.specialty, now=now)
    appointment = _record(tx, rules, slot=slot, patient=patient, channel=channel, referral=referral, now=now, body=body)
    _tell(tx, "booked", slot=slot, patient=patient, appointment_id=appointment.id, now=now)
    return appointment


def accept_offer(tx: Tx, *, entry_id: str, now: datetime | None = None) -> StoredResource:
    """The patient confirms a waiting-list offer within its hold window: the held slot becomes their appointment."""
    now = now or utcnow()
    entry = waiting.get_entry(tx, entry_id, lock=True)
    if entry.status != "offered" or entry.offer_until is None or entry.offer_until <= now:
        raise Unprocessable(N_("This offer is no longer open"))
    appointment = book(
        tx, patient=entry.patient, slot_id=entry.offer_slot, channel="waiting-list", referral=entry.referral, now=now
    )
    waiting.mark_booked(tx, entry_id=entry.id, appointment_id=appointment.id)
    return appointment


def cancel(tx: Tx, *, appointment_id: str, now: datetime | None = None) -> StoredResource:
    """Cancel: the slot is freed (and offered to the waiting list), the referral given back."""
    now = now or utcnow()
    appointment = _active(tx, appointment_id)
    cancelled = _release(tx, appointment, status="cancelled", now=now)
    notices.notify_appointment(tx, "cancelled", appointment=dict(appointment._mapping), now=now)
    return cancelled


def reschedule(
    tx: Tx, *, appointment_id: str, slot_id: str, channel: str, now: datetime | None = None
) -> StoredResource:
    """Move an appointment to another slot of the same specialty: the new slot is secured first and the old one
    released after, in one transaction, so the patient never has zero or two appointments; returns the new one."""
    now = now or utcnow()
    rules = rules_for(tx.region)
    old = _active(tx, appointment_id)
    slot = _claim(tx, slot_id=slot_id, patient=old.patient)
    if slot.specialty != old.specialty:
        raise Unprocessable(N_("An appointment can only be moved to a slot of the same specialty"))
    rules.check_channel(kind=slot.kind, channel=channel)
    rules.check_window(start=slot.start, now=now)
    _release(tx, old, status="cancelled", now=now)
    new = _record(tx, rules, slot=slot, patient=old.patient, channel=channel, referral=old.referral, now=now)
    _tell(tx, "rescheduled", slot=slot, patient=old.patient, appointment_id=new.id, now=now)
    return new


def close_period(
    tx: Tx, *, role: str, start: datetime, end: datetime, move: bool = False, now: datetime | None = None
) -> list[str]:
    """Leave or sick days: the doctor's slots in [start, end) are blocked. Each appointment on them is moved to the
    earliest free time of the same specialty at the same polyclinic when `move` is asked and one is free within
    the booking window, else cancelled with its referral given back; the patients are told either way. Returns
    the ids of the appointments taken off the closed period."""
    now = now or utcnow()
    rules = rules_for(tx.region)
    block_slots(tx, role=role, start=start, end=end)  # first, so that nobody is moved into the closed period
    a = sched_appointment
    booked = tx.execute(
        select(a)
        .where(
            a.c.partition == tx.region, a.c.role == role, a.c.start >= start, a.c.start < end, a.c.status == "booked"
        )
        .with_for_update()
    ).all()
    for appointment in booked:
        found = _first_free(tx, rules, appointment=appointment, now=now) if move else None
        slot = _claim(tx, slot_id=found, patient=appointment.patient) if found else None
        _release(tx, appointment, status="cancelled", now=now, slot_status="blocked")
        if slot is None:
            notices.notify_appointment(tx, "closed", appointment=dict(appointment._mapping), now=now)
            continue
        moved = _record(
            tx, rules, slot=slot, patient=appointment.patient, channel="registry", referral=appointment.referral,
            now=now,
        )  # fmt: skip
        _tell(tx, "moved", slot=slot, patient=appointment.patient, appointment_id=moved.id, now=now)
    return [appointment.id for appointment in booked]


def _first_free(tx: Tx, rules: RegionRules, *, appointment: Row, now: datetime) -> str | None:
    found = find_slots(
        tx, specialty=appointment.specialty, organization=appointment.organization, start=now,
        end=now + timedelta(days=rules.booking_window_days), count=1, channel="registry", now=now,
    )  # fmt: skip
    return str(found[0].id) if found else None


def check_in(tx: Tx, *, appointment_id: str) -> StoredResource:
    """The patient has arrived (desk or kiosk)."""
    return _set_status(tx, _active(tx, appointment_id), "arrived")


def fulfil(tx: Tx, *, appointment_id: str) -> StoredResource | None:
    """The patient was seen (the visit is signed): the appointment is fulfilled and its specialty is free to book
    again, for a follow-up; its slot stays taken and its referral used. Returns the fulfilled Appointment, or None
    when it is no longer one the patient is still to be seen on."""
    a = sched_appointment
    row = tx.execute(select(a).where(a.c.partition == tx.region, a.c.id == appointment_id).with_for_update()).first()
    if row is not None:
        if row.status not in ("booked", "arrived"):
            return None
        return _set_status(tx, row, "fulfilled", active_need=None)
    # An Appointment another system wrote, outside the slot inventory.
    current = tx.current("Appointment", appointment_id, for_update=True)
    if current is None or current.deleted or current.resource.get("status") not in OPEN_APPOINTMENT:
        return None
    return tx.update({**current.resource, "status": "fulfilled"}).stored


def mark_no_show(tx: Tx, *, appointment_id: str) -> StoredResource:
    """The patient did not come: counted by the no-show rule; the specialty and referral are free to book again."""
    return _set_status(tx, _active(tx, appointment_id), "noshow", active_need=None, active_referral=None)


# ---- steps -----------------------------------------------------------------------------------------------


def _tell(tx: Tx, kind: str, *, slot: Row, patient: str, appointment_id: str, now: datetime) -> None:
    notices.notify(tx, kind, patient=patient, about=("Appointment", appointment_id), slot=dict(slot._mapping), now=now)


def _claim(tx: Tx, *, slot_id: str, patient: str) -> Row:
    """Take the slot for the patient: free, or held for this patient by a waiting-list offer."""
    try:
        return inventory.set_status(tx, slot_id, "booked", expect=("free",))
    except Conflict:
        if _offered_to(tx, slot_id=slot_id) != patient:
            raise
        return inventory.set_status(tx, slot_id, "booked", expect=("held",))


def _offered_to(tx: Tx, *, slot_id: str) -> str | None:
    w = sched_waiting
    return tx.execute(
        select(w.c.patient).where(w.c.partition == tx.region, w.c.offer_slot == slot_id)
    ).scalar_one_or_none()


# A booking's rule reads, built once: SQLAlchemy walks a new statement for its cache key on every run.
_NO_SHOWS = select(func.count()).where(
    sched_appointment.c.partition == bindparam("partition"), sched_appointment.c.patient == bindparam("patient"),
    sched_appointment.c.status == "noshow", sched_appointment.c.start >= bindparam("since"),
)  # fmt: skip
_HELD_NEED = select(sched_appointment.c.id, sched_appointment.c.start).where(
    sched_appointment.c.partition == bindparam("partition"), sched_appointment.c.active_need == bindparam("need")
)
_INSERT_APPOINTMENT = sched_appointment.insert()


def _check_patient(tx: Tx, rules: RegionRules, *, patient: str, specialty: str, channel: str, now: datetime) -> None:
    stored = tx.current("Patient", patient)
    if stored is None or stored.deleted:
        raise Unprocessable(N_("Patient/%(patient)s is not known"), patient=patient)
    since = now - timedelta(days=rules.no_show_period_days)
    no_shows = tx.execute(_NO_SHOWS, {"partition": tx.region, "patient": patient, "since": since}).scalar_one()
    rules.check_no_shows(channel=channel, no_shows=int(no_shows))
    if not rules.one_per_specialty:
        return
    held = tx.execute(_HELD_NEED, {"partition": tx.region, "need": _need(patient, specialty)}).first()
    if held is None:
        return
    if held.start >= now:
        raise Unprocessable(
            N_("The patient already has an active appointment for %(specialty)s; reschedule it instead"),
            specialty=SPECIALTIES.get(specialty, specialty),
        )
    # An appointment whose time has passed, seen or not, no longer holds the specialty: the patient books anew.
    a = sched_appointment
    tx.execute(update(a).where(a.c.partition == tx.region, a.c.id == held.id).values(active_need=None))


def _need(patient: str, specialty: str) -> str:
    return f"{patient}|{specialty}"


def _check_referral(tx: Tx, *, referral: str | None, patient: str, specialty: str, now: datetime) -> None:
    """A referral is an active ServiceRequest for this patient whose performerType is the specialty, whose validity
    (occurrencePeriod.end) has not passed, not already used by an active appointment (the unique index on
    `active_referral` settles a race): what the referrals' own state calls issued, so that the booking takes what
    the patient's page offers and nothing it does not."""
    if referral is None:
        raise Unprocessable(
            N_("%(specialty)s is booked with a referral (ServiceRequest) only"),
            specialty=SPECIALTIES.get(specialty, specialty),
        )
    stored = tx.current("ServiceRequest", referral)
    data = stored.resource if stored is not None and not stored.deleted else {}
    codes = {
        (coding.get("system"), coding.get("code")) for coding in (data.get("performerType") or {}).get("coding") or []
    }
    if (
        data.get("status") != "active"
        or ref_id(data.get("subject"), "Patient") != patient
        or (SPECIALTY_SYSTEM, specialty) not in codes
    ):
        raise Unprocessable(
            N_("ServiceRequest/%(referral)s is not an active referral of this patient to %(specialty)s"),
            referral=referral,
            specialty=SPECIALTIES.get(specialty, specialty),
        )
    until = str((data.get("occurrencePeriod") or {}).get("end") or "")[:10]
    if until and until < now.date().isoformat():
        raise Unprocessable(N_("ServiceRequest/%(referral)s was valid until %(until)s"), referral=referral, until=until)
    a = sched_appointment
    used = tx.execute(
        select(a.c.id).where(a.c.partition == tx.region, a.c.active_referral == referral)
    ).scalar_one_or_none()
    if used is not None:
        raise Unprocessable(
            N_("ServiceRequest/%(referral)s is already used by Appointment/%(used)s"), referral=referral, used=used
        )


def _record(
    tx: Tx,
    rules: RegionRules,
    *,
    slot: Row,
    patient: str,
    channel: str,
    referral: str | None,
    now: datetime,
    body: JSON | None = None,
) -> StoredResource:
    aid = new_id()
    try:
        tx.execute(
            _INSERT_APPOINTMENT, {
                "partition": tx.region, "id": aid, "slot": slot.id, "patient": patient, "specialty": slot.specialty,
                "role": slot.role, "organization": slot.organization, "start": slot.start, "status": "booked",
                "channel": channel, "referral": referral, "requested": now,
                "wait_days": max(0, (slot.start - now).days), "active_slot": slot.id,
                "active_need": _need(patient, slot.specialty) if rules.one_per_specialty else None,
                "active_referral": referral,
            },
        )  # fmt: skip
    except IntegrityError:
        # Only reachable when a concurrent transaction won between our checks and this insert.
        raise Conflict(N_("A booking for this slot, specialty or referral was made at the same time")) from None
    data = appointment_resource(aid=aid, slot=slot._mapping, patient=patient, referral=referral, created=now)
    return tx.create({**(body or {}), **data}, rid=aid, trusted=body is None).stored


def _active(tx: Tx, appointment_id: str) -> Row:
    a = sched_appointment
    row = tx.execute(select(a).where(a.c.partition == tx.region, a.c.id == appointment_id).with_for_update()).first()
    if row is None:
        raise NotFound(N_("Appointment/%(appointment_id)s is not known"), appointment_id=appointment_id)
    if row.status != "booked":
        raise Unprocessable(
            N_("Appointment/%(appointment_id)s is %(state)s, not booked"),
            appointment_id=appointment_id,
            state=Label(row.status),
        )
    return row


def _release(tx: Tx, appointment: Row, *, status: str, now: datetime, slot_status: str = "free") -> StoredResource:
    """End an active appointment: the specialty and referral are free again; the slot becomes `slot_status` and,
    when free, is offered to the waiting list."""
    inventory.set_status(tx, appointment.slot, slot_status, expect=("booked",))
    if slot_status == "free":
        waiting.offer_slot(tx, slot_id=appointment.slot, now=now)
    return _set_status(tx, appointment, status, active_slot=None, active_need=None, active_referral=None)


def _set_status(tx: Tx, appointment: Row, status: str, **released: None) -> StoredResource:
    """The inventory row and the FHIR Appointment get `status`; `released` clears the row's `active_*` claims in
    the same statement."""
    tx.execute(
        update(sched_appointment)
        .where(sched_appointment.c.partition == tx.region, sched_appointment.c.id == appointment.id)
        .values(status=status, **released)
    )
    current = tx.current("Appointment", appointment.id, for_update=True)
    if current is None:
        raise NotFound(N_("Appointment/%(id)s has no FHIR resource"), id=appointment.id)
    return tx.update({**current.resource, "status": status}).stored


# ---- lists for people --------------------------------------------------------------------------------------


def appointments_of(tx: Tx, *, patient: str, since: datetime | None = None) -> list[Row]:
    """The patient's appointments from `since` (default now) on, earliest first."""
    a = sched_appointment
    query = select(a).where(a.c.partition == tx.region, a.c.patient == patient, a.c.start >= (since or utcnow()))
    return list(tx.execute(query.order_by(a.c.start)))


def day_list(tx: Tx, *, roles: list[str], start: datetime, end: datetime) -> list[Row]:
    """A doctor's appointments (over all their roles) in [start, end), cancelled ones left out."""
    a = sched_appointment
    query = select(a).where(
        a.c.partition == tx.region, a.c.role.in_(roles), a.c.start >= start, a.c.start < end,
        a.c.status != "cancelled",
    )  # fmt: skip
    return list(tx.execute(query.order_by(a.c.start, a.c.id)))


def roles_of(tx: Tx, *, practitioner: str, organization: str | None = None) -> list[str]:
    """The PractitionerRole ids of a practitioner (at one organisation, when given)."""
    params = [("practitioner", f"Practitioner/{practitioner}"), ("_count", "100")]
    if organization:
        params.append(("organization", f"Organization/{organization}"))
    return [found.id for found in tx.search("PractitionerRole", params).matches]


def appointment_row(tx: Tx, appointment_id: str) -> Row:
    a = sched_appointment
    row = tx.execute(select(a).where(a.c.partition == tx.region, a.c.id == appointment_id)).first()
    if row is None:
        raise NotFound(N_("Appointment/%(appointment_id)s is not known"), appointment_id=appointment_id)
    return row


def slots_of(tx: Tx, *, organization: str, start: datetime, end: datetime) -> list[Row]:
    """An organisation's slots in [start, end), by doctor and time: the registrar's view."""
    s = sched_slot
    query = select(s).where(
        s.c.partition == tx.region, s.c.organization == organization, s.c.start >= start, s.c.start < end
    )
    return list(tx.execute(query.order_by(s.c.role, s.c.start)))
