"""OperationOutcome responses: every FHIR error leaves through here."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from medcity.kit.errors import Issue, MedcityError

FHIR_JSON = "application/fhir+json; charset=utf-8"


def outcome(issues: list[Issue]) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "OperationOutcome", "issue": []}
    for issue in issues:
        item: dict[str, Any] = {"severity": issue.severity, "code": issue.code, "diagnostics": issue.diagnostics}
        if issue.expression:
            item["expression"] = issue.expression
        body["issue"].append(item)
    return body


def error_response(error: MedcityError) -> Response:
    return Response(orjson.dumps(outcome(error.issues)), status_code=error.status, media_type=FHIR_JSON)


def information(text: str) -> dict[str, Any]:
    return outcome([Issue(code="informational", diagnostics=text, severity="information")])
