"""Morbidity on the FHIR face: `Condition/$morbidity`, an aggregate operation (counts and rates, never a
patient), which the access policy gives to analysts, the region's administrators and system clients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medcity.analytics.morbidity import Count, Morbidity, Rubric, Stratum, asked
from medcity.kit.hooks import OperationCall, operation
from medcity.kit.parameters import Parameters
from medcity.scheduling.resources import ref
from medcity.terminology import service as terminology
from medcity.terminology.catalogue import SYSTEM_URL as ICD10

JSON = dict[str, Any]


@operation("morbidity", resource_types=("Condition",), aggregate=True,
           description="Patients diagnosed per ICD-10 rubric and chapter in a period against the period before, "
                       "and for one rubric or chapter ('code') per polyclinic and per age band and sex, as rates per "
                       "1,000; counts of 1 or 2 are suppressed")  # fmt: skip
def morbidity_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    lang = terminology.language(params.text("displayLanguage"))
    with call.store.reader() as tx:
        figures = asked(tx, start=params.text("start"), end=params.text("end"), code=params.text("code"),
                        now=datetime.now(UTC))  # fmt: skip
    return parameters(figures, lang)


def _count(name: str, count: Count) -> JSON:
    """A count as shown, or the fact that it is suppressed (a count of 1 or 2)."""
    if count.shown is None:
        return {"name": f"{name}Suppressed", "valueBoolean": True}
    return {"name": name, "valueInteger": count.shown}


def _rubric(name: str, rubric: Rubric, lang: str) -> JSON:
    parts = [{"name": "code", "valueCoding": {"system": ICD10, "code": rubric.code,
                                              "display": terminology.display(rubric.code, lang) or rubric.code}},
             _count("count", rubric.now), _count("previousCount", rubric.before),
             {"name": "rising", "valueBoolean": rubric.rising}]  # fmt: skip
    if rubric.change is not None:
        parts.append({"name": "change", "valueDecimal": rubric.change})
    return {"name": name, "part": parts}


def _stratum(name: str, stratum: Stratum, keys: list[JSON]) -> JSON:
    parts = [*keys, {"name": "population", "valueInteger": stratum.population}, _count("count", stratum.diagnosed)]
    if stratum.per_thousand is not None:
        parts.append({"name": "perThousand", "valueDecimal": stratum.per_thousand})
    return {"name": name, "part": parts}


def parameters(figures: Morbidity, lang: str) -> JSON:
    out: list[JSON] = [
        {"name": "start", "valueDate": figures.start.isoformat()},
        {"name": "end", "valueDate": figures.end.isoformat()},
        {"name": "previousStart", "valueDate": figures.previous_start.isoformat()},
        {"name": "population", "valueInteger": figures.population},
    ]
    out += [_rubric("rubric", rubric, lang) for rubric in figures.rubrics]
    out += [_rubric("chapter", chapter, lang) for chapter in figures.chapters]
    if figures.focus:
        out.append({"name": "focus", "valueCode": figures.focus})
    out.append(_count("diagnosed", figures.diagnosed))
    for s in figures.organizations:
        out.append(
            _stratum("organization", s, [{"name": "organization", "valueReference": ref("Organization", s.key)}])
        )
    for s in figures.age_sex:
        band, _, sex = s.key.partition("/")
        out.append(_stratum("ageSex", s, [{"name": "ageBand", "valueString": band}, {"name": "sex", "valueCode": sex}]))
    return {"resourceType": "Parameters", "parameter": out}
