"""Morbidity figures: patients per ICD-10 rubric and chapter in a period and the period before, what is rising, and
for one rubric or chapter the rates per polyclinic and per age band and sex; small counts suppressed; refused
input named."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import select

from medcity.analytics.morbidity import focus_of, morbidity, period
from medcity.analytics.tables import morbidity_diagnosis as diagnosis
from medcity.analytics.tables import morbidity_person as person
from medcity.kit.db import make_engine
from medcity.kit.errors import InvalidRequest
from medcity.store.repository import Store
from tests.analytics.city import END, START, build
from tests.schema import alembic_config


def test_rubrics_and_chapters_count_each_patient_once_in_the_regions_own_days(store: Store) -> None:
    build(store)
    with store.reader() as tx:
        figures = morbidity(tx, start=START, end=END)

    assert figures.previous_start == date(2026, 10, 4) and figures.population == 15
    rubrics = {r.code: r for r in figures.rubrics}
    j06 = rubrics["J06"]
    assert (j06.now.exact, j06.before.exact, j06.rising) == (11, 3, True)
    assert j06.change == round(11 / 3 - 1, 3)
    assert figures.rubrics[0].code == "J06"  # most patients first
    i10 = rubrics["I10"]
    assert (i10.now.exact, i10.before.exact) == (2, 1)
    assert (i10.now.shown, i10.before.shown, i10.change, i10.rising) == (None, None, None, False)
    assert rubrics["J20"].now.shown is None
    assert "E11" not in rubrics and "K29" not in rubrics  # refuted, deleted
    chapters = {c.code: c for c in figures.chapters}
    assert (chapters["X"].now.exact, chapters["X"].before.exact) == (11, 3)  # w0's J06 and J20: one patient
    assert [c.code for c in figures.chapters] == ["IX", "X"]  # the classification's order


def test_strata_of_a_rubric_give_rates_per_thousand_and_hide_small_cells(store: Store) -> None:
    build(store)
    with store.reader() as tx:
        figures = morbidity(tx, start=START, end=END, focus="J06")

    assert figures.diagnosed.exact == 11
    by_org = {s.key: s for s in figures.organizations}
    assert (by_org["pc1"].population, by_org["pc1"].diagnosed.shown, by_org["pc1"].per_thousand) == (10, 6, 600.0)
    assert (by_org["pc2"].population, by_org["pc2"].per_thousand) == (4, 1000.0)
    assert [s.key for s in figures.organizations] == ["pc2", "pc1"]  # the highest rate first
    by_stratum = {s.key: s for s in figures.age_sex}
    assert by_stratum["18-64/female"].diagnosed.exact == 6 and by_stratum["0-14/male"].diagnosed.exact == 4
    unknown = by_stratum["unknown/unknown"]
    assert (unknown.population, unknown.diagnosed.shown, unknown.per_thousand) == (1, None, None)
    assert [s.key for s in figures.age_sex] == ["0-14/male", "18-64/female", "unknown/unknown"]


def test_a_chapter_focus_counts_its_patients_once(store: Store) -> None:
    build(store)
    with store.reader() as tx:
        respiratory = morbidity(tx, start=START, end=END, focus="X")
        circulatory = morbidity(tx, start=START, end=END, focus="IX")
    assert respiratory.diagnosed.exact == 11
    assert circulatory.diagnosed.exact == 2 and circulatory.diagnosed.shown is None
    pc1 = next(s for s in circulatory.organizations if s.key == "pc1")
    assert (pc1.diagnosed.shown, pc1.per_thousand) == (None, None)
    # A polyclinic with no such patient is still listed, at zero.
    assert next(s for s in circulatory.organizations if s.key == "pc2").diagnosed.exact == 0


def test_periods_and_focus_are_checked() -> None:
    today = date(2026, 11, 28)
    assert period(None, None, today=today) == (date(2026, 11, 1), today)
    assert period(date(2026, 1, 1), date(2026, 3, 31), today=today) == (date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(InvalidRequest):
        period(date(2026, 3, 1), date(2026, 2, 1), today=today)
    with pytest.raises(InvalidRequest):
        period(date(2024, 1, 1), date(2026, 1, 1), today=today)
    assert focus_of(" j06 ") == "J06" and focus_of("IX") == "IX" and focus_of("") == ""
    for wrong in ("J06.9", "J00-J06", "ZZZ", "Q99.9x"):
        with pytest.raises(InvalidRequest):
            focus_of(wrong)


def test_the_migration_fills_the_register_as_the_writes_keep_it(fresh_url: str) -> None:
    command.upgrade(alembic_config(fresh_url), "head")
    engine = make_engine(fresh_url)
    build(Store(engine, "77"))

    def register() -> list[list[tuple[object, ...]]]:
        with engine.connect() as conn:
            return [sorted(tuple(row) for row in conn.execute(select(table))) for table in (diagnosis, person)]

    kept = register()
    assert len(kept[0]) == 21 and len(kept[1]) == 15  # refuted and deleted diagnoses are not kept
    command.downgrade(alembic_config(fresh_url), "0013")
    command.upgrade(alembic_config(fresh_url), "head")
    assert register() == kept
    engine.dispose()
