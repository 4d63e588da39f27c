"""Synthetic people: names, sex and age drawn from the city's frequencies, addresses, identifiers; and the
realistic errors a second clinic makes when it registers the same person again (for the patient index)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import accumulate

from medcity.demo.data import AGE_PYRAMID, FEMALE_NAMES, MALE_NAMES, SURNAMES, CityData, female_surname
from medcity.registry.identifiers import generate_oms, generate_passport, generate_snils
from medcity.registry.names import to_latin


class Weighted:
    """A fixed weighted choice, with the cumulative weights computed once."""

    def __init__(self, items: list[str], weights: list[float]) -> None:
        self.items = items
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.items, cum_weights=self.cum)[0]


_MALE = Weighted(list(MALE_NAMES), [w for w, _, _ in MALE_NAMES.values()])
_FEMALE = Weighted(list(FEMALE_NAMES), list(FEMALE_NAMES.values()))
_SURNAME = Weighted(SURNAMES, [1.0 / (rank + 1) ** 0.8 for rank in range(len(SURNAMES))])
_AGE_GROUP = Weighted([str(i) for i in range(len(AGE_PYRAMID))], [g[2] for g in AGE_PYRAMID])


@dataclass(frozen=True)
class Address:
    district: str
    street: str
    house: int
    flat: int
    postal_code: str

    @property
    def line(self) -> str:
        return f"{self.street}, д. {self.house}, кв. {self.flat}"


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    patronymic: str
    gender: str  # FHIR administrative gender: male | female
    birth_date: date
    address: Address
    phone: str
    snils: str | None
    oms: str | None
    passport: str | None

    def age(self, on: date) -> int:
        years = on.year - self.birth_date.year
        return years - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))


def _postal_code(rng: random.Random, prefix: str) -> str:
    free = 6 - len(prefix)
    return f"{prefix}{rng.randrange(10**free):0{free}d}"


def _phone(rng: random.Random) -> str:
    return f"+7 9{rng.randrange(100):02d} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


def address(rng: random.Random, city: CityData) -> Address:
    district_no = rng.randrange(len(city.districts))
    return Address(
        district=city.districts[district_no],
        street=rng.choice(city.streets),
        house=rng.randint(1, 150),
        flat=rng.randint(1, 300),
        postal_code=_postal_code(rng, city.postal_prefix),
    )


def name(rng: random.Random, gender: str) -> tuple[str, str, str]:
    """Family, given name and patronymic in the forms of the gender."""
    family, father = _SURNAME.pick(rng), _MALE.pick(rng)
    if gender == "male":
        return family, _MALE.pick(rng), MALE_NAMES[father][1]
    return female_surname(family), _FEMALE.pick(rng), MALE_NAMES[father][2]


def birth_date(rng: random.Random, as_of: date) -> tuple[date, str]:
    low, high, _, women = AGE_PYRAMID[int(_AGE_GROUP.pick(rng))]
    days = rng.randint(low * 365, high * 365 - 1)
    gender = "female" if rng.random() < women else "male"
    return as_of - timedelta(days=days), gender


def person(rng: random.Random, *, city: CityData, okato: str, as_of: date) -> Person:
    born, gender = birth_date(rng, as_of)
    family, given, patronymic = name(rng, gender)
    age = (as_of - born).days // 365
    return Person(
        family=family,
        given=given,
        patronymic=patronymic,
        gender=gender,
        birth_date=born,
        address=address(rng, city),
        phone=_phone(rng),
        snils=generate_snils(rng),
        oms=generate_oms(rng, okato=okato),
        passport=generate_passport(rng, okato=okato) if age >= 14 else None,
    )


def twin(rng: random.Random, sibling: Person, *, okato: str) -> Person:
    """A twin: same family, patronymic, birth date and home; own given name, sex and numbers."""
    gender = rng.choice(("male", "female"))
    male_family = next((s for s in SURNAMES if sibling.family in (s, female_surname(s))), sibling.family)
    given = sibling.given
    while given == sibling.given:
        given = (_MALE if gender == "male" else _FEMALE).pick(rng)
    father = next(k for k, (_, male, female) in MALE_NAMES.items() if sibling.patronymic in (male, female))
    return replace(
        sibling,
        family=male_family if gender == "male" else female_surname(male_family),
        given=given,
        patronymic=MALE_NAMES[father][1] if gender == "male" else MALE_NAMES[father][2],
        gender=gender,
        snils=generate_snils(rng),
        oms=generate_oms(rng, okato=okato),
        passport=generate_passport(rng, okato=okato) if sibling.passport else None,
    )


# ---- duplicates: what goes wrong when a person is registered again ----------------------------------------

_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщыэюя"


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard, never on the first letter (clerks read that one back)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(_CYRILLIC) + word[i + 1 :]


def _latin(word: str) -> str:
    return to_latin(word).capitalize()


def _one_digit(rng: random.Random, born: date) -> date:
    """A birth date with one digit of the day or the year mistyped (still a real date)."""
    for _ in range(20):
        text = born.isoformat()
        pos = rng.choice((2, 3, 8, 9))
        candidate = text[:pos] + str(rng.randint(0, 9)) + text[pos + 1 :]
        try:
            slipped = date.fromisoformat(candidate)
        except ValueError:
            continue
        if slipped != born:
            return slipped
    return born


def _transposed(born: date) -> date:
    try:
        return born.replace(month=born.day, day=born.month) if born.day <= 12 else born
    except ValueError:
        return born


ERRORS = (
    "typo-family",
    "typo-given",
    "latin",
    "swapped",
    "yo",
    "no-patronymic",
    "date-swap",
    "date-typo",
    "moved",
)


def duplicate(rng: random.Random, original: Person, *, city: CityData) -> tuple[Person, list[str]]:
    """The same person as registered by another clinic, with the errors made (for the evaluation's record)."""
    errors = rng.sample(ERRORS, k=rng.choice((1, 1, 2, 2, 3)))
    dup = original
    for error in errors:
        if error == "typo-family":
            dup = replace(dup, family=_typo(rng, dup.family))
        elif error == "typo-given":
            dup = replace(dup, given=_typo(rng, dup.given))
        elif error == "latin":
            dup = replace(dup, family=_latin(dup.family), given=_latin(dup.given), patronymic=_latin(dup.patronymic))
        elif error == "swapped":
            dup = replace(dup, family=dup.given, given=dup.family)
        elif error == "yo":
            dup = replace(dup, family=dup.family.replace("ё", "е"), given=dup.given.replace("ё", "е"))
        elif error == "no-patronymic":
            dup = replace(dup, patronymic="")
        elif error == "date-swap":
            dup = replace(dup, birth_date=_transposed(dup.birth_date))
        elif error == "date-typo":
            dup = replace(dup, birth_date=_one_digit(rng, dup.birth_date))
        elif error == "moved":
            dup = replace(dup, address=address(rng, city))
    # Another clinic often registers without the numbers, or with only the document at hand.
    kept = rng.choice(("none", "none", "none", "oms", "passport", "all"))
    dup = replace(
        dup,
        snils=dup.snils if kept == "all" else None,
        oms=dup.oms if kept in ("all", "oms") else None,
        passport=dup.passport if kept in ("all", "passport") else None,
    )
    return dup, [*errors, f"identifiers:{kept}"]
