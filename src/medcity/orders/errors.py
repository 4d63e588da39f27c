"""Refusals of the ordering and laboratory rules, worded once for both faces: the FHIR face sends the English
diagnostics in an OperationOutcome, a page says the same in the reader's language (the English text is the gettext
msgid; its values may be names, which are said in the reader's language too, or other refusals)."""

from __future__ import annotations

from typing import Any, Protocol

from medcity.kit.errors import Unprocessable
from medcity.kit.i18n import gettext


class Named(Protocol):
    def name(self, lang: str) -> str: ...


class Refusal(Unprocessable):
    """`text` % `values` in English; `say(lang)` in another language. 422 unless `status` says otherwise."""

    def __init__(self, text: str, /, *, status: int = 422, **values: Any) -> None:
        super().__init__(_fill(text, values, "en", translate=False), status=status)
        self.text = text
        self.values = values

    def say(self, lang: str) -> str:
        return _fill(self.text, self.values, lang, translate=True)


def _said(value: Any, lang: str) -> Any:
    if isinstance(value, Refusal):
        return value.say(lang) if lang != "en" else value.diagnostics
    name = getattr(value, "name", None)
    return name(lang) if callable(name) else value


def _fill(text: str, values: dict[str, Any], lang: str, *, translate: bool) -> str:
    template = gettext(text, lang) if translate else text
    return template % {k: _said(v, lang) for k, v in values.items()} if values else template


def reason(error: Exception, lang: str) -> str:
    """What a page tells the user about a refusal."""
    if isinstance(error, Refusal):
        return error.say(lang)
    return str(getattr(error, "diagnostics", error))
