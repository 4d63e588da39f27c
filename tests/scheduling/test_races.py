"""Concurrency: many transactions at once on one small inventory, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import func, select

from medcity.kit.errors import Conflict, Unprocessable
from medcity.scheduling import service, waiting
from medcity.scheduling.tables import sched_appointment, sched_slot, sched_waiting
from medcity.store.repository import Store
from tests.scheduling.conftest import NOW, add_patient, publish_day

T = TypeVar("T")
# The suite books 200 times on 10 slots; MEDCITY_RACE_SCALE=5 gives the 1,000 attempts on 50 slots.
SCALE = int(os.environ.get("MEDCITY_RACE_SCALE", "1"))
WORKERS = 12  # below the SQLite pool's 15 connections, so nobody waits for a connection instead of a lock


def run_all(tasks: list[Callable[[], T]]) -> list[T | Exception]:
    def attempt(task: Callable[[], T]) -> T | Exception:
        try:
            return task()
        except (Conflict, Unprocessable) as refused:
            return refused

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(attempt, tasks))


def patients(store: Store, count: int, prefix: str = "r") -> list[str]:
    with store.transaction() as tx:
        return [add_patient(tx, f"{prefix}{n}") for n in range(count)]


def booker(store: Store, patient: str, slot: str) -> Callable[[], str]:
    def run() -> str:
        with store.transaction() as tx:
            return service.book(tx, patient=patient, slot_id=slot, channel="self", now=NOW).id

    return run


def active_by_slot(store: Store) -> Counter[str]:
    a = sched_appointment
    with store.reader() as tx:
        rows = tx.conn.execute(select(a.c.slot).where(a.c.partition == tx.region, a.c.status == "booked"))
        return Counter(row.slot for row in rows)


def test_twenty_attempts_per_slot_give_exactly_one_appointment_per_slot(store: Store) -> None:
    slots = publish_day(store, "ent1", specialty="otorhinolaryngologist", slots=10 * SCALE)
    people = patients(store, 200 * SCALE)
    results = run_all([booker(store, p, slots[n % len(slots)]) for n, p in enumerate(people)])
    won = [r for r in results if isinstance(r, str)]
    assert len(won) == len(slots)
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, str))
    assert active_by_slot(store) == Counter({slot: 1 for slot in slots})
    with store.reader() as tx:
        assert tx.search("Appointment", [("status", "booked")]).total == len(slots)
        assert {tx.read("Slot", s).resource["status"] for s in slots} == {"busy"}
        booked = tx.conn.execute(
            select(func.count()).where(sched_slot.c.partition == tx.region, sched_slot.c.status == "booked")
        ).scalar_one()
    assert booked == len(slots)


def test_concurrent_reschedules_leave_each_patient_exactly_one_appointment(store: Store) -> None:
    slots = publish_day(store, "ent1", specialty="otorhinolaryngologist", slots=30)
    people = patients(store, 6)
    firsts = [booker(store, p, slots[n])() for n, p in enumerate(people)]
    targets = iter(slots[6:])

    def mover(appointment: str, slot: str) -> Callable[[], str]:
        def run() -> str:
            with store.transaction() as tx:
                return service.reschedule(tx, appointment_id=appointment, slot_id=slot, channel="self", now=NOW).id

        return run

    # Four moves of each appointment at once, each to a different free slot: one of them wins.
    results = run_all([mover(a, next(targets)) for a in firsts for _ in range(4)])
    assert sum(isinstance(r, str) for r in results) == 6
    a = sched_appointment
    with store.reader() as tx:
        per_patient = Counter(
            tx.conn.execute(select(a.c.patient).where(a.c.partition == tx.region, a.c.status == "booked")).scalars()
        )
        busy = {s for s in slots if tx.read("Slot", s).resource["status"] == "busy"}
    assert per_patient == Counter({p: 1 for p in people})
    assert busy == set(active_by_slot(store))


def test_a_waiting_list_offer_never_goes_to_two_patients(store: Store) -> None:
    slots = publish_day(store, "ent1", specialty="otorhinolaryngologist", slots=20)
    holders = patients(store, 20, "h")
    appointments = [booker(store, p, s)() for p, s in zip(holders, slots, strict=True)]
    waiters = patients(store, 30, "w")
    for n, p in enumerate(waiters):
        with store.transaction() as tx:
            waiting.join_waiting_list(tx, patient=p, specialty="otorhinolaryngologist", now=NOW.replace(minute=n))

    def canceller(appointment: str) -> Callable[[], str]:
        def run() -> str:
            with store.transaction() as tx:
                return service.cancel(tx, appointment_id=appointment, now=NOW).id

        return run

    assert all(isinstance(r, str) for r in run_all([canceller(a) for a in appointments]))
    w = sched_waiting
    with store.reader() as tx:
        offers = tx.conn.execute(
            select(w.c.patient, w.c.offer_slot).where(w.c.partition == tx.region, w.c.status == "offered")
        ).all()
        held = {s for s in slots if tx.read("Slot", s).resource["status"] == "busy-tentative"}
    assert len(offers) == 20
    assert {o.offer_slot for o in offers} == set(slots) == held
    # Fair order: the first twenty in line got the twenty slots, one each.
    assert sorted(o.patient for o in offers) == sorted(waiters[:20])


def test_a_cancellation_racing_reschedules_leaves_zero_or_one_appointment(store: Store) -> None:
    slots = publish_day(store, "ent1", specialty="otorhinolaryngologist", slots=30)
    people = patients(store, 6)
    firsts = [booker(store, p, slots[n])() for n, p in enumerate(people)]
    targets = iter(slots[6:])

    def change(appointment: str, slot: str | None) -> Callable[[], str]:
        def run() -> str:
            with store.transaction() as tx:
                if slot is None:
                    return "cancelled:" + service.cancel(tx, appointment_id=appointment, now=NOW).id
                return service.reschedule(tx, appointment_id=appointment, slot_id=slot, channel="self", now=NOW).id

        return run

    tasks = [change(a, None if k == 1 else next(targets)) for a in firsts for k in range(4)]
    results = run_all(tasks)
    a = sched_appointment
    with store.reader() as tx:
        booked = Counter(
            tx.conn.execute(select(a.c.patient).where(a.c.partition == tx.region, a.c.status == "booked")).scalars()
        )
    for n, patient in enumerate(people):
        # Exactly one change per appointment wins; if it was the cancellation the patient has none, else one.
        outcomes = [r for r in results[4 * n : 4 * n + 4] if isinstance(r, str)]
        assert len(outcomes) == 1
        assert booked[patient] == (0 if outcomes[0].startswith("cancelled:") else 1)
