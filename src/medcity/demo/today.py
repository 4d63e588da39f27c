"""The demo doctor's day: patients booked into their next working day, so that logging in as the demo doctor
shows a day list to work through (the seed writes history, not the future)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from medcity.demo.accounts import DemoCast, demo_cast
from medcity.kit.errors import MedcityError
from medcity.registry.catalogue import specialty_code
from medcity.scheduling import service
from medcity.scheduling.resources import day_bounds
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store, Tx

CHANNEL = "registry"  # the registrar books them, as a polyclinic would for its own patients


def book_demo_day(store: Store, *, now: datetime, count: int = 8) -> int:
    """Fill the demo doctor's next day that has free time up to ``count`` appointments, with patients attached to
    their polyclinic (the demo patient first); returns how many were booked. Running it again books nothing new
    for a day already filled. Each booking is its own transaction, so a refused one leaves nothing behind."""
    now = now.astimezone(UTC).replace(tzinfo=None)  # as the inventory keeps times
    with store.reader() as tx:
        cast = demo_cast(tx)
        free, wanted = _plan(tx, cast, now=now, count=count)
    patients = list(cast.adults)
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


def _plan(tx: Tx, cast: DemoCast, *, now: datetime, count: int) -> tuple[list[str], int]:
    """The free slots of the doctor's next day with free time, and how many more appointments that day wants."""
    role = tx.current("PractitionerRole", cast.doctor_role) if cast.doctor_role else None
    specialty = specialty_code(role.resource.get("specialty") or []) if role else None
    if role is None or specialty is None:
        return [], 0
    rules = rules_for(tx.region)
    free = service.find_slots(
        tx, specialty=specialty, start=now, end=now + timedelta(days=rules.horizon_days), organization=cast.polyclinic,
        role=role.id, count=200, channel=CHANNEL, now=now,
    )  # fmt: skip
    if not free:
        return [], 0
    # The inventory keeps naive UTC; the day is the region's.
    _start, day_end = day_bounds(tx.region, free[0].start.replace(tzinfo=UTC).astimezone(rules.timezone).date())
    booked_already = service.day_list(tx, roles=[role.id], start=now, end=day_end)
    return [slot.id for slot in free if slot.start < day_end], max(0, count - len(booked_already))
