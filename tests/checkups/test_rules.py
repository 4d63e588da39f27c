"""Which check-up an adult is due in a year (приказ № 404н): диспансеризация every three years from 18 to 39 and
every year from 40, a preventive examination in the other years; nothing for a child."""

from __future__ import annotations

from datetime import date

import pytest

from medcity.checkups.rules import DISPENSARY, PREVENTIVE, due_kind
from medcity.checkups.service import checkup_day

ICD10 = "http://hl7.org/fhir/sid/icd-10"


@pytest.mark.parametrize(
    ("born", "kind"),
    [(2009, DISPENSARY), (2010, None), (2008, PREVENTIVE), (2007, PREVENTIVE), (2006, DISPENSARY),
     (1989, PREVENTIVE), (1988, DISPENSARY), (1987, DISPENSARY), (1960, DISPENSARY)],
)  # fmt: skip
def test_the_kind_follows_the_age_reached_that_year(born: int, kind: str | None) -> None:
    # In 2027: 18 → диспансеризация; 17 → nothing; 19, 20 → a preventive examination; 21 → диспансеризация;
    # 38 → preventive; 39 → диспансеризация (21 years after 18); 40 and older → every year.
    assert due_kind(date(born, 12, 31), 2027) == kind


def condition(code: str, day: str, verification: str = "confirmed") -> dict[str, object]:
    return {"resourceType": "Condition", "code": {"coding": [{"system": ICD10, "code": code}]}, "recordedDate": day,
            "verificationStatus": {"coding": [{"code": verification}]}}  # fmt: skip


def test_a_checkup_is_a_general_examination_diagnosis_of_that_year_not_refuted() -> None:
    assert checkup_day(condition("Z00.0", "2026-03-12"), 2026) == "2026-03-12"
    assert checkup_day(condition("Z00.8", "2026-11-02T10:00:00+03:00"), 2026) == "2026-11-02"
    assert checkup_day(condition("Z00.0", "2025-12-30"), 2026) is None  # last year's
    assert checkup_day(condition("I10", "2026-03-12"), 2026) is None
    assert checkup_day(condition("Z00.0", "2026-03-12", "refuted"), 2026) is None
    assert checkup_day({"resourceType": "Condition"}, 2026) is None
