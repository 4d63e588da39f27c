"""A parent of two children in a real browser, in Russian: the registry desk linked both (`medcity users add`, then
`medcity proxy add`), the parent's portal lists them, and switching shows the other child's record; the first
child's record is then closed to this account until the parent switches back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.e2e.logins import add_user, create
from tests.e2e.server import Server, medcity
from tests.e2e.test_lab_loop import as_user

pytestmark = pytest.mark.e2e


def test_a_parent_switches_between_two_children(browser: Browser, e2e_server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    year = datetime.now(UTC).year
    with httpx.Client(base_url=e2e_server.url) as client:
        older, younger = (
            create(client, {"resourceType": "Patient", "name": [{"family": f"Орлов{tag}", "given": [given]}],
                            "gender": "male", "birthDate": f"{year - age}-02-01"})
            for given, age in (("Пётр", 10), ("Павел", 4))
        )  # fmt: skip
    parent = add_user(e2e_server, "proxy", patient=older)
    medcity(e2e_server.env, e2e_server.workdir, "proxy", "add", "--user", parent, "--patient", younger)

    page = as_user(browser, e2e_server.url, parent)
    try:
        page.goto("/portal")
        expect(page).to_have_url(f"{e2e_server.url}/portal/{older}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Пётр")
        represented = page.locator("#represented")
        expect(represented.locator(f'[data-represented="{older}"] [aria-current="page"]')).to_contain_text("Пётр")
        represented.get_by_role("button", name=f"Орлов{tag} Павел").click()
        expect(page).to_have_url(f"{e2e_server.url}/portal/{younger}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Павел")
        # One child's record at a time: the other one's is closed until the parent switches back.
        closed = page.request.get(f"/portal/{older}")
        assert closed.status == 404
    finally:
        page.context.close()
