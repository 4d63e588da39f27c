"""Property-based: generated requests never make the server answer with a 5xx."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fhir.helpers import FHIR

TYPES = st.sampled_from(["Patient", "Observation", "Encounter", "Condition", "Slot", "Spaceship", "$x", "_history"])
PARAMS = st.sampled_from(
    ["family", "name", "birthdate", "identifier", "subject", "subject:Patient.family", "code", "date", "_id",
     "_lastUpdated", "_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total",
     "value-quantity", "gender:not", "family:exact", "family:contains", "code:text", "x:y", "_offset"]
)  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["ge2020", "lt1980-05", "eq2024-01-01T10:00:00Z", "ap5", "gt-1.5e3", "x|y", "|", ",",
                     "Patient/1", "Observation:subject", "-date", "true", "count", "%", "'", "\\", "0", "99999"]),
)  # fmt: skip
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(string.ascii_letters, max_size=12),
                                                                    children, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rtype=TYPES, query=st.lists(st.tuples(PARAMS, VALUES), max_size=4))
def test_search_never_5xx(client, rtype, query):
    r = client.get(f"/fhir/{rtype}", params=query)
    assert r.status_code < 500, (rtype, query, r.text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rtype=TYPES, body=st.dictionaries(st.text(string.ascii_letters, max_size=12), JSONISH, max_size=5),
       as_type=st.booleans(), method=st.sampled_from(["post", "put"]))  # fmt: skip
def test_writes_never_5xx(client, rtype, body, as_type, method):
    if as_type:
        body = {**body, "resourceType": rtype}
    url = f"/fhir/{rtype}" if method == "post" else f"/fhir/{rtype}/x1"
    r = getattr(client, method)(url, json=body, headers=FHIR)
    assert r.status_code < 500, (rtype, body, r.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {
                "request": st.fixed_dictionaries(
                    {"method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]), "url": st.text(max_size=30)}
                ),
                "resource": JSONISH,
                "fullUrl": st.text(max_size=12),
            }
        ),
        max_size=4,
    ),
    kind=st.sampled_from(["transaction", "batch"]),
)
def test_bundles_never_5xx(client, entries, kind):
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": kind, "entry": entries}, headers=FHIR)
    assert r.status_code < 500, (entries, r.text)
