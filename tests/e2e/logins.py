"""Real logins for browser tests: accounts made with `medcity users add` against the e2e server's database (as an
administrator would), and the login form filled in the browser; and the FHIR calls that set up a test's city."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, expect
from tests.e2e.server import Server, medcity


def add_user(server: Server, role: str, **links: str) -> str:
    """A new login of `role` (links: patient=, practitioner=, organization=); the password is
    `<username>-password`. Returns the username."""
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    options = [f"--{name}={value}" for name, value in links.items()]
    medcity(server.env, server.workdir, "users", "add", "--username", username, "--role", role, *options,
            input_text=f"{username}-password\n")  # fmt: skip
    return username


def log_in(page: Page, username: str, password: str | None = None) -> None:
    """Log in through the form (password `<username>-password` unless given) and see the session start."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password or f"{username}-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator(".session__user")).to_have_text(username)


def create(api: httpx.Client, resource: dict[str, object]) -> str:
    """Create ``resource`` over the FHIR API (the e2e server does not require a token for it); returns its id."""
    response = api.post(f"/fhir/{resource['resourceType']}", json=resource)
    response.raise_for_status()
    return str(response.json()["id"])
