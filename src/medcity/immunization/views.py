"""The calendar as people read it, in their language: each dose with its state and dates (dd.mm.yyyy), the chart's
panel of overdue doses, and the portal's next vaccination in plain words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from medcity.immunization.calendar import after, calendar
from medcity.immunization.service import NOT_GIVEN, DoseState, next_doses, overdue
from medcity.kit.i18n import N_, gettext, ngettext
from medcity.kit.instants import shown_day

STATE_NAMES = {"done": N_("done"), "due": N_("due"), "overdue": N_("overdue"), "upcoming": N_("not yet due"),
               "missed": N_("missed: past the calendar's age")}  # fmt: skip
_SPAN = re.compile(r"(\d+)([ymd])")


@dataclass(frozen=True)
class Row:
    """One dose as the calendar's table shows it."""

    code: str
    series: str
    infection: str
    dose: str
    state: str
    state_name: str
    when: str  # the day it was given, or when it is due, in words
    note: str = ""  # an exemption or refusal recorded for it, with its day


def _day(day: date | None) -> str:
    return shown_day(day.isoformat()) if day else ""


def when_text(state: DoseState, lang: str) -> str:
    if state.state == "done":
        return _day(state.given)
    if state.state == "overdue":
        return gettext("since %(day)s", lang) % {"day": _day(state.overdue_since)}
    if state.state == "missed" or state.earliest is None:
        return ""
    if state.state == "due" and state.latest is not None:
        return gettext("from %(start)s to %(end)s", lang) % {"start": _day(state.earliest), "end": _day(state.latest)}
    return gettext("from %(day)s", lang) % {"day": _day(state.earliest)}


def not_given_text(state: DoseState, lang: str) -> str:
    if state.not_given is None:
        return ""
    reason, day = state.not_given
    return f"{gettext(NOT_GIVEN.get(reason, reason), lang)} ({_day(day)})"


def row(state: DoseState, lang: str) -> Row:
    series = calendar().series[state.dose.series]
    return Row(code=state.dose.code, series=series.code, infection=series.infection(lang),
               dose=state.dose.label(lang), state=state.state, state_name=gettext(STATE_NAMES[state.state], lang),
               when=when_text(state, lang), note=not_given_text(state, lang))  # fmt: skip


def rows(states: list[DoseState], lang: str) -> list[Row]:
    return [row(s, lang) for s in states]


def age_words(span: str, lang: str) -> str:
    """A calendar age in words: "12 months", "6 years", "4 months 15 days"."""
    # Translators: the age follows "from" (с 12 месяцев, с 1 года, с 3 дней): the genitive.
    words = {
        "y": lambda n: ngettext("%(num)d year", "%(num)d years", n, lang),
        "m": lambda n: ngettext("%(num)d month", "%(num)d months", n, lang),
        "d": lambda n: ngettext("%(num)d day", "%(num)d days", n, lang),
    }
    return " ".join(words[unit](int(n)) % {"num": int(n)} for n, unit in _SPAN.findall(span))


def next_text(states: list[DoseState], birth: date, lang: str) -> str:
    """The portal's one line: what vaccination comes next (or is late), with when, as a parent says it."""
    coming = next_doses(states)
    if not coming:
        return gettext("Every vaccination of the calendar so far is done.", lang)
    first = coming[0]
    infection = calendar().series[first.dose.series].infection(lang)
    if first.state == "overdue":
        text = N_("Overdue vaccination: %(infection)s — since %(day)s. Book a visit to your polyclinic.")
        return gettext(text, lang) % {"infection": infection, "day": _day(first.overdue_since)}
    if first.state == "due":
        return gettext("Vaccination due now: %(infection)s.", lang) % {"infection": infection}
    if first.earliest == after(birth, first.dose.start):  # at the calendar's age: say the age, as parents do
        text = N_("Next vaccination: %(infection)s — from %(age)s (%(day)s)")
        return gettext(text, lang) % {"infection": infection, "age": age_words(first.dose.start, lang),
                                      "day": _day(first.earliest)}  # fmt: skip
    return gettext("Next vaccination: %(infection)s — from %(day)s", lang) % {"infection": infection,
                                                                              "day": _day(first.earliest)}  # fmt: skip


@dataclass(frozen=True)
class Panel:
    """What the chart's vaccination panel shows: the overdue doses and the next due."""

    patient: str
    overdue: list[Row]
    due: list[Row]


def panel(patient: str, states: list[DoseState], lang: str) -> Panel:
    return Panel(patient=patient, overdue=rows(overdue(states), lang),
                 due=rows([s for s in next_doses(states) if s.state == "due"], lang))  # fmt: skip
