"""Days as pages show them: a FHIR date or dateTime as dd.mm.yyyy, anything else as it was written."""

from __future__ import annotations

from medcity.kit.instants import shown_day


def test_a_day_is_shown_as_pages_write_days() -> None:
    assert shown_day("1962-04-30") == "30.04.1962"
    assert shown_day("2026-12-03T18:44:00+03:00") == "03.12.2026"
    assert shown_day("1962") == "1962"  # a year alone is a valid FHIR date: left as written
    assert shown_day(None) == "" and shown_day("") == ""
