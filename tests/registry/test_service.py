from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from medcity.kit.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from medcity.registry import service
from medcity.registry.catalogue import organization_types
from medcity.registry.identifiers import SNILS_SYSTEM
from medcity.store.repository import Store

from .conftest import patient

SNILS_A, SNILS_B = "11223344595", "98765432183"


def _put(store: Store, *resources: dict[str, Any]) -> None:
    with store.transaction() as tx:
        for data in resources:
            tx.update(data)


def _grades(store: Store, probe: dict[str, Any]) -> dict[str, str]:
    with store.reader() as tx:
        return {m.patient.id: m.grade for m in service.match(tx, probe)}


@pytest.fixture
def population(store: Store) -> Store:
    _put(
        store,
        patient("Фёдоров", "Алексей", "Петрович", pid="fedorov", snils=SNILS_A, line="ул. Тверская, д. 7, кв. 12"),
        patient("Смирнова", "Юлия", "Игоревна", birth="1991-03-08", gender="female", pid="smirnova"),
        patient("Кузнецов", "Иван", "Сергеевич", birth="1975-11-02", pid="kuznetsov"),
        # twins: same family, patronymic, birth date and address; different given names and СНИЛС
        patient(
            "Волков",
            "Артём",
            "Олегович",
            birth="2010-06-21",
            pid="twin1",
            snils=SNILS_B,
            line="ул. Мира, д. 3",
        ),
        patient("Волков", "Максим", "Олегович", birth="2010-06-21", pid="twin2", line="ул. Мира, д. 3"),
        # a namesake born on another date
        patient("Кузнецов", "Иван", "Сергеевич", birth="1988-04-17", pid="kuznetsov2"),
    )
    return store


def test_match_by_identifier_is_certain(population: Store) -> None:
    grades = _grades(population, patient("Федоров", "Алексей", snils=SNILS_A))
    assert grades["fedorov"] == "certain"


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (patient("Федоров", "Алексей", "Петрович"), "fedorov"),  # Ё/Е
        (patient("Fedorov", "Aleksei", "Petrovich"), "fedorov"),  # transliteration
        (patient("Федорв", "Алексей", "Петрович"), "fedorov"),  # typo
        (patient("Алексей", "Фёдоров", "Петрович"), "fedorov"),  # given and family swapped
        (patient("Smirnova", "Iuliia", birth="1991-08-03", gender="female"), "smirnova"),  # transposed date
        (
            patient("Смирнова", "Юля", "Игоревна", birth="1991-03-08", gender="female"),
            "smirnova",
        ),  # short form
        (patient("Кузнецов", "Иван", "Сергеевич", birth="1975-11-12"), "kuznetsov"),  # one-digit slip
    ],
)
def test_match_finds_the_same_person(population: Store, probe: dict[str, Any], expected: str) -> None:
    grades = _grades(population, probe)
    assert grades.get(expected) in ("certain", "probable"), grades


def test_twins_are_not_matched(population: Store) -> None:
    grades = _grades(population, patient("Волков", "Артём", "Олегович", birth="2010-06-21", line="ул. Мира, д. 3"))
    assert grades["twin1"] == "certain"
    assert grades.get("twin2") in (None, "possible")


def test_same_name_other_birth_date_is_not_matched(population: Store) -> None:
    grades = _grades(population, patient("Кузнецов", "Иван", "Сергеевич", birth="1975-11-02"))
    assert grades["kuznetsov"] == "certain"
    assert "kuznetsov2" not in grades


def test_different_lifelong_identifier_caps_the_grade(population: Store) -> None:
    grades = _grades(population, patient("Фёдоров", "Алексей", "Петрович", snils=SNILS_B))
    assert grades.get("fedorov") in (None, "possible")


def test_match_count_only_certain_and_bad_input(population: Store) -> None:
    with population.reader() as tx:
        probe = patient("Кузнецов", "Иван", "Сергеевич", birth="1975-11-02")
        assert len(service.match(tx, probe, count=1)) == 1
        only = service.match(tx, patient("Федорв", "Алексей"), only_certain=True)
        assert all(m.grade == "certain" for m in only)
        with pytest.raises(InvalidRequest):
            service.match(tx, {"resourceType": "Observation"})
        with pytest.raises(Unprocessable):
            service.match(tx, {"resourceType": "Patient", "gender": "male"})
        with pytest.raises(InvalidRequest, match="birthDate"):
            service.match(tx, patient("Федоров", "Алексей", birth="1980-05-41"))


def _encounter(eid: str, pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{pid}"},
    }


def test_merge_links_records_and_repoints_references(store: Store) -> None:
    _put(
        store,
        patient("Фёдоров", "Алексей", "Петрович", pid="keep", snils=SNILS_A),
        patient("Федоров", "Алексей", pid="dup", oms="4511113819493805"),
        _encounter("e1", "dup"),
        _encounter("e2", "keep"),
    )
    with store.transaction() as tx:
        result = service.merge(tx, source_id="dup", target_id="keep")
    assert result.repointed == ["Encounter/e1"]
    target, source = result.target.resource, result.source.resource
    assert target["link"] == [{"other": {"reference": "Patient/dup"}, "type": "replaces"}]
    assert {i["value"] for i in target["identifier"]} == {SNILS_A, "4511113819493805"}
    assert source["active"] is False
    assert source["link"] == [{"other": {"reference": "Patient/keep"}, "type": "replaced-by"}]
    with store.reader() as tx:
        assert tx.read("Encounter", "e1").resource["subject"]["reference"] == "Patient/keep"
        found = tx.search("Encounter", [("patient", "Patient/keep")])
        assert {m.id for m in found.matches} == {"e1", "e2"}
        # a merged record is no longer offered as a candidate
        assert "dup" not in {m.patient.id for m in service.match(tx, patient("Федоров", "Алексей"))}


def test_merge_refusals_write_nothing(store: Store) -> None:
    _put(
        store,
        patient("Фёдоров", "Алексей", pid="a", snils=SNILS_A),
        patient("Федоров", "Алексей", pid="b"),
        patient("Федоров", "Алексей", pid="c"),
        patient("Федоров", "Алексей", pid="other", snils=SNILS_B),
        _encounter("e1", "b"),
    )
    with store.transaction() as tx, pytest.raises(Unprocessable, match="itself"):
        service.merge(tx, source_id="a", target_id="a")
    with store.transaction() as tx, pytest.raises(NotFound):
        service.merge(tx, source_id="nobody", target_id="a")
    with store.transaction() as tx, pytest.raises(Unprocessable, match="lifelong identifiers"):
        service.merge(tx, source_id="other", target_id="a")
    with store.transaction() as tx:
        service.merge(tx, source_id="b", target_id="a")
    with store.transaction() as tx, pytest.raises(Conflict, match="already merged"):
        service.merge(tx, source_id="b", target_id="c")
    with store.transaction() as tx, pytest.raises(Unprocessable, match="itself merged"):
        service.merge(tx, source_id="c", target_id="b")
    with store.reader() as tx:
        assert tx.read("Patient", "c").version == 1
        assert tx.read("Patient", "a").version == 2
        assert tx.read("Encounter", "e1").resource["subject"]["reference"] == "Patient/a"


def test_merge_rolls_back_with_the_callers_transaction(store: Store) -> None:
    _put(
        store,
        patient("Фёдоров", "Алексей", pid="a"),
        patient("Федоров", "Алексей", pid="b"),
        _encounter("e", "b"),
    )
    with pytest.raises(RuntimeError), store.transaction() as tx:
        service.merge(tx, source_id="b", target_id="a")
        raise RuntimeError("the caller fails after the merge")
    with store.reader() as tx:
        assert tx.read("Patient", "b").version == 1
        assert tx.read("Encounter", "e").resource["subject"]["reference"] == "Patient/b"


def _organization(oid: str, kind: str) -> dict[str, Any]:
    ownership = "private" if kind == "private-clinic" else "public"
    return {
        "resourceType": "Organization",
        "id": oid,
        "name": oid,
        "type": organization_types(kind, ownership),
    }


def test_attach_records_organization_and_district(store: Store) -> None:
    _put(
        store,
        patient("Фёдоров", "Алексей", pid="p"),
        _organization("gp2", "polyclinic"),
        _organization("ph", "pharmacy"),
    )
    with store.transaction() as tx:
        service.attach(tx, patient_id="p", organization_id="gp2", district="12", on=date(2025, 3, 1))
        stored = service.attach(tx, patient_id="p", organization_id="gp2", district="14", on=date(2025, 4, 1))
    data = stored.resource
    assert data["managingOrganization"] == {"reference": "Organization/gp2"}
    assert data["generalPractitioner"] == [{"reference": "Organization/gp2"}]
    assert data["extension"] == [service.attachment_extension("14", date(2025, 4, 1))]
    with store.transaction() as tx, pytest.raises(Unprocessable, match="pharmacy"):
        service.attach(tx, patient_id="p", organization_id="ph", district="1")
    with store.transaction() as tx, pytest.raises(InvalidRequest, match="district"):
        service.attach(tx, patient_id="p", organization_id="gp2", district=" ")
    with store.transaction() as tx, pytest.raises(NotFound):
        service.attach(tx, patient_id="p", organization_id="nowhere", district="1")


def test_register_validates_and_refuses_a_second_holder_of_a_lifelong_identifier(store: Store) -> None:
    with store.transaction() as tx:
        first = service.register(tx, patient=patient("Фёдоров", "Алексей", snils="112-233-445 95"))
    assert first.resource["identifier"][0]["value"] == SNILS_A
    with store.transaction() as tx, pytest.raises(Conflict, match=f"Patient/{first.id}"):
        service.register(tx, patient=patient("Федоров", "Алексей", snils=SNILS_A))
    with store.transaction() as tx, pytest.raises(Unprocessable, match="СНИЛС"):
        service.register(
            tx,
            patient={
                **patient("Иванов", "Иван"),
                "identifier": [{"system": SNILS_SYSTEM, "value": "11223344596"}],
            },
        )
    with store.transaction() as tx, pytest.raises(InvalidRequest):
        service.register(tx, patient={"resourceType": "Practitioner"})
    with store.transaction() as tx:
        # the holder itself may be updated with its own number
        assert service.check_identifiers(tx, first.resource)["id"] == first.id
    with store.reader() as tx:
        assert tx.search("Patient", [("_summary", "count")]).total == 1
