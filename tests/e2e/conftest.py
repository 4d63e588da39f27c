"""Browser tests: the real server in a subprocess, driven by Debian's Chromium through Playwright.

Playwright's own browser downloads are never used (no `playwright install`): the tests need /usr/bin/chromium
(`apt-get install chromium`). Without it they are skipped locally and fail in CI (CI=true), so that a CI image
that lost its browser cannot pass silently.
"""

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
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_TIMEOUT_S = 60


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: browser tests must run in CI (apt-get install chromium)"
        )
    pytest.skip(f"Chromium not found at {CHROMIUM}: browser tests skipped")


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
    }
    # A developer's own default language must not change what the tests see.
    env.pop("MEDCITY_DEFAULT_LANGUAGE", None)
    medcity(env, workdir, "db", "upgrade")
    return env


@contextmanager
def serving(env: dict[str, str], workdir: Path) -> Iterator[str]:
    """A real medcity server (uvicorn in a subprocess) with `env`; yields its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
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


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real medcity server on a fresh SQLite database, for the whole session."""
    workdir = tmp_path_factory.mktemp("e2e")
    with serving(server_env(workdir, "e2e.db"), workdir) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server_url: str) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies) of a Russian-speaking user; `goto("/")` is relative."""
    context = browser.new_context(base_url=server_url, locale="ru-RU")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A server on the small demo city (`medcity demo seed --scale small`) with the demo logins
    (`medcity users demo`): its base URL, its environment and its work folder (for more `medcity` commands)."""
    workdir = tmp_path_factory.mktemp("e2e-demo")
    env = server_env(workdir, "demo.db")
    medcity(env, workdir, "demo", "seed", "--scale", "small")
    medcity(env, workdir, "users", "demo")
    with serving(env, workdir) as url:
        yield url, env, workdir
