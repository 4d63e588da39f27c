"""Search through the REST API: every parameter type, modifiers, prefixes, chaining, includes, sorting, paging."""

from __future__ import annotations

import pytest

from tests.fhir.helpers import FHIR, ids, observation, patient, post


@pytest.fixture
def people(client):
    made = {
        "ivanov": post(client, patient("Иванов", "Пётр", "1980-05-01")).json()["id"],
        "ivanova": post(client, patient("Иванова", "Алёна", "1985-11-20", gender="female")).json()["id"],
        "petrov": post(client, patient("Петров", "Иван", "1980-05-02")).json()["id"],
        "smith": post(client, patient("Smith", "José", "2001-01-01")).json()["id"],
    }
    return made


def _search(client, query):
    r = client.get(f"/fhir/{query}")
    assert r.status_code == 200, r.text
    return r.json()


def test_string_default_is_case_accent_and_yo_insensitive_prefix(client, people):
    assert set(ids(_search(client, "Patient?family=иванов"))) == {people["ivanov"], people["ivanova"]}
    assert ids(_search(client, "Patient?given=алена")) == [people["ivanova"]]
    assert ids(_search(client, "Patient?given=jose")) == [people["smith"]]
    assert set(ids(_search(client, "Patient?name=ПЕТР"))) == {people["ivanov"], people["petrov"]}


def test_string_exact_and_contains(client, people):
    assert ids(_search(client, "Patient?family:exact=Иванов")) == [people["ivanov"]]
    assert ids(_search(client, "Patient?family:exact=иванов")) == []
    assert set(ids(_search(client, "Patient?family:contains=ван"))) == {people["ivanov"], people["ivanova"]}


def test_or_with_comma_and_and_with_repeats(client, people):
    assert set(ids(_search(client, "Patient?family=Петров,Smith"))) == {people["petrov"], people["smith"]}
    assert ids(_search(client, "Patient?family=Иванов&gender=female")) == [people["ivanova"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("birthdate=1980-05-01", {"ivanov"}),
        ("birthdate=1980-05", {"ivanov", "petrov"}),
        ("birthdate=1980", {"ivanov", "petrov"}),
        ("birthdate=ne1980-05-01", {"ivanova", "petrov", "smith"}),
        ("birthdate=gt1980-05-01", {"ivanova", "petrov", "smith"}),
        ("birthdate=lt1980-05-02", {"ivanov"}),
        ("birthdate=ge1985-11-20", {"ivanova", "smith"}),
        ("birthdate=le1980-05-02", {"ivanov", "petrov"}),
        ("birthdate=sa1985", {"smith"}),
        ("birthdate=eb1981", {"ivanov", "petrov"}),
        ("birthdate=ap1980-05-01", {"ivanov", "petrov"}),
        ("birthdate=ge1980&birthdate=lt1985", {"ivanov", "petrov"}),
    ],
)
def test_date_prefixes_at_the_precision_given(client, people, query, expected):
    assert set(ids(_search(client, f"Patient?{query}&_count=100"))) == {people[k] for k in expected}


def test_token_forms(client):
    a = post(client, patient(identifier=[{"system": "urn:a", "value": "1"}])).json()["id"]
    b = post(client, patient(identifier=[{"system": "urn:b", "value": "1"}])).json()["id"]
    c = post(client, patient(identifier=[{"value": "1"}])).json()["id"]
    assert set(ids(_search(client, "Patient?identifier=1"))) == {a, b, c}
    assert ids(_search(client, "Patient?identifier=urn:a|1")) == [a]
    assert ids(_search(client, "Patient?identifier=|1")) == [c]
    assert set(ids(_search(client, "Patient?identifier=urn:b|"))) == {b}
    assert set(ids(_search(client, "Patient?gender:not=male"))) == set()
    assert set(ids(_search(client, "Patient?identifier:not=urn:a|1"))) == {b, c}


def test_token_text_and_missing(client):
    pid = post(client, patient()).json()["id"]
    obs = post(client, observation(pid)).json()["id"]
    assert ids(_search(client, "Observation?code:text=systolic")) == [obs]
    assert ids(_search(client, "Patient?identifier:missing=true")) == [pid]
    assert ids(_search(client, "Patient?identifier:missing=false")) == []


def test_reference_forms_and_chaining(client, people):
    o1 = post(client, observation(people["ivanov"])).json()["id"]
    o2 = post(client, observation(people["smith"])).json()["id"]
    assert ids(_search(client, f"Observation?subject=Patient/{people['ivanov']}")) == [o1]
    assert ids(_search(client, f"Observation?subject={people['smith']}")) == [o2]
    assert ids(_search(client, f"Observation?subject:Patient={people['smith']}")) == [o2]
    assert ids(_search(client, f"Observation?patient={people['ivanov']}")) == [o1]
    assert ids(_search(client, "Observation?subject:Patient.family=Иванов")) == [o1]
    assert ids(_search(client, "Observation?subject.given=jose")) == [o2]


def test_quantity_and_number(client, people):
    low = post(client, observation(people["ivanov"], value=110)).json()["id"]
    high = post(client, observation(people["ivanov"], value=165.5)).json()["id"]
    assert ids(_search(client, "Observation?value-quantity=gt140")) == [high]
    assert ids(_search(client, "Observation?value-quantity=le110")) == [low]
    assert ids(_search(client, "Observation?value-quantity=110|http://unitsofmeasure.org|mm[Hg]")) == [low]
    assert ids(_search(client, "Observation?value-quantity=110||kg")) == []
    assert ids(_search(client, "Observation?value-quantity=165.5")) == [high]
    assert ids(_search(client, "Observation?value-quantity=ap160")) == [high]


def test_uri_search(client):
    vs = client.post(
        "/fhir/ValueSet",
        json={"resourceType": "ValueSet", "status": "active", "url": "http://example.org/fhir/ValueSet/a"},
        headers=FHIR,
    ).json()["id"]
    assert ids(_search(client, "ValueSet?url=http://example.org/fhir/ValueSet/a")) == [vs]
    assert ids(_search(client, "ValueSet?url:below=http://example.org/fhir")) == [vs]
    assert ids(_search(client, "ValueSet?url=http://example.org/fhir")) == []


def test_observation_by_subject_code_and_date(client, people):
    pid = people["ivanov"]
    post(client, observation(pid, when="2023-06-01T10:00:00Z"))
    new = post(client, observation(pid, when="2024-06-01T10:00:00Z")).json()["id"]
    post(client, observation(pid, code="8462-4", when="2024-06-01T10:00:00Z"))
    found = _search(client, f"Observation?subject=Patient/{pid}&code=http://loinc.org|8480-6&date=ge2024-01-01")
    assert ids(found) == [new]


def test_id_and_last_updated(client, people):
    assert ids(_search(client, f"Patient?_id={people['smith']}")) == [people["smith"]]
    assert len(ids(_search(client, "Patient?_lastUpdated=gt2020-01-01"))) == 4
    assert ids(_search(client, "Patient?_lastUpdated=lt2020-01-01")) == []


def test_sort_several_keys(client, people):
    ordered = ids(_search(client, "Patient?_sort=birthdate"))
    assert ordered == [people["ivanov"], people["petrov"], people["ivanova"], people["smith"]]
    ordered = ids(_search(client, "Patient?_sort=-birthdate"))
    assert ordered[0] == people["smith"]
    ordered = ids(_search(client, "Patient?_sort=family,-birthdate"))
    assert ordered == [people["smith"], people["ivanov"], people["ivanova"], people["petrov"]]


def test_include_and_revinclude(client, people):
    obs = post(client, observation(people["ivanov"])).json()["id"]
    found = _search(client, f"Observation?_id={obs}&_include=Observation:subject")
    assert ids(found) == [obs]
    assert ids(found, "include") == [people["ivanov"]]
    found = _search(client, f"Patient?_id={people['ivanov']}&_revinclude=Observation:subject")
    assert ids(found, "include") == [obs]


def test_summary_count_elements_and_total(client, people):
    counted = _search(client, "Patient?_summary=count")
    assert counted["total"] == 4
    assert "entry" not in counted
    slim = _search(client, f"Patient?_id={people['ivanov']}&_elements=birthDate")
    res = slim["entry"][0]["resource"]
    assert set(res) == {"resourceType", "id", "meta", "birthDate"}
    assert any(t["code"] == "SUBSETTED" for t in res["meta"]["tag"])
    summary = _search(client, f"Patient?_id={people['ivanov']}&_summary=true")["entry"][0]["resource"]
    assert "name" in summary
    assert "total" not in _search(client, "Patient?_total=none&_count=1")


def test_paging_links_stay_correct_while_others_write(client):
    created = [post(client, patient(family=f"Фамилия{i:02d}")).json()["id"] for i in range(7)]
    first = _search(client, "Patient?_count=3&_sort=family")
    assert first["total"] == 7
    seen = ids(first)
    # Someone writes a patient that would sort first, and deletes one not yet seen.
    post(client, patient(family="Аааа"))
    client.delete(f"/fhir/Patient/{created[6]}")
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while link:
        page = client.get(link.replace("http://testserver", "")).json()
        seen += ids(page)
        link = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
    assert seen == created[:6]


def test_post_search(client, people):
    r = client.post(
        "/fhir/Patient/_search", content="family=Петров", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert ids(r.json()) == [people["petrov"]]


def test_number_search(client, people):
    def risk(p):
        return {"resourceType": "RiskAssessment", "status": "final",
                "subject": {"reference": f"Patient/{people['ivanov']}"},
                "prediction": [{"probabilityDecimal": p}]}  # fmt: skip

    low = post(client, risk(0.05)).json()["id"]
    high = post(client, risk(0.23)).json()["id"]
    assert ids(_search(client, "RiskAssessment?probability=gt0.2")) == [high]
    assert ids(_search(client, "RiskAssessment?probability=0.05")) == [low]
    assert ids(_search(client, "RiskAssessment?probability=le0.05")) == [low]
    assert client.get("/fhir/RiskAssessment?probability=abc").status_code == 400


def test_expired_search_pages_are_dropped_and_answer_410(client, engine, region):
    from sqlalchemy import update

    from medcity.store.schema import search_snapshot

    for i in range(3):
        post(client, patient(family=f"Листов{i}"))
    first = _search(client, "Patient?family=листов&_count=1")
    old_next = next(x["url"] for x in first["link"] if x["relation"] == "next").replace("http://testserver", "")
    assert client.get(old_next).status_code == 200
    with engine.begin() as conn:  # two hours pass
        conn.execute(update(search_snapshot).where(search_snapshot.c.partition == region)
                     .values(created="2000-01-01T00:00:00.000000Z"))  # fmt: skip
    fresh = _search(client, "Patient?family=листов&_count=1")  # keeping a new snapshot drops expired ones
    with engine.connect() as conn:
        kept = conn.execute(search_snapshot.select().where(search_snapshot.c.partition == region)).all()
    assert len(kept) == 1
    gone = client.get(old_next)
    assert gone.status_code == 410
    assert gone.json()["resourceType"] == "OperationOutcome"
    new_next = next(x["url"] for x in fresh["link"] if x["relation"] == "next").replace("http://testserver", "")
    assert client.get(new_next).status_code == 200


def test_a_first_page_only_search_reads_the_page_and_keeps_no_snapshot(client, store, engine, region):
    """What a worklist asks for: the oldest page of many matches, nothing kept for next links, nothing counted."""
    from medcity.store.schema import search_snapshot

    for i in range(5):
        post(client, patient(family=f"Очередев{i}", birth=f"196{4 - i}-01-01"))
    with store.reader() as tx:
        page = tx.search("Patient", [("family", "очередев"), ("_sort", "birthdate"), ("_count", "2"),
                                     ("_total", "none")], first_page_only=True)  # fmt: skip
    assert [p.resource["birthDate"] for p in page.matches] == ["1960-01-01", "1961-01-01"]
    assert page.snapshot is None and page.total is None
    with engine.connect() as conn:
        assert conn.execute(search_snapshot.select().where(search_snapshot.c.partition == region)).all() == []


def test_the_total_counts_every_match_beyond_the_pages_kept(client, monkeypatch):
    """Next links reach only the first SNAPSHOT_CAP matches, but the total still counts them all."""
    from medcity.store import search

    monkeypatch.setattr(search, "SNAPSHOT_CAP", 3)
    for i in range(5):
        post(client, patient(family=f"Многов{i}", birth=f"197{i}-01-01"))
    first = _search(client, "Patient?family=многов&_count=2&_sort=birthdate")
    assert first["total"] == 5 and len(first["entry"]) == 2
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = client.get(link.replace("http://testserver", "")).json()
    assert [e["resource"]["birthDate"] for e in second["entry"]] == ["1972-01-01"]
    assert not any(link["relation"] == "next" for link in second["link"])
    assert "total" not in _search(client, "Patient?family=многов&_count=2&_total=none")
