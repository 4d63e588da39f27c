"""The polyclinic's follow-up worklist and the hospital's ward view, in a city's worth of discharges and beds.

A city of 20 polyclinics with 1,500 patients each, every one discharged once in the last 60 days (a discharge
summary each: about 750 in one polyclinic's 30-day window, the pace of a polyclinic of ~90,000 attached people at
Moscow's ~10 % yearly hospitalisation), and a hospital of 600 beds, 500 of them occupied. Measured in-process
through the service functions the pages call (chained search Composition?patient.organization=..., the seen
marks, the beds and their stays), so the figure is the database work of a page.

Target (ours): p95 <= 150 ms for each, on SQLite and on PostgreSQL.
Usage: python bench/followup_worklist.py [--engine sqlite|postgresql|both] [--requests 50] [--polyclinics 20]
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import add_engine_option, database, engines, report

from medcity.hospital import service as hospital
from medcity.hospital.codes import ACT_CODE, BED, BED_STATUS, LOINC, PHYSICAL_TYPE, WARD
from medcity.kit.db import make_engine, refresh_statistics
from medcity.store.repository import JSON, Store

POLYCLINICS, PATIENTS, WARDS, BEDS_PER_WARD, OCCUPIED = 20, 1500, 20, 30, 500
REGION = "77"


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>-</p></div>'}


def summary(patient: str, when: str, hospital_id: str) -> JSON:
    return {
        "resourceType": "Composition", "status": "final", "date": when, "title": "Выписной эпикриз",
        "type": {"coding": [{"system": LOINC, "code": "18842-5"}]}, "subject": ref("Patient", patient),
        "author": [ref("Organization", hospital_id)], "custodian": ref("Organization", hospital_id),
        "section": [{"title": "Рекомендации", "text": NARRATIVE}],
    }  # fmt: skip


def stay(patient: str, ward: str, bed: str, hospital_id: str) -> JSON:
    bed_type = {"coding": [{"system": PHYSICAL_TYPE, "code": BED}]}
    return {
        "resourceType": "Encounter", "status": "in-progress", "class": {"system": ACT_CODE, "code": "IMP"},
        "subject": ref("Patient", patient), "serviceProvider": ref("Organization", hospital_id),
        "location": [{"location": ref("Location", ward), "status": "active"},
                     {"location": ref("Location", bed), "status": "active", "physicalType": bed_type}],
    }  # fmt: skip


def seed(store: Store, now: datetime, polyclinic_count: int = POLYCLINICS) -> tuple[str, str]:
    """The city; returns (one polyclinic, the hospital)."""
    with store.transaction() as tx:
        hospital_id = tx.create({"resourceType": "Organization", "name": "Больница"}).stored.id
        polyclinics = [tx.create({"resourceType": "Organization", "name": f"Поликлиника {n}"}).stored.id
                       for n in range(polyclinic_count)]  # fmt: skip
    for n, polyclinic in enumerate(polyclinics):
        with store.transaction() as tx:
            for i in range(PATIENTS):
                pid = tx.create({"resourceType": "Patient", "name": [{"family": f"П{n}-{i}"}],
                                 "managingOrganization": ref("Organization", polyclinic)}).stored.id  # fmt: skip
                when = (now - timedelta(hours=(i * 60 * 24) // PATIENTS)).replace(tzinfo=UTC).isoformat()
                tx.create(summary(pid, when, hospital_id))
    with store.transaction() as tx:
        query = [("organization", f"Organization/{polyclinics[0]}"), ("_count", str(OCCUPIED))]
        patients = [s.id for s in tx.search("Patient", query).matches]
        occupied = {"system": BED_STATUS, "code": "O"}
        for w in range(WARDS):
            ward = tx.create(place(f"Отделение {w}", WARD, hospital_id)).stored.id
            for b in range(BEDS_PER_WARD):
                taken = w * BEDS_PER_WARD + b < OCCUPIED
                data = {**place(f"Койка {b}", BED, hospital_id), "partOf": ref("Location", ward)}
                bed = tx.create({**data, "operationalStatus": occupied} if taken else data).stored.id
                if taken:
                    tx.create(stay(patients[(w * BEDS_PER_WARD + b) % len(patients)], ward, bed, hospital_id))
    return polyclinics[0], hospital_id


def place(name: str, kind: str, organization: str) -> JSON:
    return {"resourceType": "Location", "name": name, "status": "active",
            "managingOrganization": ref("Organization", organization),
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": kind}]}}  # fmt: skip


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1)


def run(engine_name: str, requests: int, polyclinic_count: int) -> dict[str, Any]:
    with database(engine_name) as url:
        engine = make_engine(url)
        store = Store(engine, REGION)
        now = datetime.now(UTC).replace(tzinfo=None)
        started = time.perf_counter()
        polyclinic, hospital_id = seed(store, now, polyclinic_count)
        seeded = time.perf_counter() - started
        refresh_statistics(engine)  # as autovacuum would within a minute of the load
        # As the server does once it has started (medcity.app): what exists now lives as long as the process and is
        # left out of the collector's full passes. Without it, the seed's leftovers made every ~10th request here
        # pay a ~100 ms full collection that the server does not.
        gc.collect()
        gc.freeze()
        followup, ward = [], []
        rows = beds = 0
        for _ in range(requests):
            t0 = time.perf_counter()
            with store.reader() as tx:
                rows = len(hospital.followup(tx, organization=polyclinic, now=now))
            t1 = time.perf_counter()
            with store.reader() as tx:
                beds = sum(len(w.beds) for w in hospital.wards_of(tx, hospital=hospital_id))
            ward.append(time.perf_counter() - t1)
            followup.append(t1 - t0)
        engine.dispose()
        return {"seed_s": round(seeded, 1), "followup_rows": rows, "followup_p95_ms": p95(followup),
                "ward_beds": beds, "ward_p95_ms": p95(ward)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    add_engine_option(parser)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--polyclinics", type=int, default=POLYCLINICS, help="the city's size (1,500 patients each)")
    args = parser.parse_args()
    for engine in engines(args.engine):  # each engine's figures as soon as they are measured
        figures = run(engine, args.requests, args.polyclinics)
        report("followup_worklist", {engine: figures, "polyclinics": args.polyclinics, "target_p95_ms": 150})


if __name__ == "__main__":
    main()
