from __future__ import annotations

import pytest

from medcity.kit.errors import InvalidRequest
from medcity.registry.catalogue import (
    ORGANIZATION_KIND_SYSTEM,
    OWNERSHIP_SYSTEM,
    SPECIALTIES,
    organization_kind,
    organization_types,
    specialty,
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


def test_unknown_codes_are_clear_errors() -> None:
    with pytest.raises(InvalidRequest, match="specialty"):
        specialty("astrologer")
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
