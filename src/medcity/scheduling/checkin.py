"""Arrival at the polyclinic: a patient checks in at a kiosk with their ОМС policy number and birth date, or at
the desk; a walk-in is booked into a free emergency-reserve (or registry) slot of today and checked in at once.

The kiosk answers the same "nothing found" whether the person is unknown, the birth date is wrong or there is no
appointment today, so that it cannot be used to learn who is a patient where.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, select

from medcity.kit.errors import Unprocessable
from medcity.kit.i18n import N_
from medcity.scheduling import service
from medcity.scheduling.resources import utcnow
from medcity.scheduling.tables import sched_appointment, sched_slot
from medcity.store.repository import Tx

# How late a patient may still check in for an appointment (after that it is for the desk).
LATE = timedelta(minutes=30)
WALK_IN_KINDS = ("reserve", "registry")


def due_today(tx: Tx, *, patient: str, organization: str, now: datetime, day_end: datetime) -> list[Row]:
    """The patient's booked appointments at the organisation that can still be checked in today."""
    a = sched_appointment
    query = select(a).where(
        a.c.partition == tx.region, a.c.patient == patient, a.c.organization == organization,
        a.c.status == "booked", a.c.start >= now - LATE, a.c.start < day_end,
    )  # fmt: skip
    return list(tx.execute(query.order_by(a.c.start)))


def check_in_patient(
    tx: Tx, *, patient: str, organization: str, day_end: datetime, now: datetime | None = None
) -> list[Row]:
    """Check in every appointment the patient has at the organisation for the rest of today; returns them (as
    they were before, booked), or raises when there is none."""
    due = due_today(tx, patient=patient, organization=organization, now=now or utcnow(), day_end=day_end)
    if not due:
        raise Unprocessable(N_("No appointment to check in today was found for these details"))
    for appointment in due:
        service.check_in(tx, appointment_id=appointment.id)
    return due


def walk_in_slots(tx: Tx, *, organization: str, day_end: datetime, now: datetime | None = None) -> list[Row]:
    """Today's free slots kept for the desk (emergency reserve first, then registry-only), earliest first."""
    s = sched_slot
    query = select(s).where(
        s.c.partition == tx.region, s.c.organization == organization, s.c.status == "free",
        s.c.kind.in_(WALK_IN_KINDS), s.c.start > (now or utcnow()), s.c.start < day_end,
    )  # fmt: skip
    rows = list(tx.execute(query.order_by(s.c.start, s.c.id)))
    return sorted(rows, key=lambda row: (WALK_IN_KINDS.index(row.kind), row.start))


def walk_in(tx: Tx, *, patient: str, slot_id: str, organization: str, now: datetime | None = None) -> str:
    """Book a walk-in into a desk slot of the desk's `organization` today and check them in; returns the
    appointment id."""
    appointment = service.book(tx, patient=patient, slot_id=slot_id, channel="registry", now=now,
                               organization=organization)  # fmt: skip
    service.check_in(tx, appointment_id=appointment.id)
    return appointment.id
