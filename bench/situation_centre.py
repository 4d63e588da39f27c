"""The situation centre at city scale: the booking figures (`scheduling.situation.situation`: waits and channels of
the last 30 days of bookings, the first free time, the coming week's load per polyclinic, specialty and doctor, the
waiting list) and the morbidity figures (`analytics.morbidity.morbidity`: rubrics and chapters of the last 28 days
against the 28 before, and one rubric's rates by polyclinic and by age and sex), each timed as its page reads it,
in one read transaction.

The city is loaded as rows, as `booking_find.py` loads its slot inventory: by default 5,000 doctors' (a fifth of
Moscow's) 14-day inventory (70 % booked), one appointment row per booked slot (requested within the last 30 days)
plus as many older bookings, and the morbidity register's rows (`analytics.tables`) for a population of patients
(polyclinic, birth date, sex) and a year of their diagnoses. No issue sets a target for these pages; the figures
say how they behave on a city's data.

Usage: python bench/situation_centre.py [--engine sqlite|postgresql|both] [--practitioners 5000]
       [--patients 500000] [--conditions 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import add_engine_option, bulk, database, engines, median, report
from booking_find import PER_ORGANIZATION, REGION, START, slot_rows

from medcity.analytics.morbidity import morbidity
from medcity.analytics.tables import morbidity_diagnosis, morbidity_person
from medcity.kit.db import make_engine, refresh_statistics
from medcity.scheduling.situation import situation
from medcity.scheduling.tables import sched_appointment, sched_slot
from medcity.store.repository import Store

# Rubrics a polyclinic records most, with their weights; the rest of the year's diagnoses spread over 200 others.
COMMON = {"J06": 30, "I10": 12, "M54": 8, "J20": 5, "K29": 4, "E11": 4, "J02": 3, "N39": 3, "H10": 2, "L30": 2}
OTHERS = [f"{letter}{n:02d}" for letter in "ABDEFGHKLMNR" for n in range(10, 27)]
TODAY = (START - timedelta(hours=3)).date()  # the region's day the inventory starts on


def appointment_rows(practitioners: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """One appointment per booked slot, requested 0-29 days before it, and as many older bookings (requested 1-12
    months ago): the last 30 days are half of what the index holds."""
    channels = ["self"] * 6 + ["registry"] * 3 + ["kiosk", "doctor", "api"]
    for n, slot in enumerate(s for s in slot_rows(practitioners, random.Random(5)) if s["status"] == "booked"):
        for k in range(2):
            requested = slot["start"] - timedelta(days=rng.randrange(30) if k == 0 else rng.randrange(30, 365))
            yield {"partition": REGION, "id": f"a{n}-{k}", "slot": slot["id"], "patient": f"p{rng.randrange(10**6)}",
                   "specialty": slot["specialty"], "role": slot["role"], "organization": slot["organization"],
                   "start": slot["start"], "status": "booked" if k == 0 else "fulfilled",
                   "channel": rng.choice(channels), "referral": None, "requested": requested,
                   "wait_days": max(0, (slot["start"] - requested).days), "active_slot": slot["id"] if k == 0 else None,
                   "active_need": None, "active_referral": None}  # fmt: skip


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def person_rows(patients: int, organizations: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for n in range(patients):
        born = date(1930 + rng.randrange(95), 1 + rng.randrange(12), 1 + rng.randrange(28))
        yield {"partition": REGION, "patient": f"pt{n}", "organization": f"org{rng.randrange(organizations)}",
               "born": _ms(born), "sex": rng.choice(("female", "male"))}  # fmt: skip


def diagnosis_rows(conditions: int, patients: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """A year of diagnoses before today: common rubrics by their weights, the rest spread over 200 others."""
    codes, weights = [*COMMON, *OTHERS], [*COMMON.values(), *([20 / len(OTHERS)] * len(OTHERS))]
    start = _ms(TODAY - timedelta(days=365))
    for n, rubric in enumerate(rng.choices(codes, weights, k=conditions)):
        yield {"partition": REGION, "condition": f"c{n}", "rubric": rubric, "patient": f"pt{rng.randrange(patients)}",
               "recorded": start + rng.randrange(366 * 86_400_000)}  # fmt: skip


def load(store: Store, practitioners: int, patients: int, conditions: int) -> dict[str, int]:
    rng = random.Random(7)
    organizations = max(1, practitioners // PER_ORGANIZATION)
    return {
        "slots": bulk(store, sched_slot, slot_rows(practitioners, random.Random(5))),
        "appointments": bulk(store, sched_appointment, appointment_rows(practitioners, rng)),
        "patients": bulk(store, morbidity_person, person_rows(patients, organizations, rng)),
        "diagnoses": bulk(store, morbidity_diagnosis, diagnosis_rows(conditions, patients, rng)),
    }


def timed(runs: int, read: Any) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        read()
        times.append((time.perf_counter() - began) * 1000)
    return {"ms_runs": [round(t, 1) for t in times], "ms_median": round(median(times), 1)}


def run(engine_name: str, practitioners: int, patients: int, conditions: int, runs: int) -> dict[str, Any]:
    with database(engine_name) as url:
        engine = make_engine(url)
        store = Store(engine, REGION)
        began = time.perf_counter()
        loaded = load(store, practitioners, patients, conditions)
        refresh_statistics(engine)
        loaded_s = round(time.perf_counter() - began, 1)

        def booking() -> None:
            with store.reader() as tx:
                situation(tx, now=START, period_days=30, ahead_days=7)

        def rubrics() -> None:
            with store.reader() as tx:
                morbidity(tx, start=TODAY - timedelta(days=27), end=TODAY)

        def one_rubric() -> None:
            with store.reader() as tx:
                morbidity(tx, start=TODAY - timedelta(days=27), end=TODAY, focus="J06")

        figures = {"booking": timed(runs, booking), "morbidity": timed(runs, rubrics),
                   "morbidity_J06": timed(runs, one_rubric)}  # fmt: skip
        engine.dispose()
    return {"loaded": loaded, "load_s": loaded_s, **figures}


def main() -> None:
    parser = argparse.ArgumentParser()
    add_engine_option(parser)
    parser.add_argument("--practitioners", type=int, default=5_000)
    parser.add_argument("--patients", type=int, default=500_000)
    parser.add_argument("--conditions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name in engines(args.engine):
        figures = run(name, args.practitioners, args.patients, args.conditions, args.runs)
        report("situation_centre", {"practitioners": args.practitioners, "patients": args.patients,
                                    "conditions": args.conditions, name: figures})  # fmt: skip


if __name__ == "__main__":
    main()
