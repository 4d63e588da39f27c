"""Browser tests: the real server in a subprocess, driven by Debian's Chromium through Playwright.

Playwright's own browser downloads are never used (no `playwright install`): the tests need /usr/bin/chromium
(`apt-get install chromium`). Without it they are skipped locally and fail in CI (CI=true), so that a CI image
that lost its browser cannot pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from tests.e2e.server import Server, medcity, server_env, serving

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


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Chromium not found at {CHROMIUM}: browser tests must run in CI (apt-get install chromium)")
    pytest.skip(f"Chromium not found at {CHROMIUM}: browser tests skipped")


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real medcity server on a fresh SQLite database, for the whole session."""
    workdir = tmp_path_factory.mktemp("e2e")
    env = server_env(workdir, "e2e.db")
    with serving(env, workdir) as url:
        yield Server(url, env, workdir)


@pytest.fixture(scope="session")
def server_url(e2e_server: Server) -> str:
    """Base URL of the session's server (``goto("/")`` of the ``page`` fixture is relative to it)."""
    return e2e_server.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
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
