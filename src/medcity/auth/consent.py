"""A patient's restriction of sensitive categories, kept as a FHIR Consent, and its SQL form.

A patient denies one or more categories (ICD-10 code ranges, e.g. chapter F `F00-F99`, or `A50-A64`) with an
active Consent whose `provision` is `deny` with those ranges as its `securityLabel` (and, for readers, as its
`code`). What tells of a diagnosis in a denied range is then visible only to the patient, to the authoring
organisation and by break-glass:
- a Condition coded in the range;
- the Encounter that has such a Condition (as its `diagnosis`, or the Condition names it as its encounter), or
  whose reason is coded in the range;
- what was written in such an Encounter (its protocol, vital signs, orders and referrals, reports: every type with
  an `encounter` reference);
- a record whose reason is coded in the range or is such a Condition, written in a visit or not: `reason-code`
  (R4 defines it for Encounter and Procedure, among others; medcity adds it, and `reason-reference`, for
  ServiceRequest and MedicationRequest: store.searchparams), and a DiagnosticReport whose `conclusion` is;
- a document (Composition) whose entries include such a Condition (a discharge summary).
The authoring organisation is the one that provided the record's encounter, or one the record names (asserter,
author, performer, requester, service provider...) through the organisation, its practitioner or its roles.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from medcity.auth.care import Actors
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.store.schema import idx_reference, idx_token, resource
from medcity.store.searchparams import registry

ICD10 = "http://hl7.org/fhir/sid/icd-10"
CATEGORY_SYSTEM = "urn:medcity:sensitive-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
DEFAULT_SENSITIVE = ("F00-F99", "A50-A64")
_RANGE = re.compile(r"^([A-Z])(\d\d)-([A-Z])(\d\d)$")
# Made once, as in care.py: an alias copies its table's columns. Nested subqueries each have their own, and each
# correlates everything but its own alias: the outer row is referred to from several levels down.
_CONSENT, _LABEL, _STATUS = (
    resource.alias("consent"),
    idx_token.alias("consent_label"),
    idx_token.alias("consent_status"),
)
_CODE, _REASON, _AUTHOR = (
    idx_token.alias("sensitive_code"),
    idx_token.alias("sensitive_reason"),
    idx_reference.alias("record_author"),
)
_LINK, _DIAGNOSIS, _OWN_VISIT = (
    idx_reference.alias("sensitive_link"),
    idx_reference.alias("visit_diagnosis"),
    idx_reference.alias("condition_visit"),
)


@lru_cache(maxsize=16)
def categories_of(setting: str | tuple[str, ...]) -> tuple[str, ...]:
    """The configured ranges ("F00-F99,A50-A64"), each checked (once: every request's policy context asks)."""
    items = setting.split(",") if isinstance(setting, str) else setting
    ranges = tuple(item.strip().upper() for item in items if item.strip())
    for item in ranges:
        match = _RANGE.match(item)
        if not match or match.group(1) != match.group(3) or match.group(2) > match.group(4):
            raise ValueError(f"'{item}' is not an ICD-10 range such as F00-F99")
    return ranges


def consent_resource(patient: str, denied: list[str], allowed: tuple[str, ...], when: str) -> dict[str, Any]:
    """The Consent a patient keeps: deny the `denied` ranges (each must be one of the configured `allowed`)."""
    unknown = [item for item in denied if item not in allowed]
    if unknown:
        raise InvalidRequest(
            N_("Not a restrictable category: %(unknown)s; choose from %(allowed)s"),
            unknown=", ".join(unknown)[:200],
            allowed=allowed,
        )
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


def _consenting(region: str, ranges: tuple[str, ...]) -> Select[Any]:
    """Patients with an active Consent denying any of `ranges` (uncorrelated: the database computes it once per
    statement, and a row of a patient without one is let through by a lookup in it)."""
    con, label, status = _CONSENT, _LABEL, _STATUS
    return select(con.c.patient).where(
        con.c.partition == region, con.c.type == "Consent", con.c.deleted.is_(False),
        con.c.id.in_(select(label.c.id).where(label.c.partition == region, label.c.type == "Consent",
                                              label.c.param == "security-label", label.c.system == CATEGORY_SYSTEM,
                                              label.c.code.in_(ranges))),
        con.c.id.in_(select(status.c.id).where(status.c.partition == region, status.c.type == "Consent",
                                               status.c.param == "status", status.c.code == "active")),
    )  # fmt: skip


# A range's first and last three-character categories, as SQL values: read from the denying Consent's label, so
# that one condition serves every range a patient may deny.
Bounds = tuple[Any, Any]


def _coded(token: Any, region: str, rtype: str, rid: Any, param: str, bounds: Bounds) -> ColumnElement[bool]:
    """`rid` (a column) of `rtype` has its `param` coded in the ICD-10 range."""
    return exists(
        select(token.c.id).where(
            token.c.partition == region, token.c.type == rtype, token.c.id == rid, token.c.param == param,
            token.c.system == ICD10, func.substr(token.c.code, 1, 3).between(*bounds),
        ).correlate_except(token)
    )  # fmt: skip


def _sensitive_encounter(region: str, encounter: Any, bounds: Bounds) -> ColumnElement[bool]:
    """The Encounter `encounter` (a column) has a Condition in the range, or a reason coded in it."""
    diagnosis, own = _DIAGNOSIS, _OWN_VISIT
    return or_(
        _coded(_REASON, region, "Encounter", encounter, "reason-code", bounds),
        exists(select(diagnosis.c.id).where(
            diagnosis.c.partition == region, diagnosis.c.type == "Encounter", diagnosis.c.id == encounter,
            diagnosis.c.param == "diagnosis", diagnosis.c.target_type == "Condition",
            _coded(_CODE, region, "Condition", diagnosis.c.target_id, "code", bounds),
        ).correlate_except(diagnosis)),
        exists(select(own.c.id).where(
            own.c.partition == region, own.c.type == "Condition", own.c.param == "encounter",
            own.c.target_type == "Encounter", own.c.target_id == encounter,
            _coded(_CODE, region, "Condition", own.c.id, "code", bounds),
        ).correlate_except(own)),
    )  # fmt: skip


def _tells(table: Any, rtype: str, region: str, bounds: Bounds) -> ColumnElement[bool]:
    """The row (of `rtype`) tells of a diagnosis in the range (see the module docstring)."""
    if rtype == "Condition":
        return _coded(_CODE, region, "Condition", table.c.id, "code", bounds)
    if rtype == "Encounter":
        return _sensitive_encounter(region, table.c.id, bounds)
    link = _LINK
    options: list[ColumnElement[bool]] = []
    if registry().get(rtype, "encounter") is not None:
        options.append(exists(select(link.c.id).where(
            link.c.partition == region, link.c.type == rtype, link.c.id == table.c.id, link.c.param == "encounter",
            link.c.target_type == "Encounter", _sensitive_encounter(region, link.c.target_id, bounds),
        ).correlate_except(link)))  # fmt: skip
    for coded in ("reason-code", "conclusion"):
        if registry().get(rtype, coded) is not None:
            options.append(_coded(_REASON, region, rtype, table.c.id, coded, bounds))
    if registry().get(rtype, "reason-reference") is not None:
        options.append(exists(select(link.c.id).where(
            link.c.partition == region, link.c.type == rtype, link.c.id == table.c.id,
            link.c.param == "reason-reference", link.c.target_type == "Condition",
            _coded(_CODE, region, "Condition", link.c.target_id, "code", bounds),
        ).correlate_except(link)))  # fmt: skip
    if rtype == "Composition":
        options.append(exists(select(link.c.id).where(
            link.c.partition == region, link.c.type == rtype, link.c.id == table.c.id, link.c.param == "entry",
            link.c.target_type == "Condition", _coded(_CODE, region, "Condition", link.c.target_id, "code", bounds),
        ).correlate_except(link)))  # fmt: skip
    return or_(false(), *options)


# The parameters through which a record tells of a diagnosis (`_tells`).
TELLING_PARAMS = ("encounter", "reason-code", "reason-reference", "conclusion")


@cache
def guarded(rtype: str) -> bool:
    """Whether rows of `rtype` can tell of a diagnosis, so that a patient's consent may hide them."""
    return rtype in ("Condition", "Encounter", "Composition") or any(
        registry().get(rtype, param) is not None for param in TELLING_PARAMS
    )


def _authored_by(table: Any, rtype: str, actors: Actors) -> ColumnElement[bool]:
    """The record was written by the caller's organisation: it names one of `actors` in a reference (asserter,
    author, performer, service provider...), or its encounter was provided by their organisation."""
    ref = _AUTHOR
    options = [and_(ref.c.param != "subject", ref.c.param != "patient", actors.named_by(ref))]
    if actors.organization:
        options.append(and_(ref.c.param == "encounter", ref.c.target_type == "Encounter",
                            ref.c.target_id.in_(actors.referring("Encounter", ("service-provider",)))))  # fmt: skip
    return exists(
        select(ref.c.id)
        .where(ref.c.partition == actors.region, ref.c.type == rtype, ref.c.id == table.c.id, or_(*options))
        .correlate_except(ref)
    )


def denies_any(patient: Any, region: str, ranges: tuple[str, ...]) -> ColumnElement[bool]:
    """Whether `patient` keeps an active Consent denying any of `ranges`."""
    return patient.in_(_consenting(region, ranges)) if ranges else false()


def visible(
    table: Any, rtype: str, actors: Actors, ranges: tuple[str, ...], glass: Select[Any] | None
) -> ColumnElement[bool] | None:
    """The SQL condition that a row of `rtype` is not hidden from `actors` by its patient's consent."""
    if not ranges or not guarded(rtype):
        return None
    return _visible(table, rtype, actors, ranges, glass)


# Built once per caller, table and type, and shared by the requests that follow (within the minute `glass` is
# made for): as in care.py, building and compiling it anew per request costs more than the search it guards.
@lru_cache(maxsize=1024)
def _visible(
    table: Any, rtype: str, actors: Actors, ranges: tuple[str, ...], glass: Select[Any] | None
) -> ColumnElement[bool]:
    region, label, con, status = actors.region, _LABEL, _CONSENT, _STATUS
    # Hidden: the row's patient keeps an active Consent denying a range the row tells of. One condition for all
    # ranges (the range is read from the Consent's label), so the database plans it once, not once per range; the
    # rows of the many patients without such a Consent are let through by the first, cheap test.
    hidden = and_(table.c.patient.in_(_consenting(region, ranges)), exists(select(label.c.id).where(
        label.c.partition == region, label.c.type == "Consent", label.c.param == "security-label",
        label.c.system == CATEGORY_SYSTEM, label.c.code.in_(ranges),
        label.c.id.in_(select(con.c.id).where(con.c.partition == region, con.c.type == "Consent",
                                              con.c.deleted.is_(False), con.c.patient == table.c.patient)
                       .correlate_except(con)),
        label.c.id.in_(select(status.c.id).where(status.c.partition == region, status.c.type == "Consent",
                                                 status.c.param == "status", status.c.code == "active")),
        _tells(table, rtype, region, (func.substr(label.c.code, 1, 3), func.substr(label.c.code, 5, 3))),
    ).correlate_except(label)))  # fmt: skip
    exceptions = [_authored_by(table, rtype, actors)]
    if glass is not None:
        exceptions.append(table.c.patient.in_(glass))
    return or_(not_(hidden), *exceptions)
