"""Render a page in the request's language: the one helper every package's ``pages.py`` uses.

Templates are found first in ``medcity/web/templates`` (``base.html``, which pages extend), then in the
``templates/`` folder of every package registered with ``add_template_package``. Keep a package's templates
in a sub-folder named after it (``scheduling/templates/scheduling/slots.html``) so that names never collide.

Templates are strict: an undefined variable is an error (test ``{% if x is defined %}`` where it may be
absent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from medcity.kit.config import get_settings
from medcity.kit.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, choose_language, translator
from medcity.registry.regions import region_of

LANG_COOKIE = "lang"

_loader = ChoiceLoader([PackageLoader("medcity.web", "templates")])
_packages: set[str] = {"medcity.web"}
_context_processors: list[Callable[[Request], Mapping[str, Any]]] = []


def add_template_package(package: str, folder: str = "templates") -> None:
    """Make the templates in ``<package>/<folder>`` available to ``render``; calling it again is harmless."""
    if package in _packages:
        return
    _loader.loaders = [*_loader.loaders, PackageLoader(package, folder)]
    _packages.add(package)


def add_context_processor(processor: Callable[[Request], Mapping[str, Any]]) -> None:
    """Give every page the values ``processor(request)`` returns (auth adds the logged-in user for base.html);
    a page's own context wins over them. Calling it again with the same function is harmless."""
    if processor not in _context_processors:
        _context_processors.append(processor)


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def environment(lang: str) -> Environment:
    """The Jinja environment for ``lang``.

    One environment per language, sharing the loader, because gettext is installed into an environment: a
    single shared one would let concurrent requests in different languages swap each other's translations.
    """
    env = Environment(
        loader=_loader,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Must match the extractor's "trimmed" option in babel.cfg, or msgids would differ in whitespace.
    env.policies["ext.i18n.trimmed"] = True
    # The i18n extension adds this method at runtime. New-style gettext escapes and %-formats for us.
    env.install_gettext_translations(translator(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def request_language(request: Request) -> str:
    """The language to answer in: the ``lang`` cookie, else ``Accept-Language``, else the region default."""
    return choose_language(
        cookie=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=get_settings().default_language,
    )


def _served_region(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None) or get_settings()
    return str(settings.region)


def render(
    request: Request,
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template_name`` in the request's language.

    Besides ``context``, templates get ``request``, ``lang``, ``languages`` (code → own name), ``region`` (the
    served region's settings, for its name) and ``htmx`` (true when htmx asked for a fragment, so a template can
    skip the page frame), plus what the context processors add.
    """
    lang = request_language(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "region": region_of(_served_region(request)),
        "htmx": request.headers.get("hx-request") == "true",
    }
    for processor in _context_processors:
        values.update(processor(request))
    values.update(context or {})
    html = environment(lang).get_template(template_name).render(values)
    # The same URL answers in different languages (and as a fragment for htmx), so caches must key on those.
    headers = {"Content-Language": lang, "Vary": "Accept-Language, Cookie, HX-Request"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
