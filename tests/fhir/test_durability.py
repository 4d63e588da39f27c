"""An acknowledged write survives the server being killed (SIGKILL, no shutdown) on the embedded SQLite store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fhir.helpers import FHIR, patient
from tests.schema import migrate


def _serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    # Writes as the local operator: what is tested is the storage, not the token.
    env = {**os.environ, "MEDCITY_DATABASE_URL": f"sqlite:///{db}", "MEDCITY_REGION": "77",
           "MEDCITY_AUTH_REQUIRED": "false"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "medcity.app:create_app", "--factory", "--port", str(port),
         "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError("server did not start")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_acknowledged_writes_survive_sigkill(tmp_path):
    db = tmp_path / "durable.db"
    migrate(f"sqlite:///{db}")
    port = _port()
    server = _serve(db, port)
    try:
        _wait(port)
        acknowledged = []
        for i in range(20):
            r = httpx.post(f"http://127.0.0.1:{port}/fhir/Patient", json=patient(family=f"Стойкий{i}"), headers=FHIR)
            assert r.status_code == 201
            acknowledged.append(r.json()["id"])
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        server = _serve(db, port)
        _wait(port)
        for pid in acknowledged:
            assert httpx.get(f"http://127.0.0.1:{port}/fhir/Patient/{pid}").status_code == 200
        total = httpx.get(f"http://127.0.0.1:{port}/fhir/Patient?family=стойкий&_summary=count").json()["total"]
        assert total == 20
    finally:
        server.kill()
        server.wait(timeout=10)
