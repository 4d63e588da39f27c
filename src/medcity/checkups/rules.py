"""Which check-up an adult is due in a year, by приказ Минздрава России от 27.04.2021 № 404н: диспансеризация
once every three years from 18 to 39 (in the years one turns 18, 21, 24 … 39) and every year from 40; in the
other years from 18, a preventive medical examination (профилактический медицинский осмотр). Age is the age
reached in that year, as the order counts it. Either is recorded at the visit as an ICD-10 Z00.0 or Z00.8
diagnosis ("general medical examination")."""

from __future__ import annotations

from datetime import date

from medcity.kit.i18n import N_

DISPENSARY, PREVENTIVE = "dispensary", "preventive"
KIND_NAMES = {DISPENSARY: N_("dispensary check-up (диспансеризация)"),
              PREVENTIVE: N_("preventive medical examination")}  # fmt: skip
# The diagnoses a check-up is recorded with.
CHECKUP_CODES = ("Z00.0", "Z00.8")
ADULT = 18


def due_kind(birth: date, year: int) -> str | None:
    """The check-up a person born on `birth` is due in `year`; None for a child."""
    age = year - birth.year
    if age < ADULT:
        return None
    if age >= 40 or (age - ADULT) % 3 == 0:
        return DISPENSARY
    return PREVENTIVE
