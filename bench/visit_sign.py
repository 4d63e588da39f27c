"""Signing a visit: one transaction that checks the protocol and writes 10 resources — the finished Encounter, one
Condition, seven vital-sign Observations (blood pressure panel, pulse, temperature, height, weight, BMI, SpO₂) and
the protocol Composition — exactly as the doctor's "Sign" button does (`medcity.visits.service.sign`, after
`load_visit`), over a store that already holds other patients' visits.

Target: p95 <= 50 ms. Besides wall time it prints this process's CPU time per signing (`time.process_time`), which
a busy shared machine inflates far less than wall time (for PostgreSQL the server's own work is not in it).
Usage: python bench/visit_sign.py [--engine sqlite|postgresql|both] [--visits 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import database, median, report

from medcity.kit.db import make_engine, refresh_statistics
from medcity.store.repository import Store
from medcity.visits import service

REGION = "77"
FORM = service.ProtocolForm(
    texts={"complaints": "Кашель, насморк, температура 37,8 три дня", "anamnesis": "Болеет 3 дня",
           "examination": "Зев гиперемирован, дыхание везикулярное", "recommendations": "Обильное питьё"},
    diagnoses=["J06.9"],
    vitals={"systolic": "124", "diastolic": "78", "pulse": "76", "temperature": "37.8", "height": "170",
            "weight": "70", "spo2": "97"},
)  # fmt: skip


def open_visits(store: Store, count: int) -> tuple[str, str, list[str]]:
    with store.transaction() as tx:
        org = tx.create({"resourceType": "Organization", "name": "Поликлиника"}).stored.id
        doctor = tx.create({"resourceType": "Practitioner", "name": [{"family": "Терапевтова"}]}).stored.id
        encounters = []
        for i in range(count):
            patient = tx.create({"resourceType": "Patient", "name": [{"family": f"Пациент{i}"}],
                                 "managingOrganization": {"reference": f"Organization/{org}"}}).stored.id  # fmt: skip
            data = service.new_walk_in_visit(tx, patient=patient, practitioner=doctor, organization=org)
            encounters.append(service.create_visit(tx, data).id)
    return org, doctor, encounters


def run(engine_name: str, visits: int, runs: int) -> dict[str, Any]:
    p50s, p95s, cpu95s = [], [], []
    with database(engine_name) as url:
        engine = make_engine(url)
        store = Store(engine, REGION)
        for _ in range(runs):
            org, doctor, encounters = open_visits(store, visits)
            refresh_statistics(engine)  # as autovacuum would within a minute of loading them
            times, cpu = [], []
            for encounter in encounters:
                began, began_cpu = time.perf_counter(), time.process_time()
                with store.transaction() as tx:
                    visit = service.load_visit(tx, encounter_id=encounter)
                    signed = service.sign(tx, visit=visit, practitioner=doctor, organization=org, form=FORM)
                times.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
                assert len(signed.written) == 10
            times.sort()
            p50s.append(times[len(times) // 2])
            p95s.append(times[int(len(times) * 0.95)])
            cpu.sort()
            cpu95s.append(cpu[int(len(cpu) * 0.95)])
        engine.dispose()
    return {"resources_per_signing": 10, "p50_ms_runs": [round(p, 2) for p in p50s],
            "p95_ms_runs": [round(p, 2) for p in p95s], "p95_ms_median": round(median(p95s), 2),
            "client_cpu_p95_ms_runs": [round(p, 2) for p in cpu95s]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--visits", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    figures = {e: run(e, args.visits, args.runs) for e in engines}
    report("visit_sign", {"visits": args.visits, "target_p95_ms": 50, **figures})


if __name__ == "__main__":
    main()
