"""Slot finding: free slots of one specialty across a city, the patient's own polyclinic first, 14-day horizon.

The inventory is loaded directly (rows only: finding reads only the inventory, never the FHIR Slots), 70 % of it
booked. Each query is `service.find_slots` in its own read transaction, for a random patient (whose polyclinic is
read from their Patient resource), a random specialty and a random start within the horizon.

Target: p95 <= 30 ms with 25,000 practitioners (several million slots).
Usage: python bench/booking_find.py [--engine sqlite|postgresql|both] [--practitioners 25000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from _common import add_engine_option, bulk, database, engines, median, report

from medcity.kit.db import make_engine
from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling import service
from medcity.scheduling.tables import sched_slot
from medcity.store.repository import Store

REGION = "77"
PER_ORGANIZATION = 40  # doctors per polyclinic: 25,000 doctors in 625 institutions, as in Moscow
SLOTS_PER_DAY = 20  # 08:00-18:00, 30 minutes
DAYS = 14
START = datetime(2026, 12, 1, 5, 0)  # 08:00 Moscow
CODES = sorted(SPECIALTIES)
# District therapists are the largest group; every other specialty shares the rest evenly.
WEIGHTS = [40 if code == "therapist-district" else 60 / (len(CODES) - 1) for code in CODES]


def slot_rows(practitioners: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for doctor in range(practitioners):
        organization = f"org{doctor // PER_ORGANIZATION}"
        specialty = rng.choices(CODES, WEIGHTS)[0]
        for day in range(DAYS):
            for n in range(SLOTS_PER_DAY):
                start = START + timedelta(days=day, minutes=30 * n)
                yield {"partition": REGION, "id": f"s{doctor}-{day}-{n}", "schedule": f"sch{doctor}",
                       "role": f"role{doctor}", "organization": organization, "location": f"{organization}-loc",
                       "specialty": specialty, "start": start, "end": start + timedelta(minutes=30), "kind": "self",
                       "status": "booked" if rng.random() < 0.7 else "free", "hold_until": None,
                       "version": 1}  # fmt: skip


def load(store: Store, practitioners: int) -> list[str]:
    rng = random.Random(5)
    bulk(store, sched_slot, slot_rows(practitioners, rng))
    organizations = practitioners // PER_ORGANIZATION or 1
    with store.transaction() as tx:
        return [
            tx.create({"resourceType": "Patient", "managingOrganization": {
                "reference": f"Organization/org{rng.randrange(organizations)}"}}).stored.id
            for _ in range(500)
        ]  # fmt: skip


def run(engine_name: str, practitioners: int, runs: int, queries: int) -> dict[str, Any]:
    with database(engine_name) as url:
        engine = make_engine(url)
        store = Store(engine, REGION)
        began = time.perf_counter()
        patients = load(store, practitioners)
        loaded_s = time.perf_counter() - began
        if engine_name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE sched_slot")
        rng = random.Random(11)
        p50s, p95s, found = [], [], 0
        for _ in range(runs):
            times = []
            for _ in range(queries):
                start = START + timedelta(hours=rng.randrange(DAYS * 24))
                began = time.perf_counter()
                with store.reader() as tx:
                    rows = service.find_slots(
                        tx, specialty=rng.choice(CODES), patient=rng.choice(patients), start=start,
                        end=START + timedelta(days=DAYS), count=10, now=START,
                    )  # fmt: skip
                times.append((time.perf_counter() - began) * 1000)
                found += len(rows)
            times.sort()
            p50s.append(times[len(times) // 2])
            p95s.append(times[int(len(times) * 0.95)])
        engine.dispose()
    return {"slots": practitioners * DAYS * SLOTS_PER_DAY, "load_s": round(loaded_s, 1),
            "p50_ms_runs": [round(p, 2) for p in p50s], "p95_ms_runs": [round(p, 2) for p in p95s],
            "p95_ms_median": round(median(p95s), 2), "mean_found": round(found / (runs * queries), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    add_engine_option(parser)
    parser.add_argument("--practitioners", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    figures = {e: run(e, args.practitioners, args.runs, args.queries) for e in engines(args.engine)}
    report("booking_find", {"practitioners": args.practitioners, "target_p95_ms": 30, **figures})


if __name__ == "__main__":
    main()
