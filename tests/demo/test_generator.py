from __future__ import annotations

import statistics
from collections import Counter
from datetime import date
from typing import Any

import orjson

from medcity.demo.generator import SCALES, City, Generator, Scale
from medcity.registry.identifiers import SNILS_SYSTEM, validate_oms, validate_snils
from medcity.registry.names import is_cyrillic
from medcity.store.validate import validate

AS_OF = date(2026, 6, 1)
TINY = Scale(300, 2, 1, 1, 1, 1, 1, duplicates=0.05, twins=0.03)


def _generate(seed: int = 3, region: str = "77", scale: Scale = TINY) -> tuple[City, list[dict[str, Any]]]:
    generator = Generator(seed=seed, region=region, as_of=AS_OF, scale=scale)
    city = generator.city()
    resources = list(city.resources)
    for group in generator.patients(city):
        resources.extend(group)
    return city, resources


def test_same_seed_same_city_other_seed_other_city() -> None:
    _, first = _generate()
    _, again = _generate()
    _, other = _generate(seed=4)
    assert orjson.dumps(first) == orjson.dumps(again)
    assert orjson.dumps(first) != orjson.dumps(other)


def test_shape_of_the_city() -> None:
    city, resources = _generate()
    counts = Counter(r["resourceType"] for r in resources)
    assert counts["Organization"] == 2 * 2 + 1 + 1 + 1 + 1  # polyclinics with a branch, hospital, lab, ...
    assert counts["Patient"] == 300 + len(city.duplicates)
    for rtype in (
        "Encounter",
        "Condition",
        "Observation",
        "Immunization",
        "Practitioner",
        "PractitionerRole",
    ):
        assert counts[rtype] > 0, rtype
    ids = [(r["resourceType"], r["id"]) for r in resources]
    assert len(ids) == len(set(ids))
    known = {f"{t}/{i}" for t, i in ids}
    dangling = [
        ref
        for r in resources
        for ref in _references(r)
        if ref.split("/")[0] in {"Patient", "Organization", "Location", "PractitionerRole", "Encounter", "Condition"}
        and ref not in known
    ]
    assert dangling == []


def _references(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    if isinstance(node, dict):
        found = [ref for value in node.values() for ref in _references(value)]
        if isinstance(node.get("reference"), str):
            found.append(node["reference"])
        return found
    return []


def test_people_look_russian_and_carry_valid_numbers() -> None:
    _, resources = _generate()
    patients = [r for r in resources if r["resourceType"] == "Patient" and int(r["id"][4:]) <= TINY.patients]
    women = [p for p in patients if p["gender"] == "female"]
    assert 0.45 < len(women) / len(patients) < 0.65
    for p in patients:
        name = p["name"][0]
        assert is_cyrillic(name["family"]) and len(name["given"]) == 2
        if p["gender"] == "female":
            assert name["given"][1].endswith("на")
        idents = {i["system"]: i["value"] for i in p["identifier"]}
        validate_snils(idents[SNILS_SYSTEM])
        assert validate_oms(next(v for s, v in idents.items() if len(v) == 16)).startswith("45")
    ages = [AS_OF.year - int(p["birthDate"][:4]) for p in patients]
    assert min(ages) >= 0 and max(ages) < 101
    assert 30 < statistics.mean(ages) < 50


def test_lab_values_follow_the_diagnoses() -> None:
    _, resources = _generate(scale=Scale(600, 2, 1, 1, 1, 1, 1, duplicates=0.0, twins=0.0))
    diabetic = {
        r["subject"]["reference"]
        for r in resources
        if r["resourceType"] == "Condition" and r["code"]["coding"][0]["code"] == "E11.9"
    }
    hba1c = [
        (r["subject"]["reference"] in diabetic, r["valueQuantity"]["value"])
        for r in resources
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "4548-4"
    ]
    sick = [v for d, v in hba1c if d]
    assert sick and statistics.mean(sick) > 7.0


def test_duplicates_are_recorded_with_their_errors() -> None:
    city, resources = _generate()
    assert city.duplicates
    patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
    for dup_id, original_id, errors in city.duplicates:
        assert dup_id in patients and original_id in patients and dup_id != original_id
        assert errors[-1].startswith("identifiers:")


def test_regions_differ() -> None:
    _, spb = _generate(region="78")
    patient = next(r for r in spb if r["resourceType"] == "Patient")
    assert patient["id"].startswith("78-")
    assert patient["address"][0]["city"] == "Санкт-Петербург"


def test_diagnosis_codes_exist_in_the_icd10_catalogue() -> None:
    from medcity.demo.data import ACUTE, CHRONIC, INPATIENT
    from medcity.terminology import service as terminology

    for code in [d.code for d in (*ACUTE, *INPATIENT)] + [c.code for c in CHRONIC]:
        assert terminology.exists(code), code


def test_every_generated_resource_is_valid_r4() -> None:
    """The seed writes the generator's resources without the store's R4 check (trusted), so every kind of them,
    in both regions and with the city's full set of institutions, is held to that check here."""
    for region in ("77", "78"):
        _, resources = _generate(region=region)
        resources += Generator(seed=3, region=region, as_of=AS_OF, scale=SCALES["city"]).city().resources
        kinds = Counter(r["resourceType"] for r in resources)
        assert {"Patient", "Encounter", "Composition", "AllergyIntolerance", "Location"} <= set(kinds)
        for resource in resources:
            validate({**resource, "meta": {"versionId": "1", "lastUpdated": "2026-06-01T10:00:00Z"}})
