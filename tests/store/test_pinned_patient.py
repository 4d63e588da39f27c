"""Which searches are pinned to one patient by their own parameters (and so decided once for that patient by the
access policy): only those whose matches are all filed under that patient."""

from __future__ import annotations

import pytest

from medcity.store.search import pinned_patient


@pytest.mark.parametrize(
    ("rtype", "params", "pinned"),
    [
        ("Observation", [("subject", "Patient/p1")], "p1"),
        ("Observation", [("patient", "p1"), ("code", "8480-6")], "p1"),  # `patient` can only mean a Patient
        ("Observation", [("subject:Patient", "p1")], "p1"),
        ("Observation", [("patient", "p1"), ("subject", "Patient/p1")], "p1"),
        ("Condition", [("subject", "Patient/p1")], "p1"),  # files under `patient`, over the same element
        ("Appointment", [("actor", "Patient/p1")], "p1"),
        # Not pinned: a bare id that may name a Group or Device, OR lists, other patients, other types' elements.
        ("Observation", [("subject", "p1")], None),
        ("Observation", [("subject", "Patient/p1,Patient/p2")], None),
        ("Observation", [("subject", "Patient/p1"), ("patient", "p2")], None),
        ("Observation", [("subject", "Group/g1")], None),
        ("Observation", [("subject:Group", "p1")], None),
        ("Observation", [("subject:missing", "false")], None),
        ("Observation", [("performer", "Patient/p1")], None),  # a row filed under its subject, not its performer
        ("Observation", [("subject.name", "Иванов")], None),
        ("Observation", [("subject", "Patient/p1/_history/2")], None),
        # What an include brings may be filed under other patients.
        ("Observation", [("subject", "Patient/p1"), ("_include", "Observation:performer")], None),
        ("Observation", [("subject", "Patient/p1"), ("_revinclude", "Provenance:target")], None),
        ("Practitioner", [("_id", "d1")], None),
        ("Patient", [("_id", "p1")], None),
    ],
)
def test_pinned_patient(rtype: str, params: list[tuple[str, str]], pinned: str | None) -> None:
    assert pinned_patient(rtype, params) == pinned
