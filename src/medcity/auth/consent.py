"""A patient's restriction of sensitive categories, kept as a FHIR Consent, and its SQL form.

A patient denies one or more categories (ICD-10 code ranges, e.g. chapter F `F00-F99`, or `A50-A64`) with an
active Consent whose `provision` is `deny` with those ranges as its `securityLabel` (and, for readers, as its
`code`). Conditions coded inside a denied range are then visible only to the patient, to the authoring organisation
(the organisation of the Condition's encounter, or of its asserter) and by break-glass.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from medcity.auth.care import Actors
from medcity.kit.errors import InvalidRequest
from medcity.store.schema import idx_reference, idx_token, resource

ICD10 = "http://hl7.org/fhir/sid/icd-10"
CATEGORY_SYSTEM = "urn:medcity:sensitive-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
DEFAULT_SENSITIVE = ("F00-F99", "A50-A64")
_RANGE = re.compile(r"^([A-Z])(\d\d)-([A-Z])(\d\d)$")
# Made once, as in care.py: an alias copies its table's columns.
_CONSENT, _LABEL, _STATUS = (
    resource.alias("consent"),
    idx_token.alias("consent_label"),
    idx_token.alias("consent_status"),
)
_CODE, _AUTHOR = idx_token.alias("sensitive_code"), idx_reference.alias("condition_author")


def categories_of(setting: str | tuple[str, ...]) -> tuple[str, ...]:
    """The configured ranges ("F00-F99,A50-A64"), each checked."""
    items = setting.split(",") if isinstance(setting, str) else setting
    ranges = tuple(item.strip().upper() for item in items if item.strip())
    for item in ranges:
        match = _RANGE.match(item)
        if not match or match.group(1) != match.group(3) or match.group(2) > match.group(4):
            raise ValueError(f"'{item}' is not an ICD-10 range such as F00-F99")
    return ranges


def three_character_codes(code_range: str) -> list[str]:
    """`A50-A64` → A50, A51, ... A64: the ICD-10 categories a range covers (a code A51.2 starts with one)."""
    match = _RANGE.match(code_range)
    if match is None:
        raise ValueError(code_range)
    letter, low, high = match.group(1), int(match.group(2)), int(match.group(4))
    return [f"{letter}{n:02d}" for n in range(low, high + 1)]


def consent_resource(patient: str, denied: list[str], allowed: tuple[str, ...], when: str) -> dict[str, Any]:
    """The Consent a patient keeps: deny the `denied` ranges (each must be one of the configured `allowed`)."""
    unknown = [item for item in denied if item not in allowed]
    if unknown:
        raise InvalidRequest(f"Not a restrictable category: {', '.join(unknown)[:200]}; choose from {allowed}")
    labels = [{"system": CATEGORY_SYSTEM, "code": item} for item in denied]
    return {
        "resourceType": "Consent",
        "status": "active" if denied else "inactive",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient}"},
        "dateTime": when,
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {
            "type": "deny",
            "securityLabel": labels,
            "code": [{"coding": [{"system": ICD10, "code": item}], "text": item} for item in denied],
        },
    }


def denied_ranges(consent: dict[str, Any]) -> list[str]:
    """The ranges an (active) Consent denies, as `consent_resource` writes them."""
    if consent.get("status") != "active":
        return []
    labels = (consent.get("provision") or {}).get("securityLabel") or []
    return [label["code"] for label in labels if label.get("system") == CATEGORY_SYSTEM and label.get("code")]


def _consenting(region: str, code_range: str) -> Select[Any]:
    """Patients with an active Consent denying `code_range`."""
    con, label, status = _CONSENT, _LABEL, _STATUS
    return select(con.c.patient).where(
        con.c.partition == region, con.c.type == "Consent", con.c.deleted.is_(False),
        con.c.id.in_(select(label.c.id).where(label.c.partition == region, label.c.type == "Consent",
                                              label.c.param == "security-label", label.c.system == CATEGORY_SYSTEM,
                                              label.c.code == code_range)),
        con.c.id.in_(select(status.c.id).where(status.c.partition == region, status.c.type == "Consent",
                                               status.c.param == "status", status.c.code == "active")),
    )  # fmt: skip


def _coded_in(table: Any, region: str, code_range: str) -> ColumnElement[bool]:
    code = _CODE
    return exists(
        select(code.c.id).where(
            code.c.partition == region, code.c.type == "Condition", code.c.id == table.c.id,
            code.c.param == "code", code.c.system == ICD10,
            func.substr(code.c.code, 1, 3).in_(three_character_codes(code_range)),
        )
    )  # fmt: skip


def _authored_by(table: Any, actors: Actors) -> ColumnElement[bool]:
    """The Condition was written by the organisation: its asserter is one of `actors`, or its encounter was
    provided by their organisation."""
    ref = _AUTHOR
    options = [and_(ref.c.param == "asserter", actors.named_by(ref))]
    if actors.organization:
        options.append(and_(ref.c.param == "encounter", ref.c.target_type == "Encounter",
                            ref.c.target_id.in_(actors.referring("Encounter", ("service-provider",)))))  # fmt: skip
    return exists(
        select(ref.c.id).where(
            ref.c.partition == actors.region, ref.c.type == "Condition", ref.c.id == table.c.id, or_(*options)
        )
    )


def denies_any(patient: Any, region: str, ranges: tuple[str, ...]) -> ColumnElement[bool]:
    """Whether `patient` keeps an active Consent denying any of `ranges`."""
    return or_(false(), *(patient.in_(_consenting(region, item)) for item in ranges))


def visible_condition(
    table: Any, actors: Actors, ranges: tuple[str, ...], glass: Select[Any] | None
) -> ColumnElement[bool] | None:
    """The SQL condition that a Condition row is not hidden from `actors` by its patient's consent."""
    if not ranges:
        return None
    hidden = or_(
        *(and_(table.c.patient.in_(_consenting(actors.region, item)), _coded_in(table, actors.region, item))
          for item in ranges)
    )  # fmt: skip
    exceptions = [_authored_by(table, actors)]
    if glass is not None:
        exceptions.append(table.c.patient.in_(glass))
    return or_(not_(hidden), *exceptions)
