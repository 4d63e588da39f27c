from __future__ import annotations

import pytest

from medcity.kit.errors import InvalidRequest
from medcity.registry.catalogue import (
    FIRST_CONTACT,
    ORGANIZATION_KIND_SYSTEM,
    OWNERSHIP_SYSTEM,
    REGIONS,
    SPECIALTIES,
    is_self_bookable,
    organization_kind,
    organization_types,
    specialty_concept,
)


def test_specialties_have_both_languages_and_the_required_ones() -> None:
    required = {
        "therapist-district", "general-practitioner", "paediatrician", "surgeon", "ophthalmologist",
        "otorhinolaryngologist", "dentist", "cardiologist", "neurologist", "endocrinologist",
        "gastroenterologist", "urologist", "gynaecologist", "dermatologist",
    }  # fmt: skip
    assert required <= set(SPECIALTIES)
    for concept in SPECIALTIES.values():
        assert concept.ru and concept.en


@pytest.mark.parametrize("region", ["77", "78"])
def test_first_contact_specialties_are_self_bookable(region: str) -> None:
    assert is_self_bookable("therapist-district", region)
    assert is_self_bookable("dentist", region)
    assert not is_self_bookable("cardiologist", region)
    assert not is_self_bookable("endocrinologist", region)
    assert {code for code in SPECIALTIES if is_self_bookable(code, region)} == set(FIRST_CONTACT)


def test_unknown_codes_are_clear_errors() -> None:
    with pytest.raises(InvalidRequest, match="specialty"):
        is_self_bookable("astrologer", "77")
    with pytest.raises(InvalidRequest, match="region"):
        is_self_bookable("dentist", "99")
    with pytest.raises(InvalidRequest, match="kind"):
        organization_types("spa", "public")


def test_codings() -> None:
    types = organization_types("private-clinic", "private", lang="en")
    assert {
        "system": ORGANIZATION_KIND_SYSTEM,
        "code": "private-clinic",
        "display": "Private clinic",
    } in types[0]["coding"]
    assert types[1]["coding"][0] == {"system": OWNERSHIP_SYSTEM, "code": "private", "display": "Private"}
    assert organization_kind({"type": types}) == "private-clinic"
    assert organization_kind({}) is None
    assert specialty_concept("paediatrician")["text"] == "Педиатр"
    assert set(REGIONS) == {"77", "78"}
