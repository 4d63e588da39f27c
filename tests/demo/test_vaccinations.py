"""The demo children's vaccinations: consistent with the calendar (each dose given no sooner than it is due), a
few missed so that the demo paediatrician has overdue children, and drawn from a stream of their own, so that
the rest of the demo city is what it was without them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from medcity.demo import vaccinations
from medcity.demo.generator import Generator
from medcity.immunization import service
from medcity.immunization.calendar import calendar
from medcity.store.validate import validate
from tests.demo.test_generator import AS_OF, TINY

JSON = dict[str, Any]


def _resources() -> list[JSON]:
    generator = Generator(seed=3, region="77", as_of=AS_OF, scale=TINY)
    city = generator.city()
    return [r for group in generator.patients(city) for r in group]


def test_children_are_vaccinated_by_the_calendar_with_a_few_doses_missed() -> None:
    resources = _resources()
    births = {r["id"]: date.fromisoformat(r["birthDate"]) for r in resources if r["resourceType"] == "Patient"}
    by_child: dict[str, list[JSON]] = {}
    for r in resources:
        if r["resourceType"] == "Immunization" and r["vaccineCode"]["coding"][0]["system"] == calendar().system:
            by_child.setdefault(r["patient"]["reference"].split("/")[1], []).append(r)
    children = [p for p, born in births.items() if (AS_OF - born).days < 18 * 365]
    assert by_child and set(by_child) <= set(children)
    behind = 0
    for child, given in by_child.items():
        validate(given[0])
        states = service.forecast(births[child], given, AS_OF)
        for state in (s for s in states if s.state == "done"):
            assert state.given is not None and state.given >= births[child]
        # Replayed without the dose, each was due (its age and interval passed) on the day it was given.
        for dose in given:
            others = [g for g in given if g is not dose]
            day = date.fromisoformat(dose["occurrenceDateTime"])
            [replayed] = [s for s in service.forecast(births[child], others, day)
                          if s.dose.code == dose["vaccineCode"]["coding"][0]["code"]]  # fmt: skip
            assert replayed.state in ("due", "overdue"), (child, dose["vaccineCode"], replayed)
        behind += bool(service.overdue(states))
    assert 0 < behind < len(by_child) / 2


def test_the_rest_of_the_city_does_not_change(monkeypatch: pytest.MonkeyPatch) -> None:
    with_them = [r for r in _resources() if r["resourceType"] != "Immunization"]
    monkeypatch.setattr(vaccinations, "calendar_history", lambda *_args, **_kwargs: [])
    without = [r for r in _resources() if r["resourceType"] != "Immunization"]
    assert with_them == without
