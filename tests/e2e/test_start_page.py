"""The start page in a real browser: Russian by default, switched to English, and remembered."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

RU_HEADING = "Единая медицинская система для всего города"
EN_HEADING = "One medical system for the whole city"

pytestmark = pytest.mark.e2e


def test_language_switch_to_english_is_remembered(page: Page) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text(RU_HEADING)

    page.get_by_role("navigation", name="Язык").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(EN_HEADING)

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(EN_HEADING)
    expect(page.get_by_role("navigation", name="Language").get_by_role("link", name="Русский")).to_be_visible()


def test_vendored_htmx_and_styles_load(page: Page) -> None:
    page.goto("/")
    page.wait_for_function("typeof window.htmx === 'object'")
    # The stylesheet applied: the header has the accent colour rather than the browser's default.
    header_colour = page.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(11, 92, 168)"


def test_browser_in_an_unsupported_language_gets_the_region_default(browser: Browser, server_url: str) -> None:
    context = browser.new_context(base_url=server_url, locale="de-DE")
    try:
        german = context.new_page()
        german.goto("/")
        expect(german.get_by_role("heading", level=1)).to_have_text(RU_HEADING)
    finally:
        context.close()
