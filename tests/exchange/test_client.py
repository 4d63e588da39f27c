"""What another region sends is checked before a doctor reads it: only the sections' clinical resources, and only
valid R4 ones, reach the page."""

from __future__ import annotations

from medcity.exchange.client import summary_resources


def test_only_valid_clinical_resources_of_a_summary_are_shown() -> None:
    good = {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "code": {"text": "Гипертония"}}
    document = {"resourceType": "Bundle", "type": "document", "entry": [
        {"resource": {"resourceType": "Composition", "status": "final"}},
        {"resource": {"resourceType": "Patient", "id": "p"}},
        {"resource": good},
        {"resource": {"resourceType": "Condition", "subject": "Patient/p"}},  # not a Reference: left out
        {"resource": {"resourceType": "Observation", "status": "final"}},  # no code: left out
        {"resource": {"resourceType": "Basic", "code": {"text": "x"}}},  # not a section's type
        {"resource": "not an object"}, "nor this",
    ]}  # fmt: skip
    assert summary_resources(document) == [good]
    assert summary_resources({"resourceType": "Bundle"}) == []
