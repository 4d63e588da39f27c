"""Read throughput: GET /fhir/Patient/{id} vs. a bare endpoint of the same app, 32 connections, one worker.

Target: the read reaches >= 50 % of the bare endpoint's requests/s, on SQLite and on PostgreSQL.
Usage: python bench/fhir_read.py [--engine sqlite|postgresql|both] [--runs 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import random
import tempfile

import httpx
from _common import FHIR_JSON, add_engine_option, database, engines, median, patient, report, served, wrk

LUA = """
ids = {%s}
request = function()
  return wrk.format("GET", "/fhir/Patient/" .. ids[math.random(#ids)])
end
"""


def run(engine: str, runs: int, seconds: int) -> dict[str, float]:
    with database(engine) as url, served(url) as base:
        rng = random.Random(7)
        ids = []
        with httpx.Client(base_url=base) as client:
            for i in range(2000):
                r = client.post("/fhir/Patient", json=patient(rng, i), headers=FHIR_JSON)
                r.raise_for_status()
                ids.append(r.json()["id"])
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA % ",".join(f'"{i}"' for i in ids))
        wrk(f"{base}/healthz", seconds=3)  # warm up
        wrk(base, seconds=3, script=script.name)
        bare, read = [], []
        for _ in range(runs):
            bare.append(wrk(f"{base}/healthz", seconds=seconds))
            read.append(wrk(base, seconds=seconds, script=script.name))
        return {"bare_rps": round(median(bare)), "read_rps": round(median(read)),
                "ratio": round(median(read) / median(bare), 3), "runs_bare": bare, "runs_read": read}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    add_engine_option(parser)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    report("fhir_read", {e: run(e, args.runs, args.seconds) for e in engines(args.engine)} | {"target_ratio": 0.5})


if __name__ == "__main__":
    main()
