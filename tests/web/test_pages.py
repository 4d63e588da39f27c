"""The start page, the language switch and the render helper, over a minimal app (no database)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from medcity.kit.config import get_settings
from medcity.web import STATIC_DIR, pages, render

RU_HEADING = "Единая медицинская система для всего города"
EN_HEADING = "One medical system for the whole city"


@pytest.fixture(autouse=True)
def region_default_ru(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MEDCITY_DEFAULT_LANGUAGE", "ru")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return TestClient(app, follow_redirects=False)


class _Text(HTMLParser):
    """The visible text of a page plus the attributes people read (aria-label, title)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [value for name, value in attrs if name in ("aria-label", "title", "alt") and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def heading(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, html
    return match.group(1).strip()


def test_start_page_is_russian_by_region_default(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="ru">' in response.text
    assert heading(response.text) == RU_HEADING
    assert response.headers["content-language"] == "ru"
    assert "Accept-Language" in response.headers["vary"]


def test_region_default_comes_from_settings(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCITY_DEFAULT_LANGUAGE", "en")
    get_settings.cache_clear()
    assert heading(client.get("/").text) == EN_HEADING


def test_every_page_names_the_served_region_in_the_readers_language(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, own_regions: Callable[[str], Path]
) -> None:
    monkeypatch.setenv("MEDCITY_REGION", "77")
    get_settings.cache_clear()
    brand = re.compile(r'<a class="brand" href="/">medcity <span class="brand__region">(.*?)</span></a>')
    assert brand.findall(client.get("/").text) == ["Москва"]
    assert brand.findall(client.get("/", headers={"Accept-Language": "en"}).text) == ["Moscow"]
    own_regions('[54]\nname = { ru = "Новосибирская область", en = "Novosibirsk Oblast" }\nokato = "50"\n')
    monkeypatch.setenv("MEDCITY_REGION", "54")
    get_settings.cache_clear()
    assert brand.findall(client.get("/").text) == ["Новосибирская область"]


def test_accept_language_chooses_english(client: TestClient) -> None:
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in response.text
    assert heading(response.text) == EN_HEADING


def test_unsupported_accept_language_gets_region_default(client: TestClient) -> None:
    assert heading(client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.8"}).text) == RU_HEADING


def test_cookie_beats_accept_language(client: TestClient) -> None:
    client.cookies.set("lang", "ru")
    assert heading(client.get("/", headers={"Accept-Language": "en"}).text) == RU_HEADING


def test_unknown_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set("lang", "xx")
    assert heading(client.get("/", headers={"Accept-Language": "en"}).text) == EN_HEADING


def test_start_page_links_to_fhir_and_openapi_and_other_language(client: TestClient) -> None:
    html = client.get("/").text
    assert 'href="/fhir/metadata"' in html
    assert 'href="/docs"' in html
    assert 'href="/lang/en"' in html
    assert 'href="/lang/ru"' not in html  # the current language is shown, not linked
    assert 'src="/static/htmx.min.js"' in html
    assert 'href="/static/medcity.css"' in html


def test_russian_page_has_no_untranslated_text(client: TestClient) -> None:
    # Latin words that are names, not English: the product, standards, and the other language's own name.
    names = {"medcity", "FHIR", "R4", "CapabilityStatement", "API", "OpenAPI", "Apache", "English"}
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", visible_text(client.get("/").text)))
    assert words - names == set()


@pytest.mark.parametrize(
    ("referer", "location"),
    [
        ("http://testserver/patient/visits?page=2", "/patient/visits?page=2"),
        ("http://testserver/", "/"),
        (None, "/"),
        ("https://evil.example/phish", "/"),
        ("http://testserver//evil.example/", "/"),
        ("http://testserver/\\evil.example/", "/"),
        ("http://testserver/lang/ru", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_switch_sets_cookie_and_goes_back_only_within_the_site(
    client: TestClient, referer: str | None, location: str
) -> None:
    headers = {"Referer": referer} if referer else {}
    response = client.get("/lang/en", headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == location
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("lang=en;")
    assert "Path=/" in cookie
    assert "Max-Age=" in cookie


def test_switch_then_pages_stay_in_chosen_language(client: TestClient) -> None:
    client.get("/lang/en", headers={"Accept-Language": "ru"})
    assert heading(client.get("/", headers={"Accept-Language": "ru"}).text) == EN_HEADING


def test_switch_to_unknown_language_is_404(client: TestClient) -> None:
    response = client.get("/lang/de")
    assert response.status_code == 404
    assert "set-cookie" not in response.headers


def test_static_files_are_served(client: TestClient) -> None:
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert htmx.text.startswith("var htmx=")
    assert client.get("/static/medcity.css").status_code == 200


def test_pages_are_not_in_openapi() -> None:
    app = FastAPI()
    app.include_router(pages.router)
    assert app.openapi()["paths"] == {}


def test_another_package_renders_its_template_with_the_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "medcity_probe"
    (package / "templates" / "medcity_probe").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "templates" / "medcity_probe" / "hello.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>{{ _("Language") }}: {{ who }}</h1>{% endblock %}'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # Registration is process-wide; restore it so the probe package does not leak into other tests.
    monkeypatch.setattr(render._loader, "loaders", list(render._loader.loaders))
    monkeypatch.setattr(render, "_packages", set(render._packages))
    before = len(render._loader.loaders)
    render.add_template_package("medcity_probe")
    render.add_template_package("medcity_probe")  # harmless twice
    assert len(render._loader.loaders) == before + 1

    app = FastAPI()

    @app.get("/hello")
    def hello(request: Request) -> HTMLResponse:
        return render.render(request, "medcity_probe/hello.html", {"who": "<b>Анна</b>"})

    html = TestClient(app).get("/hello", headers={"Accept-Language": "ru"}).text
    assert '<html lang="ru">' in html
    assert "<h1>Язык: &lt;b&gt;Анна&lt;/b&gt;</h1>" in html  # translated, and the value escaped
