"""What a doctor types into the diagnosis box, and what must come first."""

from __future__ import annotations

import pytest

from medcity import terminology
from medcity.terminology import service


def codes(filter_: str, count: int = 20, lang: str = "ru") -> list[str]:
    expansion = terminology.expand(terminology.VALUE_SET_URL, filter=filter_, count=count, display_language=lang)[
        "expansion"
    ]
    return [c["code"] for c in expansion["contains"]]


@pytest.mark.parametrize("typed", ["I10", "i10", "Ш10", "ш10", "I10 "])
def test_code_typed_any_way_is_first(typed: str) -> None:
    assert codes(typed)[0] == "I10"


def test_code_prefix_lists_the_codes_below_it_in_order() -> None:
    found = codes("i1")
    assert found[:4] == ["I10", "I11", "I11.0", "I11.9"]
    assert all(c.startswith("I1") for c in found)


def test_code_without_the_dot_and_cyrillic_lookalike_letters() -> None:
    assert codes("j450")[0] == "J45.0"
    assert codes("J45.0")[0] == "J45.0"
    assert codes("Е11")[0] == "E11"  # Cyrillic Е
    assert codes("к29,5")[0] == "K29.5"  # Cyrillic к, a decimal comma


def test_block_and_chapter_codes_match_exactly() -> None:
    assert codes("I10-I15")[0] == "I10-I15"
    assert codes("IX")[0] == "IX"


def test_exact_code_comes_before_its_block() -> None:
    found = codes("I10")
    assert found.index("I10") < found.index("I10-I15")


def test_gipertonia_prefix_puts_essential_hypertension_first() -> None:
    found = codes("гипертон")
    assert "I10" in found[:3]
    assert found[0] == "I10"
    assert {"I11", "I11.9"} <= set(found[:6])


def test_typo_still_finds_hypertension() -> None:
    found = codes("гипертензя")
    assert found and found[0] == "I10"
    assert all("гипертенз" in (terminology.display(c) or "").lower() for c in found)
    assert codes("бронхт")[0] == "J20"  # a whole-word typo is read as the whole word «бронхит»
    assert codes("пневмани")[0] in ("J18", "J18.9")  # a typo in a word still being typed


def test_words_the_classification_does_not_use_are_skipped() -> None:
    assert codes("внебольничная пневмония")[:3] == codes("пневмония")[:3]
    assert codes("астма перелом") == []  # words that exist but never together still narrow to nothing


def test_asthma() -> None:
    found = codes("астма")
    assert found[0] == "J45"
    assert {"J45.0", "J45.9"} <= set(found[:5])


def test_english_words_with_english_display() -> None:
    expansion = terminology.expand(terminology.VALUE_SET_URL, filter="hypertension", display_language="en")
    first = expansion["expansion"]["contains"][0]
    assert first["code"] == "I10"
    assert first["display"] == "Essential (primary) hypertension"
    assert codes("asthma", lang="en")[0] == "J45"


def test_diabetes_type_2() -> None:
    found = codes("диабет 2 типа")
    assert found[0] == "E11"
    assert "E11.9" in found[:5]  # reached through its rubric's name
    assert codes("сахарный диабет")[:2] == ["E10", "E11"]


def test_inflected_words_and_prefixes_of_several_words() -> None:
    assert "E11" in codes("диабетом")[:3]
    assert codes("сах диаб 2")[0] == "E11"
    assert codes("перелом луч")[0] == "S52.5"


def test_words_are_anded() -> None:
    found = codes("острый бронхит", count=100)
    assert found[0] == "J20"
    assert "J20.9" in found
    assert "J21" not in found  # «Острый бронхиолит»: «бронхит» is not a prefix of it
    for code in found:
        names = terminology.display(code) or ""
        parent = terminology.lookup(code, terminology.SYSTEM_URL, properties=["parent"])
        parent_code = parent["parameter"][-1]["part"][1]["valueCode"]
        names = f"{names} {terminology.display(parent_code)}".lower()
        assert "остр" in names and "бронхит" in names, code


def test_colloquial_names_and_abbreviations() -> None:
    assert codes("гипертония")[0] == "I10"
    assert codes("орви")[0] in ("J06.9", "J00")
    assert "J44" in codes("хобл")[:2]
    assert codes("ковид")[:2] == ["U07.1", "U07.2"]


def test_wrong_keyboard_layout_for_words() -> None:
    assert codes("fcnvf")[0] == "J45"  # «астма» typed on the English layout


def test_common_codes_before_rare_ones_and_billable_before_groups() -> None:
    found = codes("пневмония", count=50)
    assert found.index("J18.9") < found.index("J17.0") if "J17.0" in found else True
    assert found[0] in ("J18", "J18.9")
    groups = [c for c in found if "-" in c]
    if groups:
        assert found.index(groups[0]) > found.index("J18.9")


def test_single_cyrillic_letter_is_a_word_prefix_not_a_code() -> None:
    found = codes("с")
    assert found and not all(c.startswith("C") for c in found)


def test_inactive_codes_are_left_out_unless_asked_for() -> None:
    assert "I84" not in codes("I84")  # haemorrhoids moved to K64 in 2020
    expansion = terminology.expand(terminology.VALUE_SET_URL, filter="I84", active_only=False)
    contains = expansion["expansion"]["contains"]
    assert contains[0]["code"] == "I84" and contains[0]["inactive"] is True


def test_paging_and_total() -> None:
    first = terminology.expand(terminology.VALUE_SET_URL, filter="перелом", count=10)["expansion"]
    second = terminology.expand(terminology.VALUE_SET_URL, filter="перелом", count=10, offset=10)["expansion"]
    assert first["total"] == second["total"] > 20
    assert len(first["contains"]) == len(second["contains"]) == 10
    assert not {c["code"] for c in first["contains"]} & {c["code"] for c in second["contains"]}
    everything = terminology.expand(terminology.VALUE_SET_URL, filter="перелом", count=100)["expansion"]
    assert [c["code"] for c in everything["contains"][:20]] == [
        c["code"] for c in first["contains"] + second["contains"]
    ]


def test_count_is_capped_and_defaults_to_twenty() -> None:
    assert len(codes("б")) == 20
    assert len(codes("б", count=1000)) == 100


def test_no_filter_pages_the_whole_system_in_printed_order() -> None:
    expansion = terminology.expand(terminology.VALUE_SET_URL, count=3)["expansion"]
    assert [c["code"] for c in expansion["contains"]] == ["I", "A00-A09", "A00"]
    assert expansion["contains"][0]["abstract"] is True
    assert expansion["total"] > 14_000


@pytest.mark.parametrize(
    "junk",
    [
        "\x00\x01\x02",
        "I10\x00",
        "'; DROP TABLE patient; --",
        "%_%",
        "(((",
        "😀",
        " ",
        "a" * 200,
        "zzzzzzzz qqqqqqq",
        "J99.99.99",
    ],
)
def test_junk_returns_nothing_or_something_but_never_fails(junk: str) -> None:
    expansion = terminology.expand(terminology.VALUE_SET_URL, filter=junk)["expansion"]
    assert expansion["total"] == 0 or expansion["contains"]


def test_normalize_code() -> None:
    assert terminology.normalize_code("i10") == "I10"
    assert terminology.normalize_code("Ш10") == "I10"
    assert terminology.normalize_code("j450") == "J45.0"
    assert terminology.normalize_code("гипертония") is None
    assert terminology.normalize_code("Z99.99") is None


def test_search_index_is_built_once() -> None:
    assert service.index() is service.index()
