"""Booking throughput on PostgreSQL: 64 concurrent clients, each booking through `service.book` in its own
transaction (rules, inventory row, FHIR Slot update, FHIR Appointment create), from several processes so that the
GIL is not the limit; then the same check that no slot was booked twice. In the same run, pgbench with 64 clients
runs the minimal SQL transaction a booking needs (claim the slot row, insert the appointment row): the ratio says
how close to the database's limit the booking path is. A booking also writes its notice to the patient (a
Communication), as every booking does.

Target: >= 500 bookings/s, zero double bookings.
Usage: python bench/booking_throughput.py [--runs 3] [--seconds 15] [--processes 4] [--clients 64]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import subprocess
import tempfile
import threading
import time
from datetime import time as clock
from datetime import timedelta
from typing import Any

from _common import database, median, report
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from medcity.kit.db import make_engine, refresh_statistics
from medcity.kit.errors import Conflict
from medcity.scheduling import service
from medcity.scheduling.publish import Session, Template, publish_schedule
from medcity.scheduling.resources import utcnow
from medcity.scheduling.tables import sched_appointment, sched_slot
from medcity.store.repository import Store

REGION = "77"
SPECIALTY = "therapist-district"
PGBENCH_SLOTS = 20_000
PGBENCH_SCRIPT = f"""\\set n random(1, {PGBENCH_SLOTS})
BEGIN;
UPDATE sched_slot SET status = 'booked', version = version + 1 WHERE partition = '77' AND id = 'pgb' || :n;
INSERT INTO sched_appointment (partition, id, slot, patient, specialty, role, organization, start, status, channel,
  requested, wait_days, active_slot) VALUES ('77', md5(random()::text), 'pgb' || :n, 'p', 'x', 'r', 'o', now(),
  'booked', 'api', now(), 0, NULL);
COMMIT;
"""


def setup(url: str, *, roles: int, patients: int) -> tuple[list[str], list[str]]:
    """Every day 08:00-12:00, 15-minute slots, from tomorrow on (so that no slot begins during the runs), for
    `roles` district therapists; `patients` patients."""
    store = Store(make_engine(url), REGION)
    slots: list[str] = []
    tomorrow = (utcnow() + timedelta(days=1)).date()
    for r in range(roles):
        sessions = tuple(Session(weekday=d, start=clock(8), end=clock(12), room=f"loc{r % 50}") for d in range(7))
        template = Template(role=f"role{r}", organization=f"org{r % 50}", specialty=SPECIALTY, sessions=sessions)
        with store.transaction() as tx:
            slots += publish_schedule(tx, template=template, first_day=tomorrow)
    ids: list[str] = []
    while len(ids) < patients:
        with store.transaction() as tx:
            ids += [tx.create({"resourceType": "Patient", "active": True}).stored.id for _ in range(2000)]
    with store.engine.begin() as conn:  # rows only for pgbench's minimal transaction
        start = utcnow() + timedelta(days=1)
        conn.execute(insert(sched_slot), [
            {"partition": REGION, "id": f"pgb{n}", "schedule": "pgb", "role": f"pgb{n}", "organization": "pgb",
             "location": "pgb", "specialty": "pgb", "start": start, "end": start, "kind": "self", "status": "free",
             "hold_until": None, "version": 1} for n in range(1, PGBENCH_SLOTS + 1)
        ])  # fmt: skip
    refresh_statistics(store.engine)  # as autovacuum would within a minute of the load
    store.engine.dispose()
    return slots, ids


def client(store: Store, slots: list[str], patients: list[str], deadline: float, tally: list[int], seed: int) -> None:
    rng = random.Random(seed)
    booked = conflicts = 0
    for patient in patients:
        if time.monotonic() >= deadline:
            break
        try:
            with store.transaction() as tx:
                service.book(tx, patient=patient, slot_id=rng.choice(slots), channel="api")
            booked += 1
        except Conflict:
            conflicts += 1
    tally.append(booked)
    tally.append(-conflicts)


def process(
    url: str, slots: list[str], patients: list[str], threads: int, seconds: float, number: int, out: Any
) -> None:
    store = Store(make_engine(url, pool_size=threads, max_overflow=0), REGION)
    deadline = time.monotonic() + seconds
    tally: list[int] = []
    share = len(patients) // threads
    workers = [
        threading.Thread(
            target=client,
            args=(store, slots, patients[i * share : (i + 1) * share], deadline, tally, number * threads + i),
        )
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((sum(t for t in tally if t > 0), -sum(t for t in tally if t < 0)))


def bookings(
    url: str, slots: list[str], patients: list[str], processes: int, clients: int, seconds: float
) -> dict[str, float]:
    queue: Any = multiprocessing.get_context("fork").Queue()
    share = len(patients) // processes
    began = time.perf_counter()
    procs = [
        multiprocessing.get_context("fork").Process(
            target=process,
            args=(url, slots, patients[p * share : (p + 1) * share], clients // processes, seconds, p, queue),
        )
        for p in range(processes)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - began
    booked, conflicts = sum(r[0] for r in results), sum(r[1] for r in results)
    return {"bookings_per_s": booked / elapsed, "booked": booked, "conflicts": conflicts}


def double_bookings(url: str) -> dict[str, int]:
    engine = make_engine(url)
    a, s = sched_appointment, sched_slot
    with engine.connect() as conn:
        twice = conn.execute(
            select(func.count()).select_from(
                select(a.c.slot).where(a.c.status == "booked", a.c.specialty == SPECIALTY)
                .group_by(a.c.slot).having(func.count() > 1).subquery()
            )
        ).scalar_one()  # fmt: skip
        appointments = conn.execute(
            select(func.count()).where(a.c.status == "booked", a.c.specialty == SPECIALTY)
        ).scalar_one()
        booked_slots = conn.execute(
            select(func.count()).where(s.c.status == "booked", s.c.specialty == SPECIALTY)
        ).scalar_one()
    store = Store(engine, REGION)
    with store.reader() as tx:
        busy = tx.search("Slot", [("status", "busy")]).total
    engine.dispose()
    return {"slots_booked_twice": int(twice), "appointments": int(appointments), "slots_booked": int(booked_slots),
            "fhir_slots_busy": int(busy)}  # fmt: skip


def pgbench(url: str, clients: int, seconds: int) -> float:
    parsed = make_url(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    out = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "4", "-T", str(seconds), "-f", script.name,
         "-h", str(parsed.host), "-p", str(parsed.port), "-U", str(parsed.username), str(parsed.database)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    found = re.search(r"tps = ([0-9.]+)", out)
    assert found, out
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--patients", type=int, default=20_000)
    args = parser.parse_args()
    with database("postgresql") as url:
        slots, patients = setup(url, roles=args.roles, patients=args.patients)
        per_run = len(patients) // args.runs
        runs, ceilings = [], []
        for r in range(args.runs):
            order = slots[:]
            random.Random(r).shuffle(order)  # so that a run does not retry the slots the one before booked
            runs.append(
                bookings(
                    url, order, patients[r * per_run : (r + 1) * per_run], args.processes, args.clients, args.seconds
                )
            )
            ceilings.append(pgbench(url, args.clients, args.seconds))
        checks = double_bookings(url)
    rates = [r["bookings_per_s"] for r in runs]
    report("booking_throughput", {
        "clients": args.clients, "processes": args.processes, "slots": len(slots), "target_bookings_per_s": 500,
        "bookings_per_s_runs": [round(x, 1) for x in rates], "bookings_per_s_median": round(median(rates), 1),
        "conflicts_runs": [r["conflicts"] for r in runs],
        "pgbench_minimal_tps_runs": [round(x, 1) for x in ceilings],
        "pgbench_minimal_tps_median": round(median(ceilings), 1),
        "ratio_of_pgbench": round(median(rates) / median(ceilings), 3),
        **checks,
    })  # fmt: skip


if __name__ == "__main__":
    main()
