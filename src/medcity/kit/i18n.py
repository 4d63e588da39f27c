"""Translations (Babel catalogs in ``medcity/locale``) and language negotiation.

Source strings are English; every user-facing text is wrapped so that ``scripts/i18n.sh`` extracts it:

- in Python, ``gettext("Text", lang)`` / ``ngettext("One", "Many %(num)d", n, lang)`` (``_`` is an alias), and
  ``N_("Text")`` to mark a module-level constant that is translated later with ``gettext(constant, lang)``;
- in templates, ``{% trans %}...{% endtrans %}`` or ``{{ _("Text") }}`` (see ``medcity.web.render``).

The language is always passed explicitly, never kept in a global, because one process serves requests in
several languages at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

SUPPORTED_LANGUAGES: tuple[str, ...] = ("ru", "en")
# The language the source strings are written in: saying a text in it needs no catalog.
SOURCE_LANGUAGE = "en"

# Each language is named in itself, so that a reader finds their language whatever the page language is;
# that is why these names are not translated.
LANGUAGE_NAMES: dict[str, str] = {"ru": "Русский", "en": "English"}

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"


def translator(lang: str) -> NullTranslations:
    """The catalog for ``lang``; suitable for Jinja's ``install_gettext_translations``."""
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {SUPPORTED_LANGUAGES}")
    return _load(lang)


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def _load(lang: str) -> NullTranslations:
    # A missing compiled catalog would silently show English everywhere, so refuse to start instead.
    if not (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
        raise FileNotFoundError(f"no compiled catalog for {lang!r} in {LOCALE_DIR}; run scripts/i18n.sh")
    return Translations.load(LOCALE_DIR, [lang], DOMAIN)


def gettext(text: str, lang: str) -> str:
    """``text`` (an English source string) in ``lang``; the source itself when it has no translation."""
    return translator(lang).gettext(text)


def ngettext(singular: str, plural: str, n: int, lang: str) -> str:
    """The plural form for ``n`` in ``lang`` (Russian has three); format it with ``% {"num": n}``."""
    return translator(lang).ngettext(singular, plural, n)


_ = gettext


def N_(text: str) -> str:
    """Mark ``text`` for extraction without translating it yet (for constants defined at import time)."""
    return text


class Label(str):
    """A value that is itself an ``N_``-marked text (a field's label, a status), so that `say` translates it."""

    def say(self, lang: str) -> str:
        return str(self) if lang == SOURCE_LANGUAGE else gettext(self, lang)


def say(text: str, values: Mapping[str, object], lang: str) -> str:
    """``text`` (a msgid with ``%(name)s`` fields) in ``lang``, filled with ``values`` said in ``lang`` too.

    A value that can say itself (an error, a `Label`: ``say(lang)``) or is a named thing (``name(lang)``, as the
    order catalogue's tests) is worded in ``lang``; anything else (a number, a code, what the user typed) is shown
    as it is. Without values the text is not %-formatted, so a text with a literal ``%`` needs none escaped.
    """
    template = text if lang == SOURCE_LANGUAGE else gettext(text, lang)
    return template % {key: _said(value, lang) for key, value in values.items()} if values else template


def _said(value: object, lang: str) -> object:
    for method in ("say", "name"):
        wording = getattr(value, method, None)
        if callable(wording):
            return wording(lang)
    return value


def negotiate(accept_language: str | None) -> str | None:
    """The supported language the client prefers most, from an ``Accept-Language`` header, or None.

    ``en-GB`` matches ``en``; ``q=0`` means "not this one"; ``*`` is ignored, so that the caller's
    default wins.
    """
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if quality > 0 and primary in SUPPORTED_LANGUAGES:
            # Negative position keeps the header's order among equal weights once sorted descending.
            ranked.append((quality, -position, primary))
    return max(ranked)[2] if ranked else None


def choose_language(*, cookie: str | None, accept_language: str | None, default: str) -> str:
    """The language of a response: the user's explicit choice, else the browser's, else the region's."""
    if cookie in SUPPORTED_LANGUAGES:
        return cookie
    negotiated = negotiate(accept_language)
    if negotiated is not None:
        return negotiated
    return default if default in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES[0]
