"""The calendar against hand-built histories: what a paediatrician expects to see due, overdue and done."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from medcity.immunization import service
from medcity.immunization.calendar import after, calendar
from medcity.immunization.service import DoseState
from medcity.kit.errors import InvalidRequest
from tests.immunization.history import given, given_cvx


def by_code(states: list[DoseState]) -> dict[str, DoseState]:
    return {s.dose.code: s for s in states if not (s.dose.every and s.state == "done")}


def test_months_are_calendar_months() -> None:
    assert after(date(2026, 1, 31), "1m") == date(2026, 2, 28)
    assert after(date(2024, 1, 31), "1m") == date(2024, 2, 29)
    assert after(date(2026, 1, 1), "4m15d") == date(2026, 5, 16)
    assert after(date(2026, 3, 10), "1y6m") == date(2027, 9, 10)
    with pytest.raises(ValueError):
        after(date(2026, 1, 1), "6 weeks")


def test_a_newborn_is_due_hepatitis_b_on_the_first_day_and_bcg_from_day_three() -> None:
    born = date(2026, 3, 10)
    states = by_code(service.forecast(born, [], born))
    assert states["hepb-1"].state == "due"
    assert (states["hepb-1"].earliest, states["hepb-1"].latest) == (born, born + timedelta(days=1))
    assert states["tb-1"].state == "upcoming" and states["tb-1"].earliest == born + timedelta(days=3)
    assert states["mmr-1"].state == "upcoming" and states["mmr-1"].earliest == date(2027, 3, 10)
    assert not service.overdue(list(states.values()))
    # Two days on, without the first hepatitis B dose, it is overdue; BCG is not yet.
    later = by_code(service.forecast(born, [], born + timedelta(days=2)))
    assert later["hepb-1"].state == "overdue" and later["hepb-1"].overdue_since == born + timedelta(days=2)
    assert later["tb-1"].state == "upcoming"


def _on_time(born: date, *doses: str) -> list[dict[str, object]]:
    return [given(code, after(born, calendar().doses[code].start)) for code in doses]


def test_a_seven_month_old_who_missed_the_first_polio_dose() -> None:
    born = date(2026, 1, 15)
    today = date(2026, 8, 20)  # 7 months and 5 days
    history = _on_time(born, "hepb-1", "hepb-2", "tb-1", "pcv-1", "pcv-2", "dtp-1", "dtp-2", "dtp-3")
    states = by_code(service.forecast(born, history, today))
    assert states["dtp-3"].state == "done" and states["dtp-3"].given == date(2026, 7, 15)
    polio = states["polio-1"]
    assert polio.state == "overdue" and polio.overdue_since == date(2026, 5, 16)  # due at 3 months, a month to give it
    # The second waits for the first, and could follow it 45 days after it is given today.
    assert states["polio-2"].state == "upcoming" and states["polio-2"].earliest == today + timedelta(days=45)
    # Hepatitis B V3 was due at 6 months, to 7: five days late.
    assert states["hepb-3"].state == "overdue" and states["hepb-3"].overdue_since == date(2026, 8, 16)
    assert [s.dose.code for s in service.overdue(list(states.values()))] == ["polio-1", "hepb-3"]
    assert states["mmr-1"].state == "upcoming"


def test_a_later_dose_is_due_only_the_minimum_interval_after_the_previous() -> None:
    born = date(2026, 1, 1)
    late_first = date(2026, 6, 1)  # DTP V1 at 5 months instead of 3
    states = by_code(service.forecast(born, [given("dtp-1", late_first)], date(2026, 6, 20)))
    second = states["dtp-2"]
    assert second.state == "upcoming" and second.earliest == late_first + timedelta(days=45)
    # Its window keeps its length (a month), moved with it: not overdue at once.
    assert second.latest == second.earliest + (after(born, "5m15d") - after(born, "4m15d"))
    due = by_code(service.forecast(born, [given("dtp-1", late_first)], late_first + timedelta(days=46)))
    assert due["dtp-2"].state == "due"
    # Pneumococcal doses are 8 weeks apart at the least.
    pcv = by_code(service.forecast(born, [given("pcv-1", date(2026, 4, 1))], date(2026, 5, 20)))["pcv-2"]
    assert pcv.earliest == date(2026, 5, 27) and pcv.state == "upcoming"


def test_a_fifteen_year_old_without_the_third_diphtheria_tetanus_revaccination() -> None:
    born = date(2011, 6, 1)
    today = date(2026, 9, 1)
    childhood = (
        "hepb-1",
        "hepb-2",
        "hepb-3",
        "tb-1",
        "pcv-1",
        "pcv-2",
        "pcv-rv",
        "dtp-1",
        "dtp-2",
        "dtp-3",
        "dtp-rv1",
        "td-rv2",
        "polio-1",
        "polio-2",
        "polio-3",
        "polio-rv1",
        "polio-rv2",
        "polio-rv3",
        "mmr-1",
        "mmr-rv",
    )
    states = service.forecast(born, _on_time(born, *childhood), today)
    late = service.overdue(states)
    assert [s.dose.code for s in late] == ["td-rv3"]
    assert late[0].overdue_since == date(2026, 6, 2)  # 14 years, and a year to give it
    coded = by_code(states)
    # The adults' dose comes 10 years after the last of the series, from 18.
    assert coded["td-adult"].state == "upcoming" and coded["td-adult"].earliest == date(2029, 6, 1)


def test_an_adults_diphtheria_tetanus_every_ten_years() -> None:
    born = date(1980, 4, 1)
    recent = by_code(service.forecast(born, [given("td-adult", date(2020, 1, 10))], date(2026, 1, 1)))
    assert recent["td-adult"].state == "upcoming" and recent["td-adult"].earliest == date(2030, 1, 10)
    # Childhood doses never given are past the calendar's age: missed, not overdue.
    assert recent["dtp-1"].state == "missed" and recent["mmr-1"].state == "missed"
    old = service.forecast(born, [given_cvx("09", date(2014, 3, 3))], date(2026, 1, 1))
    [late] = [s for s in service.overdue(old)]
    assert late.dose.code == "td-adult" and late.overdue_since == date(2025, 3, 4)
    assert late.number == 8  # the Td of 2014 was an adult's (7th), not the first DTP of a child


def test_vaccines_coded_elsewhere_fill_their_series_in_order() -> None:
    born = date(2024, 1, 10)
    history = [
        given_cvx("20", date(2024, 4, 10)),
        given_cvx("20", date(2024, 5, 27)),
        given_cvx("20", date(2024, 7, 10), number=3),
        given_cvx("03", date(2025, 1, 12)),
    ]
    states = by_code(service.forecast(born, history, date(2025, 3, 1)))
    assert [states[c].state for c in ("dtp-1", "dtp-2", "dtp-3")] == ["done"] * 3
    assert states["mmr-1"].given == date(2025, 1, 12)
    assert states["dtp-rv1"].earliest == date(2025, 7, 10)  # 18 months, and 12 months after V3
    # A dose not completed, or of an unknown vaccine, does not count.
    refused = {**given("mmr-1", date(2025, 1, 12)), "status": "not-done"}
    unknown = {**given("mmr-1", date(2025, 1, 12)), "vaccineCode": {"text": "что-то"}}
    assert by_code(service.forecast(born, [refused, unknown], date(2025, 3, 1)))["mmr-1"].state == "overdue"


def test_hib_is_for_risk_groups_and_not_forecast() -> None:
    born = date(2026, 1, 1)
    codes = {s.dose.code for s in service.forecast(born, [], date(2026, 9, 1))}
    assert not any(code.startswith("hib") for code in codes)
    shown = service.forecast(born, [given("hib-1", date(2026, 4, 1))], date(2026, 9, 1))
    assert [(s.dose.code, s.state) for s in shown if s.dose.series == "hib"] == [("hib-1", "done")]


def test_influenza_comes_yearly_and_is_never_overdue() -> None:
    born = date(2020, 1, 1)
    flu = [
        s for s in service.forecast(born, [given("flu", date(2025, 10, 1))], date(2026, 11, 1)) if s.dose.code == "flu"
    ]
    assert [(s.state, s.number) for s in flu] == [("done", 1), ("due", 2)]
    assert flu[1].earliest == date(2026, 10, 1) and flu[1].latest is None


def _record(**changes: object) -> service.Record:
    values: dict[str, object] = {
        "patient": "p1",
        "dose": "mmr-1",
        "day": date(2026, 5, 1),
        "lot": "Л123-45",
        "site": "LA",
        "performer": {"reference": "PractitionerRole/r1"},
        **changes,
    }
    return service.Record(**values)  # type: ignore[arg-type]


def test_a_recorded_vaccination_names_its_dose_and_refuses_nonsense() -> None:
    body = service.build(_record(), birth=date(2025, 4, 1), today=date(2026, 5, 2), recorded="2026-05-02T09:00:00Z")
    assert body["vaccineCode"]["coding"][0] == {
        "system": calendar().system,
        "code": "mmr-1",
        "display": "вакцина против кори, краснухи и паротита: вакцинация",
    }
    assert body["protocolApplied"][0]["doseNumberPositiveInt"] == 1 and body["lotNumber"] == "Л123-45"
    assert body["performer"] == [{"actor": {"reference": "PractitionerRole/r1"}}]
    for bad in ({"dose": "mmr-9"}, {"day": date(2026, 5, 3)}, {"day": date(2025, 3, 1)}, {"lot": " "},
                {"lot": "x" * 41}, {"site": "HEAD"}):  # fmt: skip
        with pytest.raises(InvalidRequest):
            service.build(_record(**bad), birth=date(2025, 4, 1), today=date(2026, 5, 2), recorded="x")


def test_an_exemption_or_refusal_is_kept_with_the_dose_that_is_still_not_given() -> None:
    born = date(2025, 1, 1)
    exempted = service.build(_record(not_given="MEDPREC", lot=""), birth=born, today=date(2026, 5, 2), recorded="x")
    assert exempted["status"] == "not-done" and "lotNumber" not in exempted
    assert exempted["statusReason"]["coding"][0] == {"system": service.REASON_SYSTEM, "code": "MEDPREC"}
    with pytest.raises(InvalidRequest):
        service.build(_record(not_given="BORED"), birth=born, today=date(2026, 5, 2), recorded="x")
    states = by_code(service.forecast(born, [{**exempted, "id": "e1"}], date(2026, 5, 2)))
    assert states["mmr-1"].state == "overdue" and states["mmr-1"].not_given == ("MEDPREC", date(2026, 5, 1))
    # Given later, the dose is done and the exemption is history.
    done = by_code(service.forecast(born, [exempted, given("mmr-1", date(2026, 5, 2))], date(2026, 5, 2)))
    assert done["mmr-1"].state == "done" and done["mmr-1"].not_given is None
