"""Morbidity for the health department: patients diagnosed per ICD-10 rubric in a period against the period before
(what is rising), and, for a chosen rubric or chapter, per polyclinic and per age band and sex, as rates per 1,000
of the population they come from.

Read from the morbidity register (`medcity.analytics.tables`: each Condition's rubrics and recorded date, each
Patient's polyclinic, birth date and sex), which every write of a Condition or a Patient keeps, whichever door it
comes through. A patient counts once per rubric and period however often it was recorded; refuted and
entered-in-error diagnoses do not count.
Every count of 1 or 2 is suppressed (shown as "fewer than 3"): with a polyclinic, an age band and a sex, a count
that small can name a person."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import case, func, literal, select

from medcity.analytics.tables import morbidity_diagnosis, morbidity_person
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.kit.instants import to_ms
from medcity.scheduling.resources import day_bounds
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Tx
from medcity.terminology.catalogue import load

SMALLEST_SHOWN = 3
# A rubric is rising when at least this many patients were diagnosed, and this many times the period before.
RISING_AT, RISING_BY = 5, 1.5
AGE_BANDS = (("0-14", 15), ("15-17", 18), ("18-64", 65), ("65+", None))
UNKNOWN = "unknown"
LONGEST_PERIOD = timedelta(days=366)
CHAPTER, RUBRIC = 0, 2  # the catalogue's kinds


@dataclass(frozen=True)
class Count:
    """A number of patients as it may be shown: None when it is 1 or 2 (suppressed)."""

    exact: int

    @property
    def shown(self) -> int | None:
        return None if 0 < self.exact < SMALLEST_SHOWN else self.exact

    def per_thousand(self, population: int) -> float | None:
        return None if self.shown is None or not population else round(1000 * self.exact / population, 2)


@dataclass(frozen=True)
class Rubric:
    code: str  # a three-character rubric (J06) or a chapter (X)
    now: Count
    before: Count

    @property
    def rising(self) -> bool:
        return self.now.exact >= RISING_AT and self.now.exact >= RISING_BY * self.before.exact

    @property
    def change(self) -> float | None:
        """The change against the period before, as a share; None where either side is suppressed or nothing."""
        if self.now.shown is None or self.before.shown is None or not self.before.exact:
            return None
        return round(self.now.exact / self.before.exact - 1, 3)


@dataclass(frozen=True)
class Stratum:
    key: str  # an Organization id, or "18-64/female"
    population: int
    diagnosed: Count

    @property
    def per_thousand(self) -> float | None:
        return self.diagnosed.per_thousand(self.population)


@dataclass(frozen=True)
class Morbidity:
    start: date
    end: date  # inclusive
    previous_start: date
    population: int
    rubrics: list[Rubric]  # most patients first
    chapters: list[Rubric]  # in the order of the classification
    focus: str  # the rubric or chapter the strata are for ("" = every diagnosis)
    diagnosed: Count  # patients diagnosed with `focus` in the period
    organizations: list[Stratum]  # by the highest rate
    age_sex: list[Stratum]  # by age band, then sex


def day(text: str | None) -> date | None:
    """A day as a form or a query gives it (YYYY-MM-DD), or None when not given."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise InvalidRequest(N_("A date as YYYY-MM-DD, please")) from None


def period(start: date | None, end: date | None, *, today: date, days: int = 28) -> tuple[date, date]:
    """The period asked for, or the last `days` days up to today; refused when it is back to front or too long."""
    end = end or today
    start = start or end - timedelta(days=days - 1)
    if start > end:
        raise InvalidRequest(N_("The period starts after it ends"))
    if end - start > LONGEST_PERIOD:
        raise InvalidRequest(N_("A period of at most a year, please"))
    return start, end


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@cache
def chapter_ranges() -> dict[str, tuple[str, str]]:
    """Each chapter's first and last rubric (X: J00, J99), from its blocks: rubrics sort as text within a range."""
    catalogue = load()
    ranges = {}
    for chapter in (c for c in catalogue.concepts if c.kind == CHAPTER):
        blocks = [catalogue.concepts[i].code for i in catalogue.children[chapter.index]]
        ranges[chapter.code] = (blocks[0].split("-")[0], blocks[-1].split("-")[-1])
    return ranges


def _chapter(rubric: Any) -> Any:
    """The SQL for the chapter of a rubric column."""
    return case(*[(rubric.between(low, high), literal(code)) for code, (low, high) in chapter_ranges().items()],
                else_=literal(""))  # fmt: skip


def focus_of(text: str | None) -> str:
    """The rubric (J06) or chapter (X) the strata are asked for, checked against the classification."""
    code = (text or "").strip().upper()
    concept = load().get(code) if code else None
    if code and (concept is None or concept.kind not in (CHAPTER, RUBRIC)):
        raise InvalidRequest(N_("%(code)s is not an ICD-10 chapter or three-character rubric"), code=code[:20])
    return code


class _Query:
    """The statements of one figure set: the diagnoses of the two periods, and the patients' attributes, from the
    morbidity register (`medcity.analytics.tables`)."""

    def __init__(self, tx: Tx, start: date, end: date) -> None:
        self.region, self.length = tx.region, (end - start).days + 1
        # The region's own days: the period before ends where this one starts.
        previous, first = day_bounds(tx.region, start - timedelta(days=self.length), days=self.length)
        self.previous_ms, self.start_ms = to_ms(previous), to_ms(first)
        self.end_ms = to_ms(day_bounds(tx.region, start, days=self.length)[1])
        # Birth dates are days, indexed from UTC midnight: an age band's limit is a birthday, in UTC.
        self.bands = [(name, to_ms(datetime.combine(_years_before(end, limit), time())) if limit else None)
                      for name, limit in AGE_BANDS]  # fmt: skip

    def diagnoses(self) -> Any:
        """(rubric, patient, current) once per patient, rubric and period."""
        d = morbidity_diagnosis
        return (
            select(d.c.rubric, d.c.patient, case((d.c.recorded >= self.start_ms, 1), else_=0).label("current"))
            .where(d.c.partition == self.region, d.c.recorded >= self.previous_ms, d.c.recorded < self.end_ms)
            .distinct()
            .subquery("diagnoses")
        )

    def patients(self) -> Any:
        """(patient, organization, band, sex) of every patient of the region."""
        p = morbidity_person
        band = case(*[(p.c.born >= limit, literal(name)) for name, limit in self.bands if limit is not None],
                    else_=literal(self.bands[-1][0]))  # fmt: skip
        known_band = case((p.c.born.is_(None), literal(UNKNOWN)), else_=band).label("band")
        sex = func.coalesce(p.c.sex, UNKNOWN).label("sex")
        return select(p.c.patient, p.c.organization, known_band, sex).where(p.c.partition == self.region).subquery()


def asked(tx: Tx, *, start: str | None, end: str | None, code: str | None, now: datetime) -> Morbidity:
    """The figures a form or an operation asks for: its days as given (YYYY-MM-DD; by default the last 28 up to the
    region's today) and its rubric or chapter, each checked (InvalidRequest)."""
    today = now.astimezone(rules_for(tx.region).timezone).date()
    first, last = period(day(start), day(end), today=today)
    return morbidity(tx, start=first, end=last, focus=focus_of(code))


def morbidity(tx: Tx, *, start: date, end: date, focus: str = "", top: int = 20) -> Morbidity:
    """The figures of the period `start`..`end` (inclusive days, UTC) and of as many days before it."""
    query = _Query(tx, start, end)
    diagnoses, patients = query.diagnoses(), query.patients()
    rubrics = sorted(_counts(tx, diagnoses.c.rubric, diagnoses), key=lambda r: (-r.now.exact, r.code))
    order = {code: n for n, code in enumerate(chapter_ranges())}
    chapters = sorted(_counts(tx, _chapter(diagnoses.c.rubric), diagnoses), key=lambda r: order.get(r.code, 0))
    population = _population(tx, patients)
    diagnosed = _diagnosed(tx, diagnoses, patients, focus)
    organizations = [Stratum(org, population["org"].get(org, 0), Count(n))
                     for org, n in diagnosed["org"].items() if org]  # fmt: skip
    organizations += [Stratum(org, people, Count(0)) for org, people in population["org"].items()
                      if org and org not in diagnosed["org"]]  # fmt: skip
    age_sex = [Stratum(key, population["age_sex"].get(key, 0), Count(diagnosed["age_sex"].get(key, 0)))
               for key in sorted(set(population["age_sex"]) | set(diagnosed["age_sex"]), key=_band_order)]  # fmt: skip
    return Morbidity(
        start=start, end=end, previous_start=start - timedelta(days=query.length),
        population=sum(population["org"].values()), rubrics=rubrics[:top], chapters=[c for c in chapters if c.code],
        focus=focus,
        diagnosed=Count(sum(diagnosed["org"].values())),
        organizations=sorted(organizations, key=lambda s: (-(s.per_thousand or 0), s.key)), age_sex=age_sex,
    )  # fmt: skip


def _counts(tx: Tx, key: Any, diagnoses: Any) -> list[Rubric]:
    """Patients per `key` (a rubric, or its chapter) in the period and in the period before, counted in SQL."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rows = tx.execute(
        select(key, diagnoses.c.current, func.count(diagnoses.c.patient.distinct())).group_by(key, diagnoses.c.current)
    )  # fmt: skip
    for code, current, count in rows:
        found[code][1 - current] = int(count)
    return [Rubric(code, Count(now), Count(before)) for code, (now, before) in found.items()]


def _band_order(key: str) -> tuple[int, str]:
    band, _, sex = key.partition("/")
    names = [name for name, _limit in AGE_BANDS]
    return (names.index(band) if band in names else len(names), sex)


def _population(tx: Tx, patients: Any) -> dict[str, dict[str, int]]:
    rows = tx.execute(
        select(patients.c.organization, patients.c.band, patients.c.sex, func.count())
        .group_by(patients.c.organization, patients.c.band, patients.c.sex)
    ).all()  # fmt: skip
    return _strata(rows)


def _diagnosed(tx: Tx, diagnoses: Any, patients: Any, focus: str) -> dict[str, dict[str, int]]:
    """Patients diagnosed in the period with `focus` (a rubric, a chapter, or anything), by their strata."""
    current = select(diagnoses.c.rubric, diagnoses.c.patient).where(diagnoses.c.current == 1)
    if focus in chapter_ranges():
        current = current.where(diagnoses.c.rubric.between(*chapter_ranges()[focus]))
    elif focus:
        current = current.where(diagnoses.c.rubric == focus)
    ill = current.subquery("ill")
    who = select(ill.c.patient).distinct().subquery("who")
    rows = tx.execute(
        select(patients.c.organization, patients.c.band, patients.c.sex, func.count())
        .select_from(who.join(patients, patients.c.patient == who.c.patient))
        .group_by(patients.c.organization, patients.c.band, patients.c.sex)
    ).all()  # fmt: skip
    return _strata(rows)


def _strata(rows: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {"org": defaultdict(int), "age_sex": defaultdict(int)}
    for organization, band, sex, count in rows:
        out["org"][organization] += int(count)
        out["age_sex"][f"{band}/{sex}"] += int(count)
    return {name: dict(values) for name, values in out.items()}
