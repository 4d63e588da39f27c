"""Access policy overhead: the same reads and searches with the policy switched off, and through it.

"Off" is a test-only build of the app: no token, the anonymous operator, and the audit write replaced by nothing,
so neither authentication, policy nor audit runs. "On" sends a bearer token: a patient reading their own record,
and a doctor of a polyclinic with a fifth of the patients attached (1,000 of 5,000 by default) and a tenth booked,
reading and searching patients in their care (the care set is an SQL subquery checked per read and joined into each
search).
Each figure is the median requests/s of 16 closed-loop keep-alive connections against one uvicorn worker; both
servers run throughout and each run measures every case in turn, so the machine's drift falls on all alike.

Target (issue 3): authentication + policy + audit cost at most 15 % on `GET /fhir/Patient/{id}` and on a search.
Usage: python bench/auth_overhead.py [--engine sqlite|postgresql|both] [--runs 3] [--seconds 8]
"""

from __future__ import annotations

import argparse
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import BASE_URL, ROOT, add_engine_option, bearer_header, database, engines, median, patient, report, served

from medcity.app import create_app
from medcity.auth import gate
from medcity.kit.db import make_engine, refresh_statistics
from medcity.store.repository import Store

PATIENTS = 5000
CLIENTS = 16


def off_app() -> Any:
    """The app with the policy off: no token (auth not required) and no audit write."""
    gate.audit.written = _not_written  # type: ignore[assignment]
    return create_app()


async def _not_written(*_args: Any, **_kwargs: Any) -> None:
    return None


def seed(url: str, region: str, patients: int) -> dict[str, Any]:
    """A fifth of the patients attached to the doctor's polyclinic, a tenth more booked with the doctor."""
    attached, booked = patients // 5, patients // 10
    rng = random.Random(11)
    engine = make_engine(url)
    store = Store(engine, region)
    try:
        with store.transaction() as tx:
            clinic = tx.create({"resourceType": "Organization", "name": "Поликлиника 1"}).stored.id
            other = tx.create({"resourceType": "Organization", "name": "Поликлиника 2"}).stored.id
            doctor = tx.create({"resourceType": "Practitioner", "name": [{"family": "Врачова"}]}).stored.id
            links = {"practitioner": {"reference": f"Practitioner/{doctor}"},
                     "organization": {"reference": f"Organization/{clinic}"}}  # fmt: skip
            role = tx.create({"resourceType": "PractitionerRole", **links}).stored.id
        ids: list[str] = []
        for start in range(0, patients, 500):
            with store.transaction() as tx:
                for i in range(start, min(start + 500, patients)):
                    org = clinic if i < attached else other
                    data = {**patient(rng, i), "managingOrganization": {"reference": f"Organization/{org}"}}
                    pid = tx.create(data).stored.id
                    ids.append(pid)
                    for _ in range(2):
                        tx.create(_observation(pid))
                    if attached <= i < attached + booked:
                        tx.create(_appointment(pid, role, rng))
        refresh_statistics(engine)  # as autovacuum would within a minute of the load
    finally:
        engine.dispose()
    cared = ids[: attached + booked]
    return {"doctor": doctor, "clinic": clinic, "cared": cared, "patient": ids[0]}


def _observation(pid: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "Пульс"},
            "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 70}}  # fmt: skip


def _appointment(pid: str, role: str, rng: random.Random) -> dict[str, Any]:
    when = (datetime.now(UTC) + timedelta(days=rng.randint(-200, 30))).strftime("%Y-%m-%dT10:00:00Z")
    return {"resourceType": "Appointment", "status": "booked", "start": when, "end": when,
            "participant": [{"actor": {"reference": f"Patient/{pid}"}, "status": "accepted"},
                            {"actor": {"reference": f"PractitionerRole/{role}"}, "status": "accepted"}]}  # fmt: skip


def load(base: str, seconds: float, path: Callable[[random.Random], str], headers: dict[str, str]) -> float:
    """Requests/s of CLIENTS closed-loop keep-alive connections for `seconds` (raw sockets: a Python HTTP client
    would cost more than the server); any non-2xx answer is an error."""
    host, port = base.removeprefix("http://").split(":")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    done: list[int] = []
    stop = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng, count = random.Random(seed), 0
        with socket.create_connection((host, int(port))) as sock, sock.makefile("rb") as answers:
            while time.monotonic() < stop:
                sock.sendall(f"GET {path(rng)} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
                status, length = int(answers.readline().split()[1]), 0
                while (line := answers.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = answers.read(length)
                if status >= 300:
                    raise RuntimeError(f"{status}: {body[:300]!r}")
                count += 1
        done.append(count)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(done) != CLIENTS:
        raise RuntimeError("a client failed")
    return sum(done) / (time.monotonic() - started)


def run(engine: str, runs: int, seconds: int, patients: int) -> dict[str, Any]:
    region = "77"
    with database(engine) as url, tempfile.TemporaryDirectory() as keys:
        secret_dir = Path(keys)
        world = seed(url, region, patients)
        cared, own = world["cared"], world["patient"]
        doctor = bearer_header(secret_dir, region, "doctor", fhir_user=f"Practitioner/{world['doctor']}",
                               organization=world["clinic"])  # fmt: skip
        me = bearer_header(secret_dir, region, "patient", "patient/*.rs", patient=own)

        def read_any(rng: random.Random) -> str:
            return f"/fhir/Patient/{rng.choice(cared)}"

        def search(rng: random.Random) -> str:
            return f"/fhir/Observation?subject=Patient/{rng.choice(cared)}"

        def read_own(rng: random.Random) -> str:
            return f"/fhir/Patient/{own}"

        figures: dict[str, list[float]] = {}
        # Each case beside its "off" counterpart, one after the other in every run: this machine's speed drifts
        # by tens of percent over minutes, and measuring all of "off" first would count the drift as overhead.
        cases = {
            "read_off": ("off", read_any, {}), "read_patient_token": ("on", read_own, me),
            "read_doctor_token": ("on", read_any, doctor), "search_off": ("off", search, {}),
            "search_doctor_token": ("on", search, doctor),
        }  # fmt: skip
        with ExitStack() as servers:
            bases = {
                label: servers.enter_context(
                    served(url, region, factory=factory, MEDCITY_BASE_URL=BASE_URL,
                           MEDCITY_SECRET_DIR=str(secret_dir), MEDCITY_AUTH_REQUIRED=str(label == "on").lower(),
                           PYTHONPATH=f"{ROOT / 'bench'}:{ROOT / 'src'}")
                )
                for label, factory in (("off", "auth_overhead:off_app"), ("on", "medcity.app:create_app"))
            }  # fmt: skip
            for label, path, headers in cases.values():
                load(bases[label], 2, path, headers)  # warm up
            for _ in range(runs):
                for name, (label, path, headers) in cases.items():
                    figures.setdefault(name, []).append(load(bases[label], seconds, path, headers))
        rps = {key: round(median(values)) for key, values in figures.items()}
        return {
            "rps": rps,
            "overhead_read_patient": round(1 - rps["read_patient_token"] / rps["read_off"], 3),
            "overhead_read_doctor": round(1 - rps["read_doctor_token"] / rps["read_off"], 3),
            "overhead_search_doctor": round(1 - rps["search_doctor_token"] / rps["search_off"], 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    add_engine_option(parser)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--patients", type=int, default=PATIENTS, help="in all; a fifth attached, a tenth booked")
    args = parser.parse_args()
    figures = {e: run(e, args.runs, args.seconds, args.patients) for e in engines(args.engine)}
    report("auth_overhead", figures | {"patients": args.patients, "target_overhead": 0.15})


if __name__ == "__main__":
    main()
