"""`Patient/$everything` for a patient with 1,000 resources, as a doctor with a bearer token (policy and audit on),
one client, one uvicorn worker: the first page (the default 100 entries) and the whole record in one page.

Target: p95 <= 100 ms, on SQLite and on PostgreSQL.
Usage: python bench/everything.py [--engine sqlite|postgresql|both] [--requests 200] [--runs 3]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from _common import database, measure_engines, served
from chart_render import REGION, RESOURCES, add_doctor, load_record, measure


def doctor_token(url: str) -> str:
    medcity = Path(sys.executable).parent / "medcity"
    env = {**os.environ, "MEDCITY_DATABASE_URL": url, "MEDCITY_REGION": REGION, "MEDCITY_AUTH_REQUIRED": "false"}
    done = subprocess.run([str(medcity), "token", "--user", "bench.doctor"], env=env, check=True, capture_output=True,
                          text=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def run(engine: str, requests: int, runs: int) -> dict[str, Any]:
    with database(engine) as url, served(url, REGION) as base:
        pid, polyclinic = load_record(base)
        add_doctor(url, polyclinic)
        with httpx.Client(base_url=base, headers={"Accept": "application/fhir+json"}, timeout=30) as client:
            figures: dict[str, Any] = {}
            for name, query in (("first_page_100", ""), ("one_page_1000", "?_count=1000")):
                # A fresh token per measurement: tokens live 15 minutes, a loaded machine can take longer.
                client.headers["Authorization"] = f"Bearer {doctor_token(url)}"
                figures[name] = measure(base, client, f"/fhir/Patient/{pid}/$everything{query}", requests, runs)
            whole = client.get(f"/fhir/Patient/{pid}/$everything?_count=1000").json()
            assert whole["total"] >= RESOURCES, whole.get("total")
            return figures | {"total": whole["total"]}


def main() -> None:
    measure_engines("everything", run, target_p95_ms=100)


if __name__ == "__main__":
    main()
