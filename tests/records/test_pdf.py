"""The record as a PDF: it opens, and it holds the patient's diagnoses in Cyrillic."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from pypdf import PdfReader
from tests.records.record_data import make_record
from tests.web_login import add_web_user, log_in

from medcity.auth.users import Role


def _text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return " ".join(page.extract_text() for page in reader.pages)


def test_a_patient_downloads_their_record(client: TestClient) -> None:
    rec = make_record(client)
    add_web_user(client, "anna", Role.PATIENT, patient=rec.patient)
    log_in(client, "anna")
    response = client.get("/portal/record.pdf", headers={"Accept-Language": "ru"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = _text(response.content)
    for expected in ("Медицинская карта", "Петрова Анна", "Эссенциальная гипертензия", "Острый аппендицит",
                     "Глюкоза", "ГКБ № 5"):  # fmt: skip
        assert expected in text, expected
    assert "Сахарный диабет чужого пациента" not in text


def test_a_doctor_prints_the_chart(client: TestClient) -> None:
    rec = make_record(client)
    add_web_user(client, "dr.house", Role.DOCTOR, organization=rec.polyclinic)
    log_in(client, "dr.house")
    response = client.get(f"/chart/{rec.patient}/record.pdf", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    text = _text(response.content)
    assert "Health record" in text and "Эссенциальная гипертензия" in text
