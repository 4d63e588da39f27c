"""Units as people read them: every unit medcity writes (the test catalogue's, the vital signs') has a name in
each language, and a unit from another system that the table does not know is shown as that system wrote it."""

from __future__ import annotations

from medcity.orders.catalogue import catalogue
from medcity.terminology.units import UNIT_NAMES, unit_name, unit_of
from medcity.visits import vitals


def test_every_unit_medcity_writes_has_a_russian_name() -> None:
    written = {a.unit for a in catalogue().analytes.values()} | {m.unit for m in vitals.ENTERED}
    assert written - {"%"} <= set(UNIT_NAMES)  # a percent sign reads the same in both languages
    for code in written - {"%"}:
        russian = unit_name(code, "ru")
        assert russian != UNIT_NAMES[code] or code == "Cel", code  # °C is °C everywhere
    assert unit_name("10*9/L", "ru") == "×10⁹/л" and unit_name("10*9/L", "en") == "×10⁹/L"
    assert unit_name("mm[Hg]", "ru") == "мм рт. ст." and unit_name("mm[Hg]", "en") == "mmHg"


def test_a_unit_the_table_does_not_know_is_shown_as_written() -> None:
    assert unit_name("mEq/L", "ru") == "mEq/L"
    assert unit_of({"unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}) == "mm[Hg]"
    assert unit_of({"unit": "мЭкв/л", "code": "meq/L"}) == "мЭкв/л"
    assert unit_of({"code": "meq/L"}) == "meq/L" and unit_of({}) == ""
