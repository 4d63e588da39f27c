"""Master patient index rules: how much two Patient records agree, and what grade that earns.

Each field adds evidence (points) for or against "same person", in the Fellegi–Sunter spirit with hand-set
weights: identifiers that a person keeps for life (СНИЛС, ЕНП) decide almost alone, in both directions; a
passport agrees strongly but may have been replaced; names are compared by skeleton (script- and
transliteration-blind) with typos tolerated; birth dates tolerate a transposed day/month and a one-digit
slip; sex and address add a little. The grades follow FHIR `$match` (`match-grade`): certain (safe to link
automatically), probable, possible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.registry.identifiers import PERSONAL_SYSTEMS, normalise_identifier
from medcity.registry.names import clean, similarity

CERTAIN, PROBABLE, POSSIBLE = "certain", "probable", "possible"
# Points at or above which a pair earns the grade; below POSSIBLE it is not a candidate at all.
THRESHOLDS = ((CERTAIN, 12.0), (PROBABLE, 8.5), (POSSIBLE, 5.0))
# The score reported to clients (0..1): points mapped linearly, FULL points and above is 1.0.
FULL = 16.0

_ADDRESS_NOISE = re.compile(r"\b(ул|улица|пр|пр-т|проспект|д|дом|кв|квартира|корп|к|стр|ш|шоссе|пер)\b\.?")


@dataclass(frozen=True)
class Facts:
    """What matching looks at in a Patient."""

    family: str = ""
    given: str = ""
    patronymic: str = ""
    birth_date: str = ""
    gender: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    address: str = ""


def _official_name(patient: dict[str, Any]) -> dict[str, Any]:
    names = patient.get("name") or []
    for name in names:
        if name.get("use") in (None, "official", "usual"):
            return dict(name)
    return dict(names[0]) if names else {}


def address_key(address: dict[str, Any]) -> str:
    """Street, house and flat, without the words and punctuation that vary between clerks."""
    text = " ".join(address.get("line") or []) or str(address.get("text") or "")
    text = _ADDRESS_NOISE.sub(" ", text.casefold().replace("ё", "е"))
    return " ".join(re.findall(r"[a-zа-я0-9]+", text))


def facts(patient: dict[str, Any]) -> Facts:
    name = _official_name(patient)
    given = [g for g in name.get("given") or [] if isinstance(g, str)]
    identifiers = {}
    for ident in patient.get("identifier") or []:
        system, value = ident.get("system"), ident.get("value")
        if isinstance(system, str) and isinstance(value, str):
            try:
                identifiers[system] = normalise_identifier(system, value)
            except InvalidRequest:
                continue  # an invalid number is no evidence either way
    addresses = patient.get("address") or []
    return Facts(
        family=str(name.get("family") or ""),
        given=given[0] if given else "",
        patronymic=given[1] if len(given) > 1 else "",
        birth_date=str(patient.get("birthDate") or ""),
        gender=str(patient.get("gender") or ""),
        identifiers=identifiers,
        address=address_key(addresses[0]) if addresses else "",
    )


def _name_points(a: str, b: str, *, exact: float, close: float, differ: float) -> float:
    if not a or not b:
        return 0.0
    if clean(a) == clean(b):
        return exact
    sim = similarity(a, b)
    if sim == 1.0:  # same name in another script or with Ё/Е
        return exact
    if sim >= 0.75:
        return close
    return differ


def _names(a: Facts, b: Facts) -> float:
    family = _name_points(a.family, b.family, exact=3.0, close=2.0, differ=-3.0)
    given = _name_points(a.given, b.given, exact=3.0, close=2.0, differ=-4.5)
    straight = family + given
    # Given and family swapped: a registrar's slip common on forms and foreign documents.
    swapped = (
        _name_points(a.family, b.given, exact=3.0, close=2.0, differ=-3.0)
        + _name_points(a.given, b.family, exact=3.0, close=2.0, differ=-4.5)
        - 0.5
    )
    patronymic = _name_points(a.patronymic, b.patronymic, exact=1.5, close=1.0, differ=-2.5)
    return max(straight, swapped) + patronymic


def _near_date(a: str, b: str) -> bool:
    """One-digit slip, or day and month transposed."""
    if len(a) != 10 or len(b) != 10:
        return False
    if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return True
    return a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


def _birth_date(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 4.0
    return 2.0 if _near_date(a, b) else -6.0


def _identifiers(a: Facts, b: Facts) -> tuple[float, bool]:
    """Points, and whether a lifelong identifier conflicts (then the pair is never more than possible)."""
    points, conflict = 0.0, False
    for system, value in a.identifiers.items():
        other = b.identifiers.get(system)
        if other is None:
            continue
        if other == value:
            points += 6.0 if system in PERSONAL_SYSTEMS else 3.0
        elif system in PERSONAL_SYSTEMS:
            points -= 10.0
            conflict = True
        else:
            points -= 1.0  # passports are replaced at 20 and 45 and when lost
    return min(points, 9.0), conflict


def _gender(a: str, b: str) -> float:
    if not a or not b or "unknown" in (a, b):
        return 0.0
    return 0.5 if a == b else -3.0


def points(a: Facts, b: Facts) -> tuple[float, bool]:
    """The evidence that a and b are one person, and whether a lifelong identifier contradicts it."""
    ident, conflict = _identifiers(a, b)
    total = ident + _names(a, b) + _birth_date(a.birth_date, b.birth_date) + _gender(a.gender, b.gender)
    if a.address and a.address == b.address:
        total += 1.0
    return total, conflict


def grade(total: float, conflict: bool) -> str | None:
    for name, threshold in THRESHOLDS:
        if total >= threshold and not (conflict and name != POSSIBLE):
            return name
    return None


def score(total: float) -> float:
    return round(max(0.0, min(1.0, total / FULL)), 3)


def transposed_date(value: str) -> str | None:
    """The same date with day and month swapped, when that is a different, real date."""
    try:
        year, month, day = (int(p) for p in value.split("-"))
        if month == day:
            return None
        return date(year, day, month).isoformat()
    except ValueError:
        return None
