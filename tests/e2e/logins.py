"""Real logins for browser tests: accounts made with `medcity users add` against the e2e server's database (as an
administrator would), and the login form filled in the browser."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect


def e2e_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite file of the session's e2e server (see conftest's `server_url`)."""
    [database] = {found.resolve() for found in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")}
    return database


def add_user(database: Path, role: str, **links: str) -> str:
    """A new login of `role` (links: patient=, practitioner=, organization=); the password is
    `<username>-password`. Returns the username."""
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    options = [f"--{name}={value}" for name, value in links.items()]
    env = {**os.environ, "MEDCITY_DATABASE_URL": f"sqlite:///{database}", "MEDCITY_REGION": "77"}
    done = subprocess.run(
        [sys.executable, "-m", "medcity.cli", "users", "add", "--username", username, "--role", role, *options],
        input=f"{username}-password\n", env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return username


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", f"{username}-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator(".session__user")).to_have_text(username)
