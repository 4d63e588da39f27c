"""An assessment as people read it, in their language: the scores with their categories, each input with the
resource it came from and its age, and what to order or ask for an input that is missing or stale. The chart's
panel, the risk page and the FHIR face's notes (in English) say it with these words."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_decimal

from medcity.kit.i18n import N_, gettext, ngettext
from medcity.kit.instants import shown_day
from medcity.orders.catalogue import catalogue
from medcity.risk import scores
from medcity.risk.scores import Score
from medcity.risk.service import (
    AT_VISIT,
    IN_QUESTIONNAIRE,
    IN_REGISTRATION,
    STALE_AFTER_DAYS,
    TEST_FOR,
    Assessment,
    Finding,
)
from medcity.terminology.units import unit_name

INPUT_LABELS = {
    "sex": N_("Sex"),
    "age": N_("Age"),
    "smoker": N_("Smoking"),
    "systolic": N_("Systolic blood pressure"),
    "total_cholesterol": N_("Total cholesterol"),
    "hdl": N_("HDL cholesterol"),
    "diabetes": N_("Diabetes"),
    "bp_treated": N_("Blood pressure medicine now"),
    "bp_medication_ever": N_("Blood pressure medicine ever taken"),
    "bmi": N_("Body mass index"),
    "waist": N_("Waist circumference"),
    "high_glucose_ever": N_("High blood glucose ever found"),
    "activity": N_("At least 30 minutes of physical activity daily"),
    "vegetables": N_("Vegetables, fruit or berries every day"),
    "family_history": N_("Diabetes in the family"),
}
MODEL_NAMES = {
    "score2": N_("SCORE2: 10-year risk of cardiovascular disease"),
    "findrisc": N_("FINDRISC: 10-year risk of type 2 diabetes"),
    "framingham": N_("Framingham 2008: 10-year risk of cardiovascular disease"),
}
CATEGORY_NAMES = {
    "low-moderate": N_("low to moderate"),
    "low": N_("low"),
    "slightly-elevated": N_("slightly elevated"),
    "moderate": N_("moderate"),
    "high": N_("high"),
    "very-high": N_("very high"),
}
FAMILY_NAMES = {
    "none": N_("no"),
    "second_degree": N_("grandparent, aunt, uncle or first cousin"),
    "first_degree": N_("parent, brother, sister or child"),
}
SEX_NAMES = {"male": N_("male"), "female": N_("female")}
YES, NO = N_("yes"), N_("no")
SMOKES, DOES_NOT_SMOKE = N_("smokes"), N_("does not smoke")


@dataclass(frozen=True)
class Row:
    """One input as a table row shows it."""

    name: str
    label: str
    value: str  # "" when not in the record
    day: str  # when it was measured or written
    ago: str  # how long ago, in words
    reference: str
    stale: bool
    hint: str  # what to do when it is missing or stale


@dataclass(frozen=True)
class Shown:
    """One score as shown: its figure (a percentage or points), category, and why it is not there."""

    model: str
    title: str
    figure: str
    category: str  # the category code (for colour), "" when there is none
    category_name: str
    missing: list[str]  # labels
    not_applicable: str
    caveat: str


def percent(probability: float, lang: str) -> str:
    return f"{format_decimal(probability * 100, format='0.0', locale=lang)} %"


def value_text(finding: Finding, lang: str) -> str:
    value = finding.value
    if value is None:
        return ""
    if finding.name == "smoker":
        return gettext(SMOKES if value else DOES_NOT_SMOKE, lang)
    if isinstance(value, bool):
        return gettext(YES if value else NO, lang)
    if finding.name == "sex":
        return gettext(SEX_NAMES.get(str(value), str(value)), lang)
    if finding.name == "family_history":
        return gettext(FAMILY_NAMES.get(str(value), str(value)), lang)
    if isinstance(value, float):
        shown = format_decimal(value, format="0.##", locale=lang)
        return f"{shown} {unit_name(finding.unit, lang)}".strip()
    return str(value)


def ago_text(days: int | None, lang: str) -> str:
    """How old a value is, as a doctor says it: days within a month, then months, then years."""
    if days is None:
        return ""
    if days <= 0:
        return gettext("today", lang)
    if days < 31:
        return ngettext("%(num)d day ago", "%(num)d days ago", days, lang) % {"num": days}
    if days < 365:
        months = days // 30
        return ngettext("%(num)d month ago", "%(num)d months ago", months, lang) % {"num": months}
    years = days // 365
    return ngettext("%(num)d year ago", "%(num)d years ago", years, lang) % {"num": years}


def hint(name: str, lang: str) -> str:
    """What brings a missing or stale input: a test to order, a measure or question of the visit, an answer."""
    if name in TEST_FOR:
        return gettext("Order: %(test)s", lang) % {"test": catalogue().tests[TEST_FOR[name]].name(lang)}
    if name in AT_VISIT:
        return gettext("Measure or ask at the next visit", lang)
    if name in IN_QUESTIONNAIRE:
        return gettext("Ask the patient (the questions on the risk page)", lang)
    if name in IN_REGISTRATION:
        return gettext("Complete the patient's registration record", lang)
    return ""


def rows(assessment: Assessment, lang: str) -> list[Row]:
    out = []
    for name, finding in assessment.findings.items():
        source = finding.source
        wanted = finding.value is None and name in assessment.missing
        out.append(Row(
            name=name, label=gettext(INPUT_LABELS[name], lang), value=value_text(finding, lang),
            day=shown_day(source.when) if source else "", ago=ago_text(source.age_days, lang) if source else "",
            reference=source.reference if source else "",
            stale=finding.stale, hint=hint(name, lang) if wanted or finding.stale else "",
        ))  # fmt: skip
    return out


def shown(score: Score, lang: str) -> Shown:
    if score.probability is not None:
        figure = percent(score.probability, lang)
    elif score.computed and score.points is not None:
        figure = gettext("%(points)s of %(most)s points", lang) % {
            "points": score.points,
            "most": scores.reference("findrisc")["max_score"],
        }
    else:
        figure = ""
    return Shown(
        model=score.model, title=gettext(MODEL_NAMES[score.model], lang), figure=figure,
        category=score.category or "", category_name=gettext(CATEGORY_NAMES[score.category], lang)
        if score.category else "", missing=[gettext(INPUT_LABELS[m], lang) for m in score.missing],
        not_applicable=gettext(score.not_applicable, lang) if score.not_applicable else "",
        caveat=gettext(score.caveat, lang) if score.caveat else "",
    )  # fmt: skip


def findrisc_lines(assessment: Assessment, lang: str) -> list[tuple[str, int]]:
    """(item, points) of each FINDRISC item answered so far."""
    return [(gettext(INPUT_LABELS[name], lang), points) for name, points in assessment.findrisc_points.items()]


STALE_TEXT = N_("older than %(years)s years: measure again")


def stale_text(lang: str) -> str:
    return gettext(STALE_TEXT, lang) % {"years": STALE_AFTER_DAYS // 365}


@dataclass(frozen=True)
class Panel:
    """What the chart's risk panel and the risk page show of an assessment."""

    patient: str
    scores: list[Shown]
    rows: list[Row]
    missing: list[Row]  # inputs some score lacks, with what to do
    stale: list[Row]
    findrisc_lines: list[tuple[str, int]]
    findrisc_points: int

    @property
    def score2(self) -> Shown:
        return next(s for s in self.scores if s.model == "score2")


def panel(assessment: Assessment, lang: str) -> Panel:
    listed = rows(assessment, lang)
    wanted = set(assessment.missing)
    return Panel(
        patient=assessment.patient, scores=[shown(s, lang) for s in assessment.scores], rows=listed,
        missing=[r for r in listed if r.name in wanted and not r.value], stale=[r for r in listed if r.stale],
        findrisc_lines=findrisc_lines(assessment, lang), findrisc_points=sum(assessment.findrisc_points.values()),
    )  # fmt: skip
