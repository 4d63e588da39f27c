"""Errors are worded once for both faces: English diagnostics for the FHIR face, `say(lang)` for a page."""

from __future__ import annotations

from dataclasses import dataclass

from medcity.kit.errors import Conflict, Issue, MedcityError, NotFound, Unprocessable
from medcity.kit.i18n import N_, Label, say


@dataclass(frozen=True)
class Specialty:
    """A named thing, as the registry's concepts are: it says its own name in the reader's language."""

    en: str
    ru: str

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


def test_diagnostics_are_english_and_say_is_russian_with_the_values_filled() -> None:
    error = Conflict(N_("Bed Location/%(bed)s is occupied"), bed="b-7")
    assert error.diagnostics == str(error) == "Bed Location/b-7 is occupied"
    assert error.say("en") == "Bed Location/b-7 is occupied"
    assert error.say("ru") == "Койка Location/b-7 занята"
    assert error.status == 409
    assert error.issues == [Issue(code="conflict", diagnostics="Bed Location/b-7 is occupied")]


def test_a_named_value_is_said_in_the_readers_language() -> None:
    error = Unprocessable(
        N_("The patient already has an active appointment for %(specialty)s; reschedule it instead"),
        specialty=Specialty("Cardiologist", "Кардиолог"),
    )
    assert error.diagnostics == "The patient already has an active appointment for Cardiologist; reschedule it instead"
    assert error.say("ru") == "У пациента уже есть действующая запись к специалисту «Кардиолог»; перенесите её"


def test_a_label_and_an_error_among_the_values_are_translated_too() -> None:
    cancelled = Unprocessable(N_("Only an issued referral can be cancelled; this one is %(state)s"),
                              state=Label("cancelled"))  # fmt: skip
    assert cancelled.diagnostics == "Only an issued referral can be cancelled; this one is cancelled"
    assert cancelled.say("ru") == "Отменить можно только выданное направление; статус этого направления: «отменена»"
    wrapped = Unprocessable(N_("Line %(line)s: %(reason)s"), line=3, reason=cancelled)
    assert wrapped.diagnostics == "Line 3: Only an issued referral can be cancelled; this one is cancelled"
    assert wrapped.say("ru").endswith(
        ": Отменить можно только выданное направление; статус этого направления: «отменена»"
    )


def test_status_and_issues_keep_working_beside_the_values() -> None:
    issues = [Issue(code="value", diagnostics="one"), Issue(code="value", diagnostics="two")]
    error = Unprocessable("one; two", issues=issues, status=400)
    assert (error.status, error.issues, error.diagnostics) == (400, issues, "one; two")
    gone = NotFound(N_("Slot/%(slot_id)s is not known"), slot_id="s1", status=410)
    assert gone.status == 410 and gone.say("ru") == "Слот Slot/s1 не найден"


def test_a_text_that_is_not_a_msgid_stays_as_written_and_is_not_formatted() -> None:
    """Errors raised with a plain (untranslated) text, such as the store's, say the same in every language, and
    a literal % in them is not taken for a field."""
    error = MedcityError("Only 100% of the value")
    assert error.say("ru") == error.diagnostics == "Only 100% of the value"


def test_say_fills_warnings_that_are_not_errors() -> None:
    text = N_("%(field_label)s %(value)s %(unit)s is unusual: please check it")
    values = {"field_label": Label(N_("Pulse")), "value": "180", "unit": "/min"}
    assert say(text, values, "en") == "Pulse 180 /min is unusual: please check it"
    assert say(text, values, "ru").startswith("Пульс 180 /min")
