"""The demo doctor's day: patients booked into their next working day, so that logging in as the demo doctor
shows a day list to work through (the seed writes history, not the future)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from medcity.demo.accounts import DemoCast, demo_cast
from medcity.kit.errors import MedcityError
from medcity.scheduling import service
from medcity.scheduling.rules import CHANNELS_BY_KIND, rules_for
from medcity.scheduling.tables import sched_appointment, sched_slot
from medcity.store.repository import Store, Tx

CHANNEL = "registry"  # the registrar books them, as a polyclinic would for its own patients


def book_demo_day(store: Store, *, now: datetime, count: int = 8) -> int:
    """Fill the demo doctor's next day that has free time up to ``count`` appointments, with patients attached to
    their polyclinic (the demo patient first); returns how many were booked. Running it again books nothing new
    for a day already filled. Each booking is its own transaction, so a refused one leaves nothing behind."""
    now = now.astimezone(UTC).replace(tzinfo=None)  # as the inventory keeps times
    with store.reader() as tx:
        cast = demo_cast(tx)
        plan = _plan(tx, cast, now=now, count=count)
    if plan is None:
        return 0
    free, wanted = plan
    patients = [p for p in dict.fromkeys([cast.patient, *cast.attached_adults]) if p is not None]
    booked = 0
    for slot_id in free:
        while booked < wanted and patients:
            patient = patients.pop(0)
            try:
                with store.transaction() as tx:
                    service.book(tx, patient=patient, slot_id=slot_id, channel=CHANNEL, now=now)
            except MedcityError:
                continue  # this patient may not book it (already booked with this specialty, ...): the next one
            booked += 1
            break
        if booked >= wanted or not patients:
            break
    return booked


def _plan(tx: Tx, cast: DemoCast, *, now: datetime, count: int) -> tuple[list[str], int] | None:
    """The free slots of the doctor's next day with free time, and how many more appointments that day wants."""
    if cast.doctor_role is None:
        return None
    zone = rules_for(tx.region).timezone
    s = sched_slot
    kinds = [kind for kind, channels in CHANNELS_BY_KIND.items() if CHANNEL in channels]
    first = tx.conn.execute(
        select(func.min(s.c.start)).where(
            s.c.partition == tx.region, s.c.role == cast.doctor_role, s.c.status == "free", s.c.start >= now,
            s.c.kind.in_(kinds),
        )
    ).scalar_one()  # fmt: skip
    if first is None:
        return None
    # The inventory keeps naive UTC; the day is the region's.
    local_day = first.replace(tzinfo=UTC).astimezone(zone).date()
    day_end = datetime.combine(local_day + timedelta(days=1), time(), zone).astimezone(UTC).replace(tzinfo=None)
    a = sched_appointment
    booked_already = tx.conn.execute(
        select(func.count()).where(
            a.c.partition == tx.region, a.c.role == cast.doctor_role, a.c.start >= now, a.c.start < day_end,
            a.c.status != "cancelled",
        )
    ).scalar_one()  # fmt: skip
    free = [
        row.id
        for row in tx.conn.execute(
            select(s.c.id).where(
                s.c.partition == tx.region, s.c.role == cast.doctor_role, s.c.status == "free", s.c.start >= now,
                s.c.start < day_end, s.c.kind.in_(kinds),
            ).order_by(s.c.start, s.c.id)
        )
    ]  # fmt: skip
    return free, max(0, count - int(booked_already))
