"""$lookup, $validate-code, $subsumes, the helpers and the data itself."""

from __future__ import annotations

from typing import Any

import pytest

from medcity import terminology
from medcity.kit.errors import InvalidRequest, NotFound
from medcity.terminology import catalogue

SYSTEM = terminology.SYSTEM_URL


def param(parameters: dict[str, Any], name: str) -> Any:
    for p in parameters["parameter"]:
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value"))
    raise KeyError(name)


def properties(parameters: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in parameters["parameter"]:
        if p["name"] == "property":
            parts = {part["name"]: part for part in p["part"]}
            value = next(v for k, v in parts["value"].items() if k.startswith("value"))
            out.setdefault(parts["code"]["valueCode"], []).append(value)
    return out


def test_catalogue_holds_the_whole_russian_edition() -> None:
    cat = catalogue.load()
    kinds = [c.kind for c in cat.concepts]
    assert len(cat.concepts) == 15_038
    assert kinds.count(catalogue.CHAPTER) == 22
    assert kinds.count(catalogue.CATEGORY) == 2_058
    assert kinds.count(catalogue.SUBCATEGORY) == 12_684
    named_en = sum(1 for c in cat.concepts if c.name_en)
    assert named_en > 14_800  # WHO names plus the composed place/closed-open ones


def test_compact_file_is_in_step_with_the_sources() -> None:
    assert catalogue.compact_bytes(catalogue.build_compact()) == catalogue.COMPACT.read_bytes()


def test_composed_english_names() -> None:
    assert terminology.display("S02.00", "en") == "Fracture of vault of skull, closed"
    assert terminology.display("W00.0", "en") == "Fall on same level involving ice and snow: home"


def test_lookup_rubric() -> None:
    out = terminology.lookup("I10", SYSTEM)
    assert param(out, "display") == "Эссенциальная [первичная] гипертензия"
    assert param(out, "version") == terminology.VERSION
    designations = {}
    for d in out["parameter"]:
        if d["name"] == "designation":
            parts = {q["name"]: q for q in d["part"]}
            designations[parts["language"]["valueCode"]] = parts["value"]["valueString"]
    assert designations == {
        "ru": "Эссенциальная [первичная] гипертензия",
        "en": "Essential (primary) hypertension",
    }
    props = properties(out)
    assert props["parent"] == ["I10-I15"]
    assert props["notSelectable"] == [False]
    assert "child" not in props


def test_lookup_english_and_children() -> None:
    out = terminology.lookup("J45", SYSTEM, display_language="en-US")
    assert param(out, "display") == "Asthma"
    assert param(out, "name") == "ICD-10"
    assert properties(out)["child"] == ["J45.0", "J45.1", "J45.8", "J45.9"]


def test_lookup_chapter_is_not_billable() -> None:
    props = properties(terminology.lookup("IX", SYSTEM))
    assert props["notSelectable"] == [True]
    assert props["kind"] == ["chapter"]
    assert "parent" not in props
    assert "I10-I15" in props["child"]
    assert not terminology.is_billable("IX")
    assert not terminology.is_billable("I10-I15")
    assert terminology.is_billable("I10")
    assert terminology.is_billable("J45.0")
    assert not terminology.is_billable("I84")  # withdrawn
    assert not terminology.is_billable("X99.99")


def test_lookup_only_the_properties_asked_for() -> None:
    out = terminology.lookup("J45.0", SYSTEM, properties=["parent"])
    assert properties(out) == {"parent": ["J45"]}


def test_lookup_through_the_oid_alias() -> None:
    assert param(terminology.lookup("E11", terminology.OID_URL), "display") == "Сахарный диабет 2 типа"


def test_lookup_errors() -> None:
    with pytest.raises(NotFound):
        terminology.lookup("Q99.99", SYSTEM)
    with pytest.raises(NotFound):
        terminology.lookup("I10", "http://snomed.info/sct")
    with pytest.raises(InvalidRequest):
        terminology.lookup(None, SYSTEM)
    with pytest.raises(InvalidRequest):
        terminology.lookup("I10", None)


@pytest.mark.parametrize(
    ("a", "b", "outcome"),
    [
        ("I10", "I10", "equivalent"),
        ("I10", "I10-I15", "subsumed-by"),
        ("I10", "IX", "subsumed-by"),
        ("IX", "I10", "subsumes"),
        ("J45.0", "J45", "subsumed-by"),
        ("J45", "J45.0", "subsumes"),
        ("C00-C97", "C00.0", "subsumes"),  # through the nested blocks C00-C75 and C00-C14
        ("II", "C00.0", "subsumes"),
        ("J45", "J46", "not-subsumed"),
        ("I10", "X", "not-subsumed"),
    ],
)
def test_subsumes(a: str, b: str, outcome: str) -> None:
    assert param(terminology.subsumes(a, b, SYSTEM), "outcome") == outcome


def test_subsumes_errors() -> None:
    with pytest.raises(NotFound):
        terminology.subsumes("I10", "Q99.99", SYSTEM)
    with pytest.raises(InvalidRequest):
        terminology.subsumes("I10", None, SYSTEM)
    with pytest.raises(NotFound):
        terminology.subsumes("I10", "I11", "http://loinc.org")


def test_validate_code() -> None:
    out = terminology.validate_code("J45.0", SYSTEM)
    assert param(out, "result") is True
    assert param(out, "display") == "Астма с преобладанием аллергического компонента"
    assert "message" not in {p["name"] for p in out["parameter"]}


def test_validate_code_accepts_either_language_and_ignores_case_and_spaces() -> None:
    for display in ("Asthma", "астма", "  АСТМА "):
        out = terminology.validate_code("J45", SYSTEM, display=display)
        assert param(out, "result") is True
        assert "message" not in {p["name"] for p in out["parameter"]}


def test_validate_code_wrong_display_is_a_warning() -> None:
    out = terminology.validate_code("I10", SYSTEM, display="Грипп", display_language="en")
    assert param(out, "result") is True
    assert "Wrong display" in param(out, "message")
    assert param(out, "display") == "Essential (primary) hypertension"


def test_validate_code_unknown_code_and_grouping_codes() -> None:
    out = terminology.validate_code("I10.X", SYSTEM)
    assert param(out, "result") is False
    assert "Unknown code" in param(out, "message")
    chapter = terminology.validate_code("IX", terminology.OID_URL)
    assert param(chapter, "result") is True
    assert "not a diagnosis" in param(chapter, "message")
    assert "inactive" in param(terminology.validate_code("I84", SYSTEM), "message")


def test_validate_code_errors() -> None:
    with pytest.raises(InvalidRequest):
        terminology.validate_code("I10", None)
    with pytest.raises(InvalidRequest):
        terminology.validate_code(None, SYSTEM)
    with pytest.raises(NotFound):
        terminology.validate_code("I10", "http://example.org/other")


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN-gb", "en"),
        ("de", "ru"),
        (None, "ru"),
    ],
)
def test_display_language(tag: str | None, lang: str) -> None:
    assert terminology.language(tag) == lang


def test_helpers() -> None:
    assert terminology.exists("I10")
    assert not terminology.exists("i10")  # codes are case-sensitive; normalize_code reads what people type
    assert terminology.display("I10") == "Эссенциальная [первичная] гипертензия"
    assert terminology.display("I10", "en") == "Essential (primary) hypertension"
    assert terminology.display("U10", "en") == terminology.display("U10")  # no English name: Russian
    assert terminology.display("nope") is None


def test_expand_errors() -> None:
    with pytest.raises(InvalidRequest):
        terminology.expand(None)
    with pytest.raises(NotFound):
        terminology.expand("http://example.org/ValueSet/x")
    with pytest.raises(InvalidRequest):
        terminology.expand(terminology.VALUE_SET_URL, filter="a" * 10_000)
    with pytest.raises(InvalidRequest):
        terminology.expand(terminology.VALUE_SET_URL, count=-1)
    with pytest.raises(InvalidRequest):
        terminology.expand(terminology.VALUE_SET_URL, offset=-5)


@pytest.mark.parametrize("url", [terminology.VALUE_SET_URL, SYSTEM, terminology.OID_URL])
def test_expand_url_aliases(url: str) -> None:
    assert terminology.expand(url, filter="I10")["expansion"]["contains"][0]["code"] == "I10"


def test_resources() -> None:
    cs = terminology.code_system_resource()
    assert cs["url"] == SYSTEM and cs["content"] == "not-present" and cs["count"] == 15_038
    assert cs["identifier"][0]["value"] == terminology.OID_URL
    vs = terminology.value_set_resource()
    assert vs["url"] == terminology.VALUE_SET_URL
    assert vs["compose"]["include"][0]["system"] == SYSTEM
