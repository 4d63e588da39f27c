"""Every page carries its role's menu, and every entry of it opens for that role: nobody is left on a page with no
way to their other work, nor sent to a page that refuses them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web_login import add_web_user, log_in

from medcity.auth.users import Role

MENU = re.compile(r'<nav class="site-nav"[^>]*>(.*?)</nav>', re.S)


def _menu(html: str) -> list[str]:
    found = MENU.search(html)
    assert found, "the page has no menu"
    return re.findall(r'<a href="([^"]+)"', found.group(1))


@pytest.mark.parametrize(
    ("role", "with_organization"),
    [(Role.PATIENT, False), (Role.PROXY, False), (Role.DOCTOR, True), (Role.NURSE, True), (Role.REGISTRAR, True),
     (Role.LAB, True), (Role.PHARMACIST, True), (Role.ANALYST, True), (Role.ADMIN, True), (Role.ADMIN, False)],
)  # fmt: skip
def test_each_menu_entry_opens_and_carries_the_same_menu(
    client: TestClient, role: Role, with_organization: bool
) -> None:
    """The region's administrator of the demo works for no organisation; one of a polyclinic does."""
    app: Any = client.app
    store = app.state.store
    organization = store.create({"resourceType": "Organization", "name": "Городская поликлиника № 1"}).id
    practitioner = store.create({"resourceType": "Practitioner", "name": [{"family": "Врачева"}]}).id
    patient = store.create(
        {"resourceType": "Patient", "name": [{"family": "Иванов"}], "birthDate": "1980-01-01",
         "managingOrganization": {"reference": f"Organization/{organization}"}}
    ).id  # fmt: skip
    links = (
        {"practitioner": practitioner, "organization": organization}
        if with_organization
        else {"patient": patient}
        if role in (Role.PATIENT, Role.PROXY)
        else {}
    )
    add_web_user(client, "user", role, **links)
    home = log_in(client, "user")
    first = client.get(home, headers={"Accept-Language": "ru"})
    assert first.status_code == 200, first.text
    menu = _menu(first.text)
    assert home in menu
    for path in menu:
        page = client.get(path, headers={"Accept-Language": "ru"})
        assert page.status_code == 200, (path, page.text[:500])
        assert _menu(page.text) == menu, path
        assert f'<a href="{path}" aria-current="page">' in page.text


def test_a_stranger_sees_no_menu(client: TestClient) -> None:
    assert _menu(client.get("/").text) == []
