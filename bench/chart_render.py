"""Opening the chart of a patient with 1,000 resources: GET /chart/{id} (server-rendered page), one client, a
logged-in doctor, one uvicorn worker.

Target: p95 <= 150 ms, on SQLite and on PostgreSQL.
Usage: python bench/chart_render.py [--engine sqlite|postgresql|both] [--requests 200] [--runs 3]
"""

from __future__ import annotations

import os
import random
import re
import statistics
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _common import FHIR_JSON, database, measure_engines, served
from sqlalchemy import create_engine

from medcity.auth.users import Role, add_user
from medcity.kit.db import WRITE

REGION = "77"
RESOURCES = 1000
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
UCUM = "http://unitsofmeasure.org"
# (LOINC, name, unit, mean, sd, low, high)
TESTS = [("2339-0", "Глюкоза", "mmol/L", 5.6, 1.2, 3.9, 6.1), ("2093-3", "Холестерин", "mmol/L", 5.2, 0.9, 3.0, 5.2),
         ("718-7", "Гемоглобин", "g/L", 138, 12, 120, 160), ("6690-2", "Лейкоциты", "10*9/L", 6.8, 1.8, 4.0, 9.0),
         ("2160-0", "Креатинин", "umol/L", 85, 14, 62, 106), ("4548-4", "HbA1c", "%", 5.8, 0.8, 4.0, 6.0)]  # fmt: skip


def _ref(rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{rid}"}


def _day(rng: random.Random) -> str:
    return f"{rng.randint(2016, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _observation(rng: random.Random, pid: str, encounter: str, lab: str) -> dict[str, Any]:
    code, name, unit, mean, sd, low, high = rng.choice(TESTS)
    value = round(rng.gauss(mean, sd), 1)
    quantity = {"unit": unit, "system": UCUM, "code": unit}
    flag = "H" if value > high else "L" if value < low else "N"
    return {
        "resourceType": "Observation", "status": "final", "subject": _ref("Patient", pid),
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": name},
        "effectiveDateTime": f"{_day(rng)}T08:00:00Z", "valueQuantity": {"value": value, **quantity},
        "referenceRange": [{"low": {"value": low, **quantity}, "high": {"value": high, **quantity}}],
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": flag}]}],
        "performer": [_ref("Organization", lab)], "encounter": {"reference": encounter},
    }  # fmt: skip


def _entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _history(rng: random.Random, pid: str, orgs: list[str], lab: str) -> list[dict[str, Any]]:
    """About RESOURCES - 1 resources of one patient from several institutions (the Patient is the thousandth)."""
    entries: list[dict[str, Any]] = []
    for i in range(120):
        org = orgs[i % len(orgs)]
        day = _day(rng)
        klass = "IMP" if i % 10 == 0 else "AMB"
        entries.append(_entry({
            "resourceType": "Encounter", "status": "finished", "subject": _ref("Patient", pid),
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
            "period": {"start": f"{day}T09:00:00+03:00", "end": f"{day}T09:20:00+03:00"},
            "serviceProvider": _ref("Organization", org), "reasonCode": [{"text": "плановый осмотр"}],
        }, f"urn:uuid:e{i}"))  # fmt: skip
    for i in range(80):
        status = "active" if i < 8 else "resolved"
        entries.append(_entry({
            "resourceType": "Condition", "subject": _ref("Patient", pid), "encounter": {"reference": f"urn:uuid:e{i}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": status}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": rng.choice(
                ["I10", "E11.9", "J06.9", "M54.5", "K29.7"])}], "text": "диагноз"}, "onsetDateTime": _day(rng),
        }))  # fmt: skip
    for i in range(20):
        entries.append(_entry({
            "resourceType": "DiagnosticReport", "status": "final", "subject": _ref("Patient", pid),
            "code": {"text": "УЗИ"}, "effectiveDateTime": f"{_day(rng)}T10:00:00Z", "conclusion": "без патологии",
            "performer": [_ref("Organization", orgs[i % len(orgs)])],
        }))  # fmt: skip
        entries.append(_entry({
            "resourceType": "DocumentReference", "status": "current", "subject": _ref("Patient", pid),
            "type": {"text": "Справка"}, "date": f"{_day(rng)}T10:00:00Z", "custodian": _ref("Organization", orgs[0]),
            "content": [{"attachment": {"contentType": "application/pdf", "title": "справка.pdf"}}],
        }))  # fmt: skip
        entries.append(_entry({
            "resourceType": "Immunization", "status": "completed", "vaccineCode": {"text": "Грипп"},
            "patient": _ref("Patient", pid), "occurrenceDateTime": _day(rng), "encounter": {"reference": "urn:uuid:e1"},
        }))  # fmt: skip
    for _ in range(10):
        entries.append(_entry({
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Лизиноприл 10 мг"}, "subject": _ref("Patient", pid),
            "authoredOn": _day(rng), "encounter": {"reference": "urn:uuid:e2"},
        }))  # fmt: skip
    entries.append(_entry({"resourceType": "Flag", "status": "active", "code": {"text": "Риск падений"},
                           "subject": _ref("Patient", pid)}))  # fmt: skip
    while len(entries) < RESOURCES - 1:
        entries.append(_entry(_observation(rng, pid, f"urn:uuid:e{rng.randrange(120)}", lab)))
    return entries


def load_record(base: str) -> tuple[str, str]:
    """A patient with RESOURCES resources in their compartment; returns (patient id, polyclinic id)."""
    rng = random.Random(11)
    with httpx.Client(base_url=base, timeout=120) as client:

        def create(resource: dict[str, Any]) -> str:
            r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
            r.raise_for_status()
            return str(r.json()["id"])

        orgs = [create({"resourceType": "Organization", "name": n}) for n in ("ГП № 12", "ГКБ № 5", "Клиника Здоровье")]
        lab = create({"resourceType": "Organization", "name": "КДЛ Центр"})
        pid = create({"resourceType": "Patient", "name": [{"family": "Петрова", "given": ["Анна"]}],
                      "birthDate": "1961-04-02", "managingOrganization": _ref("Organization", orgs[0])})  # fmt: skip
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": _history(rng, pid, orgs, lab)}
        client.post("/fhir", json=bundle, headers=FHIR_JSON).raise_for_status()
    return pid, orgs[0]


def add_doctor(url: str, organization: str) -> None:
    engine = create_engine(url)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        add_user(conn, region=REGION, username="bench.doctor", role=Role.DOCTOR, password="bench-password",
                 organization=organization, now=datetime.now(UTC))  # fmt: skip
    engine.dispose()


def logged_in(base: str, username: str = "bench.doctor") -> httpx.Client:
    """A web session of a benchmark's user (whose password is "bench-password")."""
    client = httpx.Client(base_url=base, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    data = {"username": username, "password": "bench-password", "csrf_token": token.group(1)}
    assert client.post("/login", data=data).status_code in (200, 303)
    return client


def latencies(client: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(10):  # warm up
        client.get(path).raise_for_status()
    out = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[18], 1)


def server_cpu_ticks(base: str) -> int:
    """User + system CPU ticks of the uvicorn process serving `base` (found by its --port argument)."""
    port = base.rsplit(":", 1)[1].encode()
    for proc in Path("/proc").iterdir():
        try:
            if f"--port\0{port.decode()}\0".encode() in (proc / "cmdline").read_bytes():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])
        except OSError:
            continue
    raise RuntimeError(f"no server process on port {port.decode()}")


def measure(base: str, client: httpx.Client, path: str, requests: int, runs: int) -> dict[str, Any]:
    """p95 of wall-clock latency per run (median run reported), and the server's CPU time per request."""
    client.get(path).raise_for_status()
    ticks = server_cpu_ticks(base)
    figures = [latencies(client, path, requests) for _ in range(runs)]
    cpu_ms = (server_cpu_ticks(base) - ticks) * 1000 / os.sysconf("SC_CLK_TCK") / ((requests + 10) * runs)
    return {"p95_ms": sorted(p95(f) for f in figures)[len(figures) // 2], "runs_p95_ms": [p95(f) for f in figures],
            "p50_ms": round(statistics.median(figures[0]), 1), "server_cpu_ms_per_request": round(cpu_ms, 1),
            "load_average": round(os.getloadavg()[0], 1)}  # fmt: skip


def run(engine: str, requests: int, runs: int) -> dict[str, Any]:
    with database(engine) as url, served(url, REGION) as base:
        pid, polyclinic = load_record(base)
        add_doctor(url, polyclinic)
        with closing(logged_in(base)) as client:
            size = len(client.get(f"/chart/{pid}").content)
            return measure(base, client, f"/chart/{pid}", requests, runs) | {"page_bytes": size, "resources": RESOURCES}


def main() -> None:
    measure_engines("chart_render", run, target_p95_ms=150)


if __name__ == "__main__":
    main()
