"""Ingest: transaction Bundles of 100 resources (patients with encounters, conditions, observations) posted to
/fhir by concurrent clients, one uvicorn worker. Target: >= 3,000 resources/s into PostgreSQL.

Usage: python bench/fhir_ingest.py [--engine postgresql|sqlite] [--bundles 300] [--clients 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
from _common import FHIR_JSON, database, median, report, served, transaction_bundle


def run_once(engine: str, bundles: int, clients: int, seed: int) -> float:
    rng = random.Random(seed)
    bodies = [orjson.dumps(transaction_bundle(rng, i * 100)) for i in range(bundles)]
    with database(engine) as url, served(url) as base:
        with httpx.Client(base_url=base, timeout=120) as warm:
            warm.post("/fhir", content=orjson.dumps(transaction_bundle(rng, 10**9)), headers=FHIR_JSON)

        def send(body: bytes) -> int:
            with httpx.Client(base_url=base, timeout=120) as client:
                r = client.post("/fhir", content=body, headers=FHIR_JSON)
                r.raise_for_status()
                return len(r.json()["entry"])

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            written = sum(pool.map(send, bodies))
        elapsed = time.perf_counter() - start
    return written / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--bundles", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rates = [run_once(args.engine, args.bundles, args.clients, seed) for seed in range(args.runs)]
    report("fhir_ingest", {"engine": args.engine, "bundle_size": 100, "bundles": args.bundles,
                           "clients": args.clients, "resources_per_s": round(median(rates)),
                           "runs": [round(r) for r in rates], "target_resources_per_s": 3000})  # fmt: skip


if __name__ == "__main__":
    main()
