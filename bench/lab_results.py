"""Laboratory results ingest: transaction Bundles of one DiagnosticReport with 10 Observations, each for an open
order, posted to /fhir by concurrent clients (as a laboratory's middleware would) into PostgreSQL. Every result
passes the laboratory's rules (known open order, unit, physically possible, range and flag filled in), and each
report completes its order and notifies the patient (and the doctor, for a critical value) in its transaction.
The middleware sends a laboratory technician's bearer token, and the server requires one (the policy decides
each result from its body, which names the laboratory as performer). Target: >= 300 reports/s on this machine.

Usage: python bench/lab_results.py [--engine postgresql|sqlite] [--reports 600] [--clients 8] [--workers 2]
                                   [--runs 3]
"""

from __future__ import annotations

import argparse
import queue
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
from _common import BASE_URL, FHIR_JSON, bearer_header, database, median, patient, report, served
from sqlalchemy import Engine

from medcity.kit.db import make_engine, refresh_statistics
from medcity.orders.catalogue import LOINC, UCUM, catalogue
from medcity.orders.service import category_concept
from medcity.store.repository import Store

# Ten catalogued analytes with a typical value and spread: a blood count and a chemistry panel.
PANEL = [
    ("6690-2", 6.5, 1.5), ("789-8", 4.6, 0.4), ("718-7", 140, 12), ("4544-3", 42, 3), ("777-3", 250, 50),
    ("2823-3", 4.3, 0.4), ("2951-2", 140, 3), ("14749-6", 5.4, 1.0), ("14682-9", 85, 15), ("1988-5", 3, 2),
]  # fmt: skip
REGION = "77"


def setup(url: str, reports: int, seed: int) -> tuple[str, list[tuple[str, str]]]:
    """Patients, a laboratory and a doctor, and one open order per report: the laboratory and (patient, order)
    pairs."""
    rng = random.Random(seed)
    engine: Engine = make_engine(url)
    store = Store(engine, REGION)
    with store.transaction() as tx:
        lab = tx.create({"resourceType": "Organization", "name": "Лаборатория"}).stored.id
        doctor = tx.create({"resourceType": "Practitioner", "name": [{"family": "Врачев"}]}).stored.id
        patients = [tx.create(patient(rng, i)).stored.id for i in range(max(1, reports // 5))]
        pairs = []
        for i in range(reports):
            who = patients[i % len(patients)]
            order = tx.create({
                "resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "category": [category_concept("lab")],
                "code": {"coding": [{"system": LOINC, "code": "58410-2"}]},
                "subject": {"reference": f"Patient/{who}"},
                "requester": {"reference": f"Practitioner/{doctor}"},
                "performer": [{"reference": f"Organization/{lab}"}],
            }).stored.id  # fmt: skip
            pairs.append((who, order))
    refresh_statistics(engine)  # as autovacuum would within a minute of the load
    engine.dispose()
    return lab, pairs


def bundle(rng: random.Random, lab: str, who: str, order: str) -> dict[str, Any]:
    analytes = catalogue().analytes
    entries = []
    for i, (code, mean, sd) in enumerate(PANEL):
        low, high = analytes[code].limits
        value = round(min(max(rng.gauss(mean, sd), low), high), analytes[code].decimals)
        unit = analytes[code].unit
        entries.append({
            "fullUrl": f"urn:uuid:{order[:8]}-0000-4000-8000-{i:012d}",
            "resource": {
                "resourceType": "Observation", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "laboratory"}]}],
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "subject": {"reference": f"Patient/{who}"}, "basedOn": [{"reference": f"ServiceRequest/{order}"}],
                "effectiveDateTime": "2026-11-30T08:00:00Z", "performer": [{"reference": f"Organization/{lab}"}],
                "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
            },
            "request": {"method": "POST", "url": "Observation"},
        })  # fmt: skip
    report_entry = {
        "resource": {
            "resourceType": "DiagnosticReport", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
            "code": {"coding": [{"system": LOINC, "code": "58410-2"}]},
            "subject": {"reference": f"Patient/{who}"}, "basedOn": [{"reference": f"ServiceRequest/{order}"}],
            "issued": "2026-11-30T10:00:00Z", "result": [{"reference": e["fullUrl"]} for e in entries],
            "performer": [{"reference": f"Organization/{lab}"}],
        },
        "request": {"method": "POST", "url": "DiagnosticReport"},
    }  # fmt: skip
    return {"resourceType": "Bundle", "type": "transaction", "entry": [*entries, report_entry]}


def run_once(engine: str, reports: int, clients: int, workers: int, seed: int) -> float:
    rng = random.Random(seed)
    with database(engine) as url, tempfile.TemporaryDirectory() as keys:
        lab, pairs = setup(url, reports + 1, seed)
        bodies = [orjson.dumps(bundle(rng, lab, who, order)) for who, order in pairs]
        headers = {**FHIR_JSON, **bearer_header(Path(keys), REGION, "lab", organization=lab)}
        with served(url, REGION, workers=workers, MEDCITY_AUTH_REQUIRED="true", MEDCITY_BASE_URL=BASE_URL,
                    MEDCITY_SECRET_DIR=keys) as base:  # fmt: skip
            with httpx.Client(base_url=base, timeout=120) as warm:
                warm.post("/fhir", content=bodies.pop(), headers=headers).raise_for_status()

            # One kept-alive connection per client, made before the clock starts, as a laboratory's middleware
            # keeps its own (a new httpx client per report spent the shared cores on TLS contexts and handshakes).
            connections: queue.Queue[httpx.Client] = queue.Queue()
            for _ in range(clients):
                connections.put(httpx.Client(base_url=base, timeout=120))

            def send(body: bytes) -> None:
                client = connections.get()
                try:
                    client.post("/fhir", content=body, headers=headers).raise_for_status()
                finally:
                    connections.put(client)

            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(send, bodies))
            elapsed = time.perf_counter() - start
            while not connections.empty():
                connections.get().close()
    return len(bodies) / elapsed


def rules_share(engine: str, reports: int, seed: int) -> tuple[float, float]:
    """Milliseconds per report through the store in this process (no HTTP), with the laboratory's rules and
    without them (the same bundles, the generic write only): what the rules cost, measured inside one run."""
    from medcity.auth.gate import Access, Principal
    from medcity.fhir.bundle import process_bundle
    from medcity.kit import hooks

    hooks.load_domains()  # before the rules are taken out for the second half
    rng = random.Random(seed)
    with database(engine) as url:
        lab, pairs = setup(url, 2 * reports + 1, seed)
        bodies = [bundle(rng, lab, who, order) for who, order in pairs]
        store = Store(make_engine(url), REGION)
        access = Access(principal=Principal())
        process_bundle(store, access, bodies.pop(), "")
        timings = []
        for part in (bodies[:reports], bodies[reports:]):
            start = time.perf_counter()
            for body in part:
                process_bundle(store, access, body, "")
            timings.append((time.perf_counter() - start) / len(part) * 1000)
            for rtype in ("Observation", "DiagnosticReport"):  # the second half runs without the rules
                hooks._write_rules.pop(rtype, None)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--reports", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = [run_once(args.engine, args.reports, args.clients, args.workers, seed) for seed in range(args.runs)]
    with_rules, without = rules_share(args.engine, max(20, args.reports // 10), 0)
    report("lab_results", {"engine": args.engine, "observations_per_report": len(PANEL), "reports": args.reports,
                           "clients": args.clients, "workers": args.workers, "reports_per_s": round(median(rates), 1),
                           "runs": [round(r, 1) for r in rates], "target_reports_per_s": 300,
                           "in_process_ms_per_report": {"with_rules": round(with_rules, 1),
                                                        "generic_write_only": round(without, 1)}})  # fmt: skip


if __name__ == "__main__":
    main()
