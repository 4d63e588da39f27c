"""Proxies: a parent of a child under 15 at once; an adult's proxy only after the represented person confirms
with the one-time code (hashed, expiring, limited tries) — through the CLI and through the represented person's
own page. The link is a RelatedPerson plus the proxy account's patient."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from medcity.auth import proxy, tokens
from medcity.auth.tables import proxy_code
from medcity.auth.users import Role, add_user, get_user
from medcity.cli import app as cli
from medcity.kit.config import get_settings
from medcity.kit.db import WRITE
from medcity.store.repository import Store
from tests.web_login import add_web_user, csrf_of, log_in


def test_under_15_is_judged_on_the_earliest_possible_birthday() -> None:
    today = date(2026, 6, 1)
    assert proxy.is_child("2012-06-02", today) and not proxy.is_child("2011-06-01", today)
    assert proxy.is_child("2012", today)  # 2012-01-01 at the earliest: 14
    assert not proxy.is_child("2011", today)  # could be 15 already: confirmation needed
    assert proxy.is_child("2012-02-29", date(2027, 2, 28)) and not proxy.is_child("2012-02-29", date(2027, 3, 1))
    assert not proxy.is_child(None, today) and not proxy.is_child("garbage", today)


def _person(store: Store, birth: str) -> str:
    return store.create({"resourceType": "Patient", "active": True, "birthDate": birth}).id


def _related(store: Store, patient: str) -> list[dict[str, Any]]:
    with store.reader() as tx:
        return [match.resource for match in tx.search("RelatedPerson", [("patient", f"Patient/{patient}")]).matches]


def _token_claims(username: str) -> tokens.TokenClaims:
    issued = CliRunner().invoke(cli, ["token", "--user", username])
    assert issued.exit_code == 0, issued.output
    settings = get_settings()
    return tokens.verify(issued.output.strip(), tokens.signing_key(settings.secret_dir), issuer=settings.base_url,
                         audience=f"{settings.base_url}/fhir", region=settings.region, now=datetime.now(UTC),
                         is_revoked=lambda _j: False)  # fmt: skip


def test_parent_of_a_child_acts_at_once(env: Path, store: Store) -> None:
    child = _person(store, f"{date.today().year - 5}-03-01")
    added = CliRunner().invoke(cli, ["users", "add", "--username", "mama", "--role", "proxy", "--patient", child],
                               input="mama-password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "active" in added.output and "code" not in added.output
    [related] = _related(store, child)
    assert related["active"] is True and related["identifier"][0]["value"] == "mama"
    assert related["relationship"][0]["coding"][0]["code"] == "PRN"
    assert _token_claims("mama").patient == child


def test_adult_proxy_waits_for_the_code_and_a_wrong_code_does_not_help(env: Path, store: Store) -> None:
    adult = _person(store, "1950-01-01")
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "--username", "son", "--role", "proxy", "--patient", adult],
                          input="son-password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    code = re.search(r"one-time code.*: (\d{6})$", added.output.strip())
    assert code, added.output
    [related] = _related(store, adult)
    assert related["active"] is False
    assert _token_claims("son").patient is None  # acts for nobody yet
    with store.engine.connect() as conn:
        stored = conn.execute(select(proxy_code.c.code_hash).where(proxy_code.c.partition == store.region)).scalar()
    assert stored and stored.startswith("$argon2id$") and code.group(1) not in stored
    wrong = "000000" if code.group(1) != "000000" else "111111"
    assert runner.invoke(cli, ["proxy", "confirm", "--patient", adult, "--code", wrong]).exit_code == 1
    confirmed = runner.invoke(cli, ["proxy", "confirm", "--patient", adult, "--code", code.group(1)])
    assert confirmed.exit_code == 0, confirmed.output
    assert _related(store, adult)[0]["active"] is True
    assert _token_claims("son").patient == adult
    # Single use: the same code again does nothing.
    assert runner.invoke(cli, ["proxy", "confirm", "--patient", adult, "--code", code.group(1)]).exit_code == 1


def _pending(store: Store, username: str, birth: str = "1960-05-05") -> tuple[str, str]:
    adult = _person(store, birth)
    with store.transaction() as tx:
        user = add_user(tx.conn, region=store.region, username=username, role=Role.PROXY, password=None,
                        now=datetime.now(UTC))  # fmt: skip
        link = proxy.link(tx, proxy=user, patient=adult, now=datetime.now(UTC))
    assert link.code is not None
    return adult, link.code


def _confirm(store: Store, patient: str, code: str) -> bool:
    with store.transaction() as tx:
        return proxy.confirm(tx, patient=patient, code=code, now=datetime.now(UTC)) is not None


def test_five_wrong_codes_void_the_request(store: Store) -> None:
    adult, code = _pending(store, "nephew")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(proxy.MAX_ATTEMPTS):
        assert not _confirm(store, adult, wrong)
    assert not _confirm(store, adult, code)
    with store.engine.connect() as conn:
        assert get_user(conn, region=store.region, username="nephew").patient is None  # type: ignore[union-attr]


def test_an_expired_code_is_refused(store: Store) -> None:
    adult, code = _pending(store, "late")
    with store.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(update(proxy_code).where(proxy_code.c.partition == store.region)
                     .values(expires="2000-01-01T00:00:00.000000Z"))  # fmt: skip
    assert not _confirm(store, adult, code)


def test_a_code_confirms_only_for_its_own_patient(store: Store) -> None:
    adult, code = _pending(store, "stranger")
    other = _person(store, "1970-01-01")
    assert not _confirm(store, other, code)
    assert _confirm(store, adult, code)


def test_refusals_when_linking(store: Store) -> None:
    from medcity.kit.errors import Conflict, InvalidRequest, NotFound

    child = _person(store, f"{date.today().year - 3}-01-01")
    with store.transaction() as tx:
        doctor = add_user(tx.conn, region=store.region, username="dr", role=Role.DOCTOR, password=None,
                          now=datetime.now(UTC))  # fmt: skip
        parent = add_user(tx.conn, region=store.region, username="papa", role=Role.PROXY, password=None,
                          now=datetime.now(UTC))  # fmt: skip
        with pytest.raises(InvalidRequest):
            proxy.link(tx, proxy=doctor, patient=child, now=datetime.now(UTC))
        with pytest.raises(NotFound):
            proxy.link(tx, proxy=parent, patient="no-such-patient", now=datetime.now(UTC))
        proxy.link(tx, proxy=parent, patient=child, now=datetime.now(UTC))
    with store.transaction() as tx:
        linked = get_user(tx.conn, region=store.region, username="papa")
        assert linked is not None
        with pytest.raises(Conflict):
            proxy.link(tx, proxy=linked, patient=child, now=datetime.now(UTC))


def test_the_represented_person_confirms_on_their_page(client: TestClient, engine: Engine, region: str) -> None:
    store = Store(engine, region)
    adult, code = _pending(store, "daughter")
    add_web_user(client, "granny", Role.PATIENT, patient=adult)
    assert client.get("/proxy/confirm", follow_redirects=False).status_code == 303  # login first
    log_in(client, "granny")
    page = client.get("/proxy/confirm")
    assert page.status_code == 200 and "daughter" in page.text
    assert client.post("/proxy/confirm", data={"code": code}).status_code == 403  # no CSRF token
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post("/proxy/confirm", data={"code": wrong, "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    done = client.post("/proxy/confirm", data={"code": code, "csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "daughter" in done.text
    with engine.connect() as conn:
        assert get_user(conn, region=region, username="daughter").patient == adult  # type: ignore[union-attr]


def test_only_a_patient_account_confirms(client: TestClient) -> None:
    add_web_user(client, "dr", Role.DOCTOR)
    log_in(client, "dr")
    assert client.get("/proxy/confirm").status_code == 403


def test_a_parent_of_two_children_switches_between_them_and_to_nobody_else(
    env: Path, client: TestClient, store: Store
) -> None:
    older, younger = (_person(store, f"{date.today().year - years}-03-01") for years in (9, 4))
    stranger = _person(store, f"{date.today().year - 6}-03-01")
    store.create({"resourceType": "Observation", "status": "final", "code": {"text": "Рост"},
                  "subject": {"reference": f"Patient/{younger}"}})  # fmt: skip
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "--username", "mama2", "--role", "proxy", "--patient", older],
                          input="mama2-password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    second = runner.invoke(cli, ["proxy", "add", "--user", "mama2", "--patient", younger])
    assert second.exit_code == 0 and "active" in second.output, second.output
    assert runner.invoke(cli, ["proxy", "add", "--user", "mama2", "--patient", younger]).exit_code != 0  # once
    assert _token_claims("mama2").patient == older  # she goes on acting for the first until she switches

    log_in(client, "mama2")
    portal = client.get(f"/portal/{older}")
    assert portal.status_code == 200
    assert f'data-represented="{older}"' in portal.text and f'data-represented="{younger}"' in portal.text
    assert client.get(f"/portal/{younger}").status_code == 404  # not before switching: one record at a time
    refused = client.post("/portal/act-for", data={"patient": stranger, "csrf_token": csrf_of(portal.text)})
    assert refused.status_code == 404
    switched = client.post("/portal/act-for", data={"patient": younger, "csrf_token": csrf_of(portal.text)})
    assert switched.status_code == 200 and switched.url.path == f"/portal/{younger}"
    assert "Рост" in switched.text
    assert client.get(f"/portal/{older}").status_code == 404
    assert _token_claims("mama2").patient == younger
    assert client.post("/portal/act-for", data={"patient": older}).status_code == 403  # no CSRF token


def test_a_proxy_whose_link_ends_acts_for_nobody_at_once(env: Path, client: TestClient, store: Store) -> None:
    child = _person(store, f"{date.today().year - 7}-03-01")
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "--username", "papa2", "--role", "proxy", "--patient", child],
                          input="papa2-password\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    issued = runner.invoke(cli, ["token", "--user", "papa2"])
    bearer = {"Authorization": f"Bearer {issued.output.strip()}"}
    log_in(client, "papa2")
    assert client.get(f"/portal/{child}").status_code == 200
    assert client.get(f"/fhir/Patient/{child}", headers=bearer).status_code == 200
    # The registry desk ends the link (custody changed): the session and a token issued before both lose it.
    [related] = _related(store, child)
    store.update({**related, "active": False})
    assert client.get(f"/portal/{child}").status_code == 404
    assert client.get("/portal").status_code == 403  # linked to nobody now
    assert client.get(f"/fhir/Patient/{child}", headers=bearer).status_code in (403, 404)
