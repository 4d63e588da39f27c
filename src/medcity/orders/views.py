"""What the ordering and laboratory pages show of orders and results: names in the reader's language, a result's
value, range and flag. Reads only; no rules here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medcity.orders.catalogue import Test, catalogue, loinc_code
from medcity.scheduling.display import Names as Clock
from medcity.scheduling.resources import parse_instant
from medcity.store.repository import JSON, StoredResource
from medcity.terminology.units import unit_name, unit_of

ABNORMAL = frozenset({"H", "L", "A", "HH", "LL", "AA"})
CRITICAL = frozenset({"HH", "LL", "AA"})


def moment(clock: Clock, instant: Any) -> str:
    """A stored FHIR instant on the region's clock, as the scheduling pages show times ('' when there is none)."""
    if not isinstance(instant, str) or not instant:
        return ""
    try:
        return clock.when(parse_instant(instant))
    except ValueError:
        return instant[:16]


def test_name(code: Any, lang: str) -> str:
    """A test's or analyte's name in `lang` from the catalogue, else the concept's own text."""
    key = loinc_code(code) or ""
    known: Test | None = catalogue().tests.get(key)
    if known is not None:
        return known.name(lang)
    analyte = catalogue().analytes.get(key)
    if analyte is not None:
        return analyte.name(lang)
    return str((code or {}).get("text") or key)


def flag_of(observation: JSON) -> str:
    for concept in observation.get("interpretation") or []:
        for coding in (concept or {}).get("coding") or []:
            if isinstance(coding.get("code"), str):
                return str(coding["code"])
    return ""


@dataclass(frozen=True)
class ResultLine:
    id: str
    name: str
    value: str
    unit: str
    range: str
    flag: str
    status: str

    @property
    def abnormal(self) -> bool:
        return self.flag in ABNORMAL

    @property
    def critical(self) -> bool:
        return self.flag in CRITICAL


def _bound(quantity: Any) -> str:
    value = (quantity or {}).get("value")
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def result_line(observation: StoredResource, lang: str) -> ResultLine:
    data = observation.resource
    quantity = data.get("valueQuantity") or {}
    first = (data.get("referenceRange") or [{}])[0] or {}
    low, high = _bound(first.get("low")), _bound(first.get("high"))
    shown = f"{low}–{high}" if low and high else f"≥ {low}" if low else f"≤ {high}" if high else ""
    return ResultLine(
        id=observation.id,
        name=test_name(data.get("code"), lang),
        value="" if quantity.get("value") is None else str(quantity["value"]),  # as measured: 7.0, not 7
        unit=unit_name(unit_of(quantity), lang),
        range=shown,
        flag=flag_of(data),
        status=str(data.get("status", "")),
    )
