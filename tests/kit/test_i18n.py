"""Translations: the helpers, language negotiation, and that every user-facing text is translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from medcity.kit import i18n
from medcity.kit.i18n import N_, choose_language, gettext, negotiate, ngettext, translator

ROOT = Path(__file__).resolve().parents[2]


def read_catalog(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def extracted_msgids() -> set[str | tuple[str, ...]]:
    """What scripts/i18n.sh would extract now, straight from the sources, with the same babel.cfg."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: set[str | tuple[str, ...]] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message)
    return found


def test_gettext_translates_to_russian_and_keeps_english_source() -> None:
    heading = "One medical system for the whole city"
    assert gettext(heading, "ru") == "Единая медицинская система для всего города"
    assert gettext(heading, "en") == heading


def test_text_without_translation_falls_back_to_the_source() -> None:
    assert gettext("No such text anywhere", "ru") == "No such text anywhere"


def test_ngettext_picks_the_form_by_number() -> None:
    assert ngettext("%(num)d visit", "%(num)d visits", 1, "en") == "%(num)d visit"
    assert ngettext("%(num)d visit", "%(num)d visits", 5, "en") == "%(num)d visits"


def test_russian_catalog_has_three_plural_forms() -> None:
    assert read_catalog("ru").num_plurals == 3


def test_unsupported_language_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        translator("de")


def test_n_marks_without_translating() -> None:
    assert N_("Booking without queues") == "Booking without queues"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),
        ("de, fr", None),
        ("*", None),
        ("en;q=0.3, ru;q=0.8", "ru"),
        ("en;q=0, ru;q=0.1", "ru"),
        ("en;q=0", None),
        ("en;q=bogus, ru;q=0.2", "ru"),
        ("EN-us", "en"),
        ("ru, en", "ru"),
        ("en, ru", "en"),
    ],
)
def test_negotiate(header: str | None, expected: str | None) -> None:
    assert negotiate(header) == expected


def test_choose_language_prefers_cookie_then_header_then_default() -> None:
    assert choose_language(cookie="en", accept_language="ru", default="ru") == "en"
    assert choose_language(cookie="xx", accept_language="en", default="ru") == "en"
    assert choose_language(cookie=None, accept_language="de", default="en") == "en"
    assert choose_language(cookie=None, accept_language=None, default="ru") == "ru"
    # A misconfigured region default must not break every page.
    assert choose_language(cookie=None, accept_language=None, default="de") == "ru"


def test_every_extracted_text_has_a_russian_translation() -> None:
    """Fails when a text in code or templates is new or changed and was not extracted and translated."""
    catalog = read_catalog("ru")
    missing = []
    for msgid in sorted(extracted_msgids(), key=str):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        strings = message.string if message is not None else ""
        translated = all(strings) if isinstance(strings, tuple) else bool(strings)
        if message is None or not translated or message.fuzzy:
            missing.append(key)
    assert not missing, (
        "texts without a (non-fuzzy) Russian translation; run scripts/i18n.sh, translate them in "
        f"src/medcity/locale/ru/LC_MESSAGES/messages.po and run it again: {missing}"
    )


def _forms(string: object) -> tuple[str, ...]:
    """A message's translation as its forms, none when it is untranslated."""
    forms = tuple(string) if isinstance(string, list | tuple) else (str(string),) if string else ()
    return forms if all(forms) else ()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_catalog_placeholders_match_and_compiled_catalog_is_current(lang: str) -> None:
    catalog = read_catalog(lang)
    problems = [(message.id, errors) for message, errors in catalog.check() if errors]
    assert not problems, problems
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    # A plural's forms are a tuple in the .po and a list as read from the .mo; an English plural has empty forms.
    stale = [
        message.id
        for message in catalog
        if message.id
        and _forms(message.string)
        and not message.fuzzy
        and (compiled.get(message.id) is None or _forms(compiled[message.id].string) != _forms(message.string))
    ]
    assert not stale, f"messages.mo is older than messages.po; run scripts/i18n.sh: {stale}"
