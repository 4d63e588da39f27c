"""Immunization resources as a nurse's record or another system would write them, for the calendar tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from medcity.immunization.calendar import CVX, calendar

JSON = dict[str, Any]


def given(dose: str, day: date, *, patient: str = "p1", rid: str | None = None) -> JSON:
    """A completed dose named by the calendar's own code."""
    return {
        "resourceType": "Immunization",
        "id": rid or f"{dose}-{day.isoformat()}",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": calendar().system, "code": dose}]},
        "patient": {"reference": f"Patient/{patient}"},
        "occurrenceDateTime": day.isoformat(),
    }


def given_cvx(code: str, day: date, *, number: int | None = None) -> JSON:
    """A dose written by another system with a CVX code, its number given or not."""
    body: JSON = {
        "resourceType": "Immunization",
        "id": f"cvx{code}-{day.isoformat()}",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX, "code": code}]},
        "patient": {"reference": "Patient/p1"},
        "occurrenceDateTime": f"{day.isoformat()}T10:00:00+03:00",
    }
    if number is not None:
        body["protocolApplied"] = [{"doseNumberPositiveInt": number}]
    return body
