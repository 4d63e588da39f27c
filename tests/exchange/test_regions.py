"""Regions exchange records, end to end: a doctor of this region (in process, on both engines) asks another
region's medcity (a real server in a subprocess, on its own SQLite database) for the summary of a patient they
treat, by the patient's СНИЛС. The other region answers only once it has registered this region's system with its
public key; the request is audited on both sides; failures are said on the page, never a 500."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.app import create_app
from medcity.auth import tokens
from medcity.auth.users import Role
from medcity.exchange.client import ASSERTION_ALGORITHM
from medcity.kit.config import Settings
from medcity.registry.identifiers import SNILS_SYSTEM, identifier
from tests.auth.world import audit_rows
from tests.e2e.server import medcity, server_env, serving
from tests.prescriptions.city import City, build_city
from tests.web_login import add_web_user, csrf_of, log_in

RU = {"Accept-Language": "ru"}
Spb = tuple[str, dict[str, str], Path]  # its FHIR base, its environment, its directory
ICD10 = "http://hl7.org/fhir/sid/icd-10"


@pytest.fixture
def spb(tmp_path: Path) -> Iterator[Spb]:
    """St Petersburg's medcity."""
    workdir = tmp_path / "spb"
    workdir.mkdir()
    env = {**server_env(workdir, "spb.db"), "MEDCITY_REGION": "78"}
    with serving(env, workdir) as url:
        yield f"{url}/fhir", env, workdir


@pytest.fixture
def here(
    engine: Engine,
    region: str,
    tmp_path: Path,
    own_regions: Callable[[str], Path],
    spb: Spb,
) -> Iterator[TestClient]:
    own_regions(f"""
[{region}]
name = {{ ru = "Москва", en = "Moscow" }}
okato = "45"

[{region}.peers]
78 = "{spb[0]}"
79 = "http://127.0.0.1:9/fhir"
""")
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), region=region,
                        secret_dir=tmp_path / "keys")  # fmt: skip
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def record_in_spb(base: str, snils: str) -> str:
    """The patient's record in St Petersburg, written as its local operator: returns the Patient id."""
    with httpx.Client(base_url=base) as http:
        person = {"resourceType": "Patient", "name": [{"family": "Петрова"}],
                  "identifier": [identifier(SNILS_SYSTEM, snils)]}  # fmt: skip
        patient = http.post("/Patient", json=person).json()["id"]
        for code, text in (("I10", "Гипертоническая болезнь"), ("E11.9", "Сахарный диабет 2 типа")):
            written = http.post("/Condition", json={
                "resourceType": "Condition", "subject": {"reference": f"Patient/{patient}"},
                "code": {"coding": [{"system": ICD10, "code": code}], "text": text},
            })  # fmt: skip
            assert written.status_code == 201, written.text
        allergy = http.post("/AllergyIntolerance", json={
            "resourceType": "AllergyIntolerance", "patient": {"reference": f"Patient/{patient}"},
            "code": {"text": "Пенициллин"},
        })  # fmt: skip
        assert allergy.status_code == 201, allergy.text
    return str(patient)


def register_here_in_spb(env: dict[str, str], workdir: Path, region: str, keys: Path) -> None:
    public = tokens.id_token_key(keys).as_dict(private=False)
    jwks = workdir / "moscow.jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "use": "sig", "alg": ASSERTION_ALGORITHM}]}))
    medcity(env, workdir, "clients", "add", "--client-id", f"region-{region}", "--organization", f"region-{region}",
            "--scope", "medcity/exchange", "--jwks", str(jwks))  # fmt: skip


def ask(client: TestClient, city: City, peer: str) -> Any:
    page = client.get(f"/chart/{city.patient}/regions", headers=RU).text
    return client.post(f"/chart/{city.patient}/regions", data={"csrf_token": csrf_of(page), "peer": peer}, headers=RU)


def test_a_doctor_reads_the_patients_summary_from_another_region(
    here: TestClient, spb: Spb, engine: Engine, region: str, tmp_path: Path
) -> None:
    app: Any = here.app
    city = build_city(app.state.store)
    add_web_user(here, "dr.olga", Role.DOCTOR, practitioner=city.doctor, organization=city.polyclinic)
    log_in(here, "dr.olga")
    base, env, workdir = spb
    spb_patient = record_in_spb(base, city.snils)
    chart = here.get(f"/chart/{city.patient}", headers=RU).text
    assert f'href="/chart/{city.patient}/regions"' in chart

    refused = ask(here, city, "78")  # St Petersburg has not registered this region yet
    assert refused.status_code == 502 and "Санкт-Петербург не обменивается записями с этим регионом" in refused.text

    register_here_in_spb(env, workdir, region, tmp_path / "keys")
    answer = ask(here, city, "78")
    assert answer.status_code == 200, answer.text
    received = answer.text[answer.text.index('id="received"') :]
    assert "Получено из региона Санкт-Петербург" in received
    assert "Гипертоническая болезнь" in received and "Сахарный диабет 2 типа" in received
    assert "Пенициллин" in received

    # Audited here on the patient (who asked) and there on theirs (this region's system).
    assert ("operation:exchange-summary", "Patient", city.patient, city.patient, "allowed") in audit_rows(
        engine, region, "dr.olga"
    )
    with sqlite3.connect(workdir / "spb.db") as db:
        there = db.execute("SELECT username, patient FROM audit_log WHERE action = 'operation:exchange-summary' "
                           "AND patient IS NOT NULL").fetchall()  # fmt: skip
    assert there == [(f"region-{region}", spb_patient)]


def test_what_cannot_be_answered_is_said_on_the_page(here: TestClient, spb: Spb, region: str, tmp_path: Path) -> None:
    app: Any = here.app
    city = build_city(app.state.store)
    add_web_user(here, "dr.olga", Role.DOCTOR, practitioner=city.doctor, organization=city.polyclinic)
    add_web_user(here, "desk", Role.REGISTRAR, organization=city.polyclinic)
    _base, env, workdir = spb
    register_here_in_spb(env, workdir, region, tmp_path / "keys")
    log_in(here, "dr.olga")
    unknown = ask(here, city, "78")  # no record of this patient there
    assert unknown.status_code == 404 and "нет пациента с этим СНИЛС или ЕНП" in unknown.text
    unreachable = ask(here, city, "79")
    assert unreachable.status_code == 502 and "сейчас недоступен" in unreachable.text
    not_a_peer = ask(here, city, "50")
    assert not_a_peer.status_code == 400 and 'id="exchange-error"' in not_a_peer.text
    log_in(here, "desk")
    assert here.get(f"/chart/{city.patient}/regions", headers=RU).status_code == 403
