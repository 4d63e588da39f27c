"""Who treats whom, as SQL: the patient sets the policy restricts staff and system clients to.

A care relationship between a patient and an organisation (or one of its practitioners) is:
- the patient is attached to the organisation (`Patient.managingOrganization`), or
- an Appointment, Encounter or ServiceRequest of the patient names the practitioner, the organisation or one of the
  organisation's (or the practitioner's) PractitionerRoles, dated inside the care window (from its start on, the
  future included: Appointment.start, Encounter.period, ServiceRequest.authoredOn or occurrence). A record without
  any such date makes no care relationship (a record written today about a visit years ago does not either).

Everything here is a subquery over the search index, so a search is narrowed in the database (totals, pages and
includes leak nothing) and a single read is checked with the very same condition. Each is built once for the same
arguments and shared by the requests that follow (SQL expressions are immutable; building one costs more than the
read it guards): callers round the times they pass to the minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, exists, false, or_, select
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from medcity.store.schema import idx_date, idx_reference, idx_token, resource

# The records that make a care relationship, with the reference parameters that name who is involved.
CARE_RECORDS = {
    "Appointment": ("actor", "practitioner"),
    "Encounter": ("participant", "practitioner", "service-provider"),
    "ServiceRequest": ("requester", "performer"),
}
CARE_DATES = ("date", "authored", "occurrence")
_CARE_PARAMS = tuple(sorted({param for params in CARE_RECORDS.values() for param in params}))
# Break-glass records are AuditEvents tagged so (see breakglass.py); their agent.altId is the username.
BREAK_GLASS_TAG = "urn:medcity:audit"
# The aliases each subquery reads through, made once: building one copies the table's columns (a large part of a
# request's policy cost when made per call). None of these subqueries nests in another that uses the same alias.
_ROLE, _BY_ACTOR, _ATTACHED = (
    idx_reference.alias("actor_role"),
    idx_reference.alias("by_actor"),
    idx_reference.alias("attached"),
)
_CARE_RECORD, _INVOLVED, _CARE_DATE = (
    resource.alias("care_record"),
    idx_reference.alias("involved"),
    idx_date.alias("care_date"),
)
_GLASS, _GLASS_USER, _GLASS_TAG = resource.alias("glass"), idx_token.alias("glass_user"), idx_token.alias("glass_tag")
_SERVED = resource.alias("served")


@dataclass(frozen=True)
class Actors:
    """Whom a caller acts as: a practitioner and/or an organisation (either may be missing)."""

    region: str
    practitioner: str | None
    organization: str | None

    def roles(self) -> Select[Any]:
        """The PractitionerRoles of the practitioner or of the organisation."""
        ref = _ROLE
        links = []
        if self.practitioner:
            links.append(and_(ref.c.param == "practitioner", ref.c.target_type == "Practitioner",
                              ref.c.target_id == self.practitioner))  # fmt: skip
        if self.organization:
            links.append(and_(ref.c.param == "organization", ref.c.target_type == "Organization",
                              ref.c.target_id == self.organization))  # fmt: skip
        return select(ref.c.id).where(
            ref.c.partition == self.region, ref.c.type == "PractitionerRole", or_(false(), *links)
        )

    def named_by(self, ref: Any) -> ColumnElement[bool]:
        """The condition on an `idx_reference` row that it points at one of these actors."""
        options = [and_(ref.c.target_type == "PractitionerRole", ref.c.target_id.in_(self.roles()))]
        if self.practitioner:
            options.append(and_(ref.c.target_type == "Practitioner", ref.c.target_id == self.practitioner))
        if self.organization:
            options.append(and_(ref.c.target_type == "Organization", ref.c.target_id == self.organization))
        return or_(*options)

    def referring(self, rtype: str, params: tuple[str, ...]) -> Select[Any]:
        """Ids of `rtype` resources whose `params` name one of these actors."""
        ref = _BY_ACTOR
        return select(ref.c.id).where(
            ref.c.partition == self.region, ref.c.type == rtype, ref.c.param.in_(params), self.named_by(ref)
        )


def in_care(actors: Actors, patient: Any, since_ms: int) -> ColumnElement[bool]:
    """Whether `patient` (the outer row's patient column, or a literal) is in a care relationship with `actors`
    (see the module docstring). Correlated on the patient, so the database looks up only that patient's own
    attachment and records through the indexes, whatever the size of the organisation's care set."""
    if isinstance(patient, ColumnClause):
        return _in_care_of_rows(actors, patient, since_ms)
    return _in_care(actors, patient, since_ms)  # a literal is asked about once: nothing to share


@lru_cache(maxsize=256)
def _in_care_of_rows(actors: Actors, patient: ColumnClause[Any], since_ms: int) -> ColumnElement[bool]:
    return _in_care(actors, patient, since_ms)


def _in_care(actors: Actors, patient: Any, since_ms: int) -> ColumnElement[bool]:
    options: list[ColumnElement[bool]] = []
    if actors.organization:
        attached = _ATTACHED
        options.append(exists(
            select(attached.c.id).where(
                attached.c.partition == actors.region, attached.c.type == "Patient", attached.c.id == patient,
                attached.c.param == "organization", attached.c.target_type == "Organization",
                attached.c.target_id == actors.organization,
            )
        ))  # fmt: skip
    if actors.practitioner or actors.organization:
        rec, ref, day = _CARE_RECORD, _INVOLVED, _CARE_DATE
        named = exists(
            select(ref.c.id).where(
                ref.c.partition == rec.c.partition, ref.c.type == rec.c.type, ref.c.id == rec.c.id,
                ref.c.param.in_(_CARE_PARAMS), actors.named_by(ref),
            )
        )  # fmt: skip
        dated = exists(
            select(day.c.id).where(
                day.c.partition == rec.c.partition, day.c.type == rec.c.type, day.c.id == rec.c.id,
                day.c.param.in_(CARE_DATES), day.c.high > since_ms,
            )
        )  # fmt: skip
        options.append(exists(
            select(rec.c.id).where(
                rec.c.partition == actors.region, rec.c.patient == patient, rec.c.type.in_(tuple(CARE_RECORDS)),
                rec.c.deleted.is_(False), dated, named,
            )
        ))  # fmt: skip
    return or_(false(), *options)


@lru_cache(maxsize=1024)
def glass_patients(region: str, username: str | None, since_iso: str) -> Select[Any]:
    """Patients whose record `username` opened by break-glass since `since_iso`."""
    ev, altid, tag = _GLASS, _GLASS_USER, _GLASS_TAG
    return select(ev.c.patient).where(
        ev.c.partition == region, ev.c.type == "AuditEvent", ev.c.deleted.is_(False),
        ev.c.last_updated >= since_iso, ev.c.patient.is_not(None),
        ev.c.id.in_(select(altid.c.id).where(altid.c.partition == region, altid.c.type == "AuditEvent",
                                             altid.c.param == "altid", altid.c.code == (username or ""))),
        ev.c.id.in_(select(tag.c.id).where(tag.c.partition == region, tag.c.type == "AuditEvent",
                                           tag.c.param == "_tag", tag.c.system == BREAK_GLASS_TAG,
                                           tag.c.code == "break-glass")),
    )  # fmt: skip


def patients_served(actors: Actors, rtype: str, params: tuple[str, ...]) -> Select[Any]:
    """Patients of the `rtype` records whose `params` name `actors` (a laboratory's orders, say)."""
    rec = _SERVED
    return select(rec.c.patient).where(
        rec.c.partition == actors.region, rec.c.type == rtype, rec.c.deleted.is_(False),
        rec.c.patient.is_not(None), rec.c.id.in_(actors.referring(rtype, params)),
    )  # fmt: skip
