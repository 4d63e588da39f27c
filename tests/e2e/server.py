"""The real medcity server of the browser tests: run in a subprocess on its own SQLite database, and the
`medcity` command line against that database (as an administrator would use it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    workdir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer {url} within {STARTUP_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")


def medcity(
    env: dict[str, str], workdir: Path, *args: str, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `medcity` command line against the test server's database; fails the test when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "medcity.cli", *args],
        input=input_text,
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"medcity {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def server_env(workdir: Path, name: str) -> dict[str, str]:
    """The environment of a server on its own SQLite database `name` in `workdir`, migrated."""
    env = {
        **os.environ,
        "MEDCITY_DATABASE_URL": f"sqlite:///{workdir / name}",
        "MEDCITY_REGION": "77",
        "MEDCITY_SECRET_DIR": str(workdir / "keys"),
        # The tests set their city up through the API as the local operator; the browser always logs in.
        "MEDCITY_AUTH_REQUIRED": "false",
    }
    # A developer's own default language must not change what the tests see.
    env.pop("MEDCITY_DEFAULT_LANGUAGE", None)
    medcity(env, workdir, "db", "upgrade")
    return env


@contextmanager
def serving(env: dict[str, str], workdir: Path) -> Iterator[str]:
    """A real medcity server (uvicorn in a subprocess) with `env`; yields its base URL, which is also the base
    its tokens name (MEDCITY_BASE_URL)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "MEDCITY_BASE_URL": url}
    log = workdir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "medcity.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(f"{url}/", server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
