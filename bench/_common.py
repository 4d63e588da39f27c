"""Shared by the benchmarks: databases (SQLite file or a throwaway PostgreSQL cluster), a served app, wrk."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, insert

ROOT = Path(__file__).resolve().parents[1]
FHIR_JSON = {"content-type": "application/fhir+json"}
# The issuer and audience of the benchmarks' tokens: serve with MEDCITY_BASE_URL=BASE_URL.
BASE_URL = "http://bench.local"
sys.path.insert(0, str(ROOT))

from tests.bearer import bearer  # noqa: E402
from tests.pg import start_cluster  # noqa: E402
from tests.schema import migrate  # noqa: E402

from medcity.kit.config import Settings  # noqa: E402
from medcity.store.repository import Store  # noqa: E402

FAMILIES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
            "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов"]  # fmt: skip
GIVEN = ["Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Иван", "Мария", "Елена", "Ольга", "Анна"]
LOINC = [("8480-6", "mm[Hg]", 125, 20), ("8462-4", "mm[Hg]", 80, 12), ("2339-0", "mmol/L", 5.5, 1.5),
         ("2093-3", "mmol/L", 5.2, 1.0), ("8867-4", "/min", 75, 12), ("29463-7", "kg", 75, 15)]  # fmt: skip


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def patient(rng: random.Random, i: int) -> dict[str, Any]:
    female = rng.random() < 0.54
    family = rng.choice(FAMILIES) + ("а" if female else "")
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:medcity:bench:mrn", "value": f"{i}"}],
        "name": [{"family": family, "given": [rng.choice(GIVEN)]}],
        "gender": "female" if female else "male",
        "birthDate": f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "address": [{"city": "Москва", "line": [f"ул. Тверская, д. {rng.randint(1, 200)}"]}],
    }


def observation(rng: random.Random, patient_ref: str, encounter_ref: str | None = None) -> dict[str, Any]:
    code, unit, mean, sd = rng.choice(LOINC)
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs" if unit in ("mm[Hg]", "/min", "kg") else "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        "valueQuantity": {"value": round(rng.gauss(mean, sd), 1), "unit": unit, "system": "http://unitsofmeasure.org",
                          "code": unit},
    }  # fmt: skip
    if encounter_ref:
        obs["encounter"] = {"reference": encounter_ref}
    return obs


def encounter(rng: random.Random, patient_ref: str) -> dict[str, Any]:
    day = f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": patient_ref},
        "period": {"start": f"{day}T09:00:00+03:00", "end": f"{day}T09:20:00+03:00"},
    }


def condition(rng: random.Random, patient_ref: str, encounter_ref: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                             "code": rng.choice(["I10", "E11.9", "J06.9", "M54.5", "K29.7"])}]},
        "subject": {"reference": patient_ref},
        "encounter": {"reference": encounter_ref},
    }  # fmt: skip


def transaction_bundle(rng: random.Random, start: int, size: int = 100) -> dict[str, Any]:
    """`size` resources: patients, each with an encounter, a condition and observations."""
    entries: list[dict[str, Any]] = []
    i = start
    while len(entries) < size:
        p, e = f"urn:uuid:p{i}", f"urn:uuid:e{i}"
        group = [(p, patient(rng, i)), (e, encounter(rng, p)), (None, condition(rng, p, e))]
        group += [(None, observation(rng, p, e)) for _ in range(7)]
        for full_url, res in group[: size - len(entries)]:
            entry: dict[str, Any] = {"resource": res, "request": {"method": "POST", "url": res["resourceType"]}}
            if full_url:
                entry["fullUrl"] = full_url
            entries.append(entry)
        i += 1
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


ENGINES = ("sqlite", "postgresql")


def add_engine_option(parser: argparse.ArgumentParser, default: str = "both") -> None:
    """``--engine sqlite|postgresql|both``; read it back with ``engines(args.engine)``."""
    parser.add_argument("--engine", default=default, choices=[*ENGINES, "both"])


def engines(choice: str) -> list[str]:
    return list(ENGINES) if choice == "both" else [choice]


@contextmanager
def database(engine_name: str) -> Iterator[str]:
    """A migrated, empty database URL for the whole benchmark; PostgreSQL runs with its production durability
    settings (every commit flushed to disk), as the figures claim."""
    if engine_name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="medcity-bench-") as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            migrate(url)
            yield url
        return
    cluster = start_cluster(durable=True)
    try:
        migrate(cluster.url)
        yield cluster.url
    finally:
        cluster.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(
    url: str, region: str = "77", workers: int = 1, *, factory: str = "medcity.app:create_app", **env_vars: str
) -> Iterator[str]:
    """Uvicorn serving the app (`factory`) on `url`, with `env_vars` set too: one worker by default, so figures
    compare per core."""
    port = free_port()
    # Without a token, as the local operator (audited), unless a benchmark asks for the policy (auth_overhead).
    env = {**os.environ, "MEDCITY_DATABASE_URL": url, "MEDCITY_REGION": region, "MEDCITY_AUTH_REQUIRED": "false",
           **env_vars}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wrk(url: str, *, connections: int = 32, seconds: int = 10, script: str | None = None) -> float:
    """Requests per second that wrk measured; raises if any response was not 2xx."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def bearer_header(
    secret_dir: Path, region: str, role: str, scope: str = "user/*.cruds", **claims: Any
) -> dict[str, str]:
    """An Authorization header that an app served with MEDCITY_BASE_URL=BASE_URL and MEDCITY_SECRET_DIR=secret_dir
    accepts; `claims` are organization=, fhir_user=, patient=..."""
    return bearer(Settings(region=region, base_url=BASE_URL, secret_dir=secret_dir), f"bench-{role}", role, scope,
                  **claims)  # fmt: skip


def bulk(store: Store, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Rows straight into a table: COPY on PostgreSQL, batched inserts on SQLite."""
    count = 0
    with store.engine.begin() as conn:
        if store.postgres:
            columns = list(table.c.keys())
            quoted = ", ".join(f'"{c}"' for c in columns)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
                    count += 1
        else:
            iterator = iter(rows)
            while batch := list(itertools.islice(iterator, 20_000)):
                conn.execute(insert(table), batch)
                count += len(batch)
    return count


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(name: str, figures: dict[str, Any]) -> None:
    print(json.dumps({"benchmark": name, "machine": machine(), **figures}, ensure_ascii=False, indent=1))


def measure_engines(name: str, run: Callable[[str, int, int], dict[str, Any]], target_p95_ms: int) -> None:
    """The command line of a benchmark that times ``--requests`` requests ``--runs`` times on each engine."""
    parser = argparse.ArgumentParser()
    add_engine_option(parser)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    # Each engine as soon as it is measured: a lost database loses only its own figures.
    for engine in engines(args.engine):
        report(name, {engine: run(engine, args.requests, args.runs), "target_p95_ms": target_p95_ms})
