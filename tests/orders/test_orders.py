"""Ordering: tests singly or as a package per diagnosis, one barcoded sample per specimen type, every order
findable by the FHIR searches the laboratories and doctors use; bad orders are refused whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medcity.cli import app
from medcity.kit.errors import Unprocessable
from medcity.orders.catalogue import catalogue, check_region_packages
from medcity.orders.service import (
    BARCODE_SYSTEM,
    REQUISITION_SYSTEM,
    barcode_of,
    cancel_order,
    new_barcode,
    package,
    place_orders,
    valid_barcode,
)
from medcity.orders.views import Clock, moment
from medcity.registry.regions import RegionsFileError, regions
from tests.lab.city import City


def test_a_package_per_diagnosis_is_per_region() -> None:
    assert package("77", "i10") == ("58410-2", "57698-3", "14749-6", "14682-9", "11524-6")
    with pytest.raises(Unprocessable):
        package("77", "A00.0")


def test_a_region_sets_its_own_packages_in_its_settings_file(own_regions: Callable[[str], Path]) -> None:
    settings = """
[54]
name = { ru = "Новосибирская область", en = "Novosibirsk Oblast" }
okato = "50"

[54.packages]
I10 = ["58410-2", "11524-6"]
"J45.9" = ["58410-2"]
"""
    own_regions(settings)
    assert package("54", "I10") == ("58410-2", "11524-6")
    assert package("54", "j45.9") == ("58410-2",)
    assert package("54", "E03.9") == ("3016-3",)  # the catalogue's default, not replaced
    assert package("77", "I10") == ("58410-2", "57698-3", "14749-6", "14682-9", "11524-6")
    check_region_packages()
    path = own_regions(settings.replace('"11524-6"', '"99999-9"'))
    with pytest.raises(RegionsFileError, match=r"^54.packages: unknown test codes 99999-9$"):
        check_region_packages()
    checked = CliRunner().invoke(app, ["region", "check", str(path)])
    assert checked.exit_code == 2
    assert f"{path}: 54.packages: unknown test codes 99999-9" in checked.output
    not_icd10 = r"54\.packages: Value error, not ICD-10 codes \(as I10 or E11\.9\): hypertension"
    with pytest.raises(RegionsFileError, match=not_icd10):
        own_regions(settings.replace("I10 =", "hypertension ="))
        regions()


def test_the_catalogue_is_consistent() -> None:
    found = catalogue()
    for test in found.tests.values():
        assert all(code in found.analytes for code in test.analytes), test.code
        assert test.kind == "diagnostic" or test.specimen in found.specimens, test.code
    for packages in found.packages.values():
        assert all(code in found.tests for codes in packages.values() for code in codes)
    for analyte in found.analytes.values():
        low, high = analyte.limits
        assert low < high
        for r in analyte.ranges:
            assert low <= (r.low if r.low is not None else low) <= (r.high if r.high is not None else high) <= high


def test_barcodes_carry_a_check_digit() -> None:
    number = new_barcode()
    assert valid_barcode(number)
    wrong = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    assert not valid_barcode(wrong)


def test_one_requisition_one_sample_per_specimen_type(client: TestClient, city: City) -> None:
    placed = city.order(client, "58410-2", "57698-3", "14749-6", "11524-6")
    assert len(placed.orders) == 4
    assert {o.resource["requisition"]["value"] for o in placed.orders} == {placed.requisition}
    # Blood (complete blood count) and serum (lipids, glucose): two tubes; the ECG needs none.
    assert len(placed.specimens) == 2
    serum = next(s for s in placed.specimens if len(s.resource["request"]) == 2)
    barcode = barcode_of(serum.resource)
    assert barcode is not None and valid_barcode(barcode)
    ecg = next(o for o in placed.orders if o.resource["code"]["coding"][0]["code"] == "11524-6")
    assert ecg.resource["performer"] == [{"reference": f"Organization/{city.department}"}]
    assert "specimen" not in ecg.resource


def test_fhir_searches_find_orders_and_samples(client: TestClient, city: City) -> None:
    placed = city.order(client, "58410-2", "11524-6")
    found = client.get(
        "/fhir/ServiceRequest", params={"status": "active", "performer": f"Organization/{city.laboratory}"}
    ).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [placed.orders[0].id]
    barcode = barcode_of(placed.specimens[0].resource)
    sample = client.get("/fhir/Specimen", params={"identifier": f"{BARCODE_SYSTEM}|{barcode}"}).json()
    assert [e["resource"]["id"] for e in sample["entry"]] == [placed.specimens[0].id]
    same = client.get("/fhir/ServiceRequest", params={"requisition": f"{REQUISITION_SYSTEM}|{placed.requisition}"})
    assert len(same.json()["entry"]) == 2
    mine = client.get("/fhir/ServiceRequest", params={"requester": f"Practitioner/{city.doctor}",
                                                      "patient": city.patient}).json()  # fmt: skip
    assert len(mine["entry"]) == 2


@pytest.mark.parametrize(
    ("tests", "changes", "message"),
    [
        ([], {}, "at least one"),
        (["nonsense"], {}, "Unknown tests"),
        (["14749-6"], {"laboratory": None}, "laboratory"),
        (["11524-6"], {"diagnostics": "no-such-org"}, "department"),
        (["14749-6"], {"patient": "nobody"}, "patient"),
    ],
)
def test_bad_orders_are_refused_whole(
    client: TestClient, city: City, tests: list[str], changes: dict[str, str | None], message: str
) -> None:
    args: dict[str, Any] = {"patient": city.patient, "requester": city.doctor, "laboratory": city.laboratory,
            "diagnostics": city.department, **changes}  # fmt: skip
    with pytest.raises(Unprocessable, match=message), city.store(client).transaction() as tx:
        place_orders(tx, tests=tests, **args)
    assert client.get("/fhir/ServiceRequest", params={"patient": city.patient}).json().get("entry", []) == []


def test_a_completed_order_cannot_be_cancelled(client: TestClient, city: City) -> None:
    order = city.order(client, "11524-6").orders[0].id
    report = {"resourceType": "DiagnosticReport", "status": "final", "conclusion": "Норма",
              "code": {"coding": [{"system": "http://loinc.org", "code": "11524-6"}]},
              "subject": {"reference": f"Patient/{city.patient}"},
              "basedOn": [{"reference": f"ServiceRequest/{order}"}]}  # fmt: skip
    assert client.post("/fhir/DiagnosticReport", json=report).status_code == 201
    with pytest.raises(Unprocessable, match="completed"), city.store(client).transaction() as tx:
        cancel_order(tx, order=order)


def test_samples_obey_their_rules(client: TestClient, city: City) -> None:
    placed = city.order(client, "14749-6")
    copy = {**placed.specimens[0].resource}
    copy.pop("id")
    twin = client.post("/fhir/Specimen", json=copy)
    assert twin.status_code == 422 and "barcode" in twin.text
    stray = {"resourceType": "Specimen", "subject": {"reference": f"Patient/{city.patient}"},
             "request": [{"reference": "ServiceRequest/none"}]}  # fmt: skip
    assert client.post("/fhir/Specimen", json=stray).status_code == 422


def test_pages_show_moments_on_the_regions_clock(client: TestClient, city: City) -> None:
    with city.store(client).reader() as tx:
        clock = Clock(tx)  # the test regions keep Moscow time, UTC+3
        assert moment(clock, "2026-11-30T21:30:00Z") == "01.12.2026 00:30"
        assert moment(clock, "2026-11-30T08:00:00+00:00") == "30.11.2026 11:00"
        assert moment(clock, None) == ""
