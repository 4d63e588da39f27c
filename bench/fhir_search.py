"""Search latency on a store of >= 1,000,000 resources (PostgreSQL by default):
`Patient?family=...&birthdate=...` and `Observation?subject=...&code=...&date=ge...`. Target: p95 <= 20 ms.

The store is filled through the real write path (validation, index extraction, bulk writes) by several
processes; the searches go through the HTTP API of one uvicorn worker.
Usage: python bench/fhir_search.py [--engine postgresql|sqlite] [--patients 100000] [--queries 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import quote

import httpx
from _common import GIVEN, database, encounter, observation, patient, report, served

from medcity.kit.db import make_engine
from medcity.store.repository import Store

OBSERVATIONS_PER_PATIENT = 8
BATCH = 250


def _load(url: str, start: int, stop: int) -> list[tuple[str, str, str]]:
    """Write patients [start, stop) with an encounter and observations each; return (id, family, birthDate)."""
    rng = random.Random(start)
    store = Store(make_engine(url, pool_size=2), "77")
    written = []
    for batch_start in range(start, stop, BATCH):
        with store.transaction() as tx:
            for i in range(batch_start, min(batch_start + BATCH, stop)):
                res = patient(rng, i)
                pid = tx.create(res).stored.id
                ref = f"Patient/{pid}"
                enc = tx.create(encounter(rng, ref)).stored.reference
                for _ in range(OBSERVATIONS_PER_PATIENT):
                    tx.create(observation(rng, ref, enc))
                written.append((pid, res["name"][0]["family"], res["birthDate"]))
    store.engine.dispose()
    return written


def fill(url: str, patients: int, workers: int) -> tuple[list[tuple[str, str, str]], float]:
    chunk = patients // workers
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_load, [url] * workers, range(0, patients, chunk), range(chunk, patients + chunk, chunk))
        people = [p for part in parts for p in part]
    return people, time.perf_counter() - started


def timed(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    r = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    r.raise_for_status()
    assert r.json()["resourceType"] == "Bundle"
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workers = args.workers if args.engine == "postgresql" else 1
    with database(args.engine) as url:
        people, load_s = fill(url, args.patients, workers)
        total = args.patients * (2 + OBSERVATIONS_PER_PATIENT)
        if args.engine == "postgresql":
            import psycopg

            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        rng = random.Random(99)
        results: dict[str, list[float]] = {"patient_p95_ms": [], "observation_p95_ms": [],
                                           "patient_p50_ms": [], "observation_p50_ms": []}  # fmt: skip
        with served(url) as base, httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(args.runs):
                pat, obs = [], []
                for _ in range(args.queries):
                    pid, family, birth = rng.choice(people)
                    pat.append(timed(client, f"/fhir/Patient?family={quote(family)}&birthdate={birth}"))
                    code = rng.choice(["8480-6", "2339-0", "8867-4"])
                    obs.append(timed(client, f"/fhir/Observation?subject=Patient/{pid}&code=http://loinc.org|{code}"
                                             f"&date=ge2021-01-01"))  # fmt: skip
                    if rng.random() < 0.1:
                        timed(client, f"/fhir/Patient?given={quote(rng.choice(GIVEN))}&_count=10")
                results["patient_p95_ms"].append(p95(pat))
                results["observation_p95_ms"].append(p95(obs))
                results["patient_p50_ms"].append(statistics.median(pat))
                results["observation_p50_ms"].append(statistics.median(obs))
    report("fhir_search", {
        "engine": args.engine, "resources": total, "load_seconds": round(load_s),
        "load_resources_per_s": round(total / load_s),
        **{k: round(statistics.median(v), 2) for k, v in results.items()},
        "runs": {k: [round(x, 2) for x in v] for k, v in results.items()}, "target_p95_ms": 20,
    })  # fmt: skip


if __name__ == "__main__":
    main()
