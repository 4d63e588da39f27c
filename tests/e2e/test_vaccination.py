"""The vaccination calendar in a real browser, in Russian: a nurse of the polyclinic opens the calendar of an
attached 13-month-old child from the chart's panel, records the measles-mumps-rubella dose that is due, and sees
it move from due to done on the day entered. The city is set up over FHIR, the login with `medcity users add`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.e2e.logins import add_user, create
from tests.e2e.server import Server
from tests.e2e.test_lab_loop import as_user

from medcity.registry.catalogue import organization_types

pytestmark = pytest.mark.e2e


def _born_months_ago(months: int) -> date:
    today = datetime.now(UTC).date()
    total = today.year * 12 + today.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def test_a_nurse_records_a_due_dose_and_it_is_done(browser: Browser, e2e_server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=e2e_server.url) as client:
        polyclinic = create(client, {"resourceType": "Organization", "name": f"Детская поликлиника {tag}",
                                     "type": organization_types("polyclinic", "public")})  # fmt: skip
        child = create(client, {
            "resourceType": "Patient", "name": [{"family": "Прививкина", "given": ["Аня"]}], "gender": "female",
            "birthDate": _born_months_ago(12).isoformat(),
            "managingOrganization": {"reference": f"Organization/{polyclinic}"},
        })  # fmt: skip
    login = add_user(e2e_server, "nurse", organization=polyclinic)

    page = as_user(browser, e2e_server.url, login)
    try:
        page.goto(f"/chart/{child}")
        page.locator("#vaccination-details").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Календарь прививок")
        mmr = page.locator('#vaccination-calendar tr[data-dose="mmr-1"]')
        expect(mmr).to_have_attribute("data-state", "due")
        expect(mmr.locator(".vacc")).to_have_text("пора сделать")

        # The form offers the region's today (Moscow's day may already be tomorrow in UTC).
        entered = date.fromisoformat(page.get_by_label("Дата прививки").input_value())
        page.get_by_label("Прививка", exact=True).select_option("mmr-1")
        page.get_by_label("Серия").fill(f"К-{tag}")
        page.get_by_label("Место введения").select_option("LA")
        page.get_by_role("button", name="Внести прививку").click()
        expect(page.get_by_role("status")).to_have_text("Прививка внесена.")
        expect(mmr).to_have_attribute("data-state", "done")
        expect(mmr.locator(".vacc")).to_have_text("сделана")
        expect(mmr).to_contain_text(entered.strftime("%d.%m.%Y"))
    finally:
        page.context.close()
