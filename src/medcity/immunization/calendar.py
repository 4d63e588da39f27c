"""The vaccination calendar as data (`data/calendar.json`, with its source and what medcity simplified): series of
doses, each with the age it is given at, the latest age before it is overdue, the shortest interval after the
previous dose, and for a recurring dose (influenza, the adults' diphtheria-tetanus) how often it comes again."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
_DATA = Path(__file__).parent / "data" / "calendar.json"
_SPAN = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?$")
CVX = "http://hl7.org/fhir/sid/cvx"
ATC = "http://www.whocc.no/atc"


def after(day: date, span: str) -> date:
    """`day` plus a span of the calendar ("1y", "4m15d", "45d"); a month past the end of the next month lands on
    its last day, as a birthday on 31 January is one month old on 28 (29) February."""
    found = _SPAN.match(span)
    if not span or found is None:
        raise ValueError(f"not a calendar span: {span!r}")
    years, months, days = (int(part or 0) for part in found.groups())
    total = day.year * 12 + day.month - 1 + years * 12 + months
    year, month = divmod(total, 12)
    last = (date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last)) + timedelta(days=days)


@dataclass(frozen=True)
class Dose:
    code: str  # in the calendar's CodeSystem
    series: str
    number: int  # 1-based place in its series
    labels: dict[str, str]
    start: str  # the age it is given at
    end: str | None  # the latest age before it is overdue; None: never overdue
    interval: str | None  # the shortest time after the previous dose of the series
    until: str | None  # the age after which a dose not given is missed, no longer caught up
    every: str | None  # a recurring dose: due again this long after the last one
    window: str | None  # a recurring dose: how long after it is due it becomes overdue

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True)
class Series:
    code: str
    infections: dict[str, str]
    vaccines: dict[str, str]
    atc: tuple[str, ...]
    cvx: tuple[str, ...]
    risk_groups_only: bool
    doses: tuple[Dose, ...]

    def infection(self, lang: str) -> str:
        return self.infections.get(lang) or self.infections["en"]

    def vaccine(self, lang: str) -> str:
        return self.vaccines.get(lang) or self.vaccines["en"]

    @property
    def forecast(self) -> bool:
        """Whether the calendar says when its doses are due (risk groups are not read from the record)."""
        return not self.risk_groups_only


@dataclass(frozen=True)
class Calendar:
    source: str
    system: str
    series: dict[str, Series]
    doses: dict[str, Dose]

    def series_of(self, concept: Any) -> tuple[Series, Dose | None] | None:
        """The series a vaccineCode belongs to, with the dose when it names one of the calendar's own."""
        codings = concept.get("coding") if isinstance(concept, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if not isinstance(coding, dict):
                continue
            system, code = coding.get("system"), coding.get("code")
            if system == self.system and code in self.doses:
                dose = self.doses[code]
                return self.series[dose.series], dose
            for series in self.series.values():
                if (system == ATC and code in series.atc) or (system == CVX and code in series.cvx):
                    return series, None
        return None


def _dose(series: str, number: int, data: JSON, default_until: str | None) -> Dose:
    return Dose(
        code=data["code"], series=series, number=number, labels=data["label"], start=data["from"],
        end=data.get("to"), interval=data.get("interval"), until=data.get("until", default_until),
        every=data.get("every"), window=data.get("window"),
    )  # fmt: skip


@cache
def calendar() -> Calendar:
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    series: dict[str, Series] = {}
    for item in data["series"]:
        doses = tuple(_dose(item["code"], n, d, item.get("catch_up_until")) for n, d in enumerate(item["doses"], 1))
        series[item["code"]] = Series(
            code=item["code"], infections=item["infection"], vaccines=item["vaccine"], atc=tuple(item["atc"]),
            cvx=tuple(item["cvx"]), risk_groups_only=bool(item.get("risk_groups_only")), doses=doses,
        )  # fmt: skip
    by_code = {d.code: d for s in series.values() for d in s.doses}
    return Calendar(source=data["source"], system=data["system"], series=series, doses=by_code)
