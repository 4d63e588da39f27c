"""Logging a test browser in through the real login form, for page tests of every domain."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.auth.gate import Access, page_access
from medcity.auth.proxy import USERNAME_SYSTEM
from medcity.auth.users import Role, User, add_user
from medcity.kit.db import WRITE
from medcity.store.repository import Store


def add_web_user(client: TestClient, username: str, role: Role, **links: Any) -> User:
    """A user with the password ``<username>-password``; ``links`` are practitioner=, patient=, organization=. A
    proxy's patient is linked as the registry desk links it (an active RelatedPerson), which it acts for only
    while that link stands."""
    app: Any = client.app
    engine: Engine = app.state.engine
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        user = add_user(
            conn,
            region=app.state.settings.region,
            username=username,
            role=role,
            password=f"{username}-password",
            now=datetime.now(UTC),
            **links,
        )
    if role == Role.PROXY and links.get("patient"):
        Store(engine, app.state.settings.region).create({
            "resourceType": "RelatedPerson", "active": True, "patient": {"reference": f"Patient/{links['patient']}"},
            "identifier": [{"system": USERNAME_SYSTEM, "value": username}],
        })  # fmt: skip
    return user


def log_in(client: TestClient, username: str, *, next_path: str | None = None) -> str:
    """Log in as ``username`` (made by ``add_web_user``); returns where the login sent the browser."""
    page = client.get("/login").text
    found = re.search(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert found, "the login form has no CSRF field"
    data = {"username": username, "password": f"{username}-password", "csrf_token": found.group(1)}
    if next_path:
        data["next"] = next_path
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def csrf_of(html: str) -> str:
    """The session's CSRF token from any page's logout form (every page a logged-in user sees has one)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


PATIENT_PAGE = "/test/patient"


def add_patient_page(client: TestClient) -> TestClient:
    """Give the app a page at ``PATIENT_PAGE/{pid}`` that reads a Patient under the policy and audits it, as every
    domain's pages do; it answers ``{"shown": pid}``."""
    app: Any = client.app

    @app.get(PATIENT_PAGE + "/{pid}")
    def patient_page(pid: str, access: Annotated[Access, Depends(page_access)]) -> dict[str, str]:
        access.require("read", "Patient", pid)
        access.record("read", "Patient", pid)
        return {"shown": pid}

    return client
