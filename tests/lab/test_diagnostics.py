"""Reports of instrumental and imaging studies: signed once, with a conclusion, an optional ImagingStudy that
exists, and a document that is a PDF or an image of a sensible size; nothing is kept from a refused report."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medcity.kit.errors import MedcityError
from medcity.lab.diagnostics import MAX_DOCUMENT_BYTES, Document, report_study
from tests.lab.city import City, create


def _sign(client: TestClient, city: City, order: str, **kwargs: object) -> str:
    with city.store(client).transaction() as tx:
        return report_study(tx, order=order, organization=city.department, **kwargs).id  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"imaging_study": "no-such-study"}, 422),
        ({"document": Document("text/html", b"<b>x</b>", "x.html")}, 422),
        ({"document": Document("application/pdf", b"", "empty.pdf")}, 422),
        ({"document": Document("image/png", b"0" * (MAX_DOCUMENT_BYTES + 1), "big.png")}, 413),
    ],
)
def test_bad_study_reports_are_refused_whole(
    client: TestClient, city: City, kwargs: dict[str, object], status: int
) -> None:
    order = city.order(client, "36643-5").orders[0].id
    with pytest.raises(MedcityError) as refused:
        _sign(client, city, order, conclusion="Без патологии", **kwargs)
    assert refused.value.status == status
    assert client.get("/fhir/Binary").json().get("total", 0) == 0
    assert (
        client.get("/fhir/DiagnosticReport", params={"based-on": f"ServiceRequest/{order}"}).json().get("entry", [])
        == []
    )


def test_a_study_report_names_its_imaging_study_and_is_signed_once(client: TestClient, city: City) -> None:
    order = city.order(client, "36643-5").orders[0].id
    study = create(client, {"resourceType": "ImagingStudy", "status": "available",
                            "subject": {"reference": f"Patient/{city.patient}"}})  # fmt: skip
    report = _sign(client, city, order, conclusion="Очаговых и инфильтративных изменений нет", imaging_study=study)
    stored = client.get(f"/fhir/DiagnosticReport/{report}").json()
    assert stored["imagingStudy"] == [{"reference": f"ImagingStudy/{study}"}]
    assert stored["category"][0]["coding"][0]["code"] == "RAD"
    with pytest.raises(MedcityError, match="completed; its report cannot be written"):
        _sign(client, city, order, conclusion="Ещё раз")


def test_a_laboratory_order_is_not_a_study(client: TestClient, city: City) -> None:
    order = city.order(client, "14749-6").orders[0].id
    with city.store(client).transaction() as tx, pytest.raises(MedcityError, match="not an instrumental"):
        report_study(tx, order=order, organization=None, conclusion="—")
