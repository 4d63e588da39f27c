"""Who treats whom, as SQL: the patient sets the policy restricts staff and system clients to.

A care relationship between a patient and an organisation (or one of its practitioners) is:
- the patient is attached to the organisation (`Patient.managingOrganization`), or
- an Appointment, Encounter or ServiceRequest of the patient names the practitioner, the organisation or one of the
  organisation's (or the practitioner's) PractitionerRoles, dated inside the care window (from its start on, the
  future included: Appointment.start, Encounter.period, ServiceRequest.authoredOn or occurrence). A record without
  any such date makes no care relationship (a record written today about a visit years ago does not either).

The relationships are kept as rows of `care_link` (written with the records, `care_links.py`); everything here is
a subquery over it and the search index, so a search is narrowed in the database (totals, pages and includes leak
nothing) and a single read is checked with the very same condition. Each is built once for the same arguments and
shared by the requests that follow (SQL expressions are immutable; building one costs more than the read it
guards): callers round the times they pass to the minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, Select, String, and_, false, literal, or_, select, union_all
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from medcity.auth.tables import care_link
from medcity.store.schema import idx_reference, resource

# Break-glass records are AuditEvents tagged so (see breakglass.py); their agent.altId is the username. Each is
# also a `care_link` of the actor GLASS_ACTOR + username, from the moment it was recorded.
BREAK_GLASS_TAG = "urn:medcity:audit"
GLASS_ACTOR = "User/"
# The aliases each subquery reads through, made once: building one copies the table's columns (a large part of a
# request's policy cost when made per call). None of these subqueries nests in another that uses the same alias.
_ROLE, _BY_ACTOR = idx_reference.alias("actor_role"), idx_reference.alias("by_actor")
_SERVED = resource.alias("served")


@dataclass(frozen=True)
class Actors:
    """Whom a caller acts as: a practitioner and/or an organisation (either may be missing)."""

    region: str
    practitioner: str | None
    organization: str | None

    def roles(self, *columns: Any) -> Select[Any]:
        """The PractitionerRoles of the practitioner or of the organisation (their ids, or `columns` of `_ROLE`)."""
        ref = _ROLE
        links = []
        if self.practitioner:
            links.append(and_(ref.c.param == "practitioner", ref.c.target_type == "Practitioner",
                              ref.c.target_id == self.practitioner))  # fmt: skip
        if self.organization:
            links.append(and_(ref.c.param == "organization", ref.c.target_type == "Organization",
                              ref.c.target_id == self.organization))  # fmt: skip
        return select(*(columns or (ref.c.id,))).where(
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


@lru_cache(maxsize=256)
def _actor_keys(actors: Actors) -> CompoundSelect:
    """The `care_link.actor` values that stand for `actors`: themselves and their PractitionerRoles."""
    keys: list[Select[Any]] = [actors.roles((literal("PractitionerRole/", String) + _ROLE.c.id).label("actor"))]
    if actors.practitioner:
        keys.append(select(literal(f"Practitioner/{actors.practitioner}", String).label("actor")))
    if actors.organization:
        keys.append(select(literal(f"Organization/{actors.organization}", String).label("actor")))
    return union_all(*keys)


def in_care(
    actors: Actors, patient: Any, since_ms: int, glass_user: str | None = None, glass_since_ms: int = 0
) -> ColumnElement[bool]:
    if isinstance(patient, ColumnClause):  # the same for every request of the minute: built once
        return _in_care_of_rows(actors, patient, since_ms, glass_user, glass_since_ms)
    return _in_care(actors, patient, since_ms, glass_user, glass_since_ms)  # a literal is asked about once


@lru_cache(maxsize=256)
def _in_care_of_rows(
    actors: Actors, patient: ColumnClause[Any], since_ms: int, glass_user: str | None, glass_since_ms: int
) -> ColumnElement[bool]:
    return _in_care(actors, patient, since_ms, glass_user, glass_since_ms)


def _in_care(
    actors: Actors, patient: Any, since_ms: int, glass_user: str | None, glass_since_ms: int
) -> ColumnElement[bool]:
    """Whether `patient` (the outer row's patient column, or a literal) is in a care relationship with `actors`
    since `since_ms`, or opened by `glass_user`'s break-glass since `glass_since_ms`.

    One probe of `care_link` by the patient (an index range of a few rows) per row tested; the actors' keys are
    an uncorrelated set the database computes once per statement. Written as a scalar subquery so that the
    database keeps it a per-row probe instead of turning it into a join: its estimate of how many rows a search
    over the index tables matches is often off a thousandfold, and a join planned on such an estimate can compute
    the whole care set again for every row."""
    link = care_link
    linked = and_(link.c.actor.in_(_actor_keys(actors)), link.c.until > since_ms)
    if glass_user:
        linked = or_(linked, _opened_by(glass_user, glass_since_ms))
    probe = select(literal(1)).where(link.c.partition == actors.region, link.c.patient == patient, linked)
    return probe.limit(1).scalar_subquery().is_not(None)


def _opened_by(username: str, since_ms: int) -> ColumnElement[bool]:
    """The `care_link` rows of the break-glasses `username` made since `since_ms`."""
    return and_(care_link.c.actor == f"{GLASS_ACTOR}{username}", care_link.c.until >= since_ms)


@lru_cache(maxsize=1024)
def glass_patients(region: str, username: str | None, since_ms: int) -> Select[Any]:
    """Patients whose record `username` opened by break-glass since `since_ms`."""
    return select(care_link.c.patient).where(care_link.c.partition == region, _opened_by(username or "", since_ms))


def patients_served(actors: Actors, rtype: str, params: tuple[str, ...]) -> Select[Any]:
    """Patients of the `rtype` records whose `params` name `actors` (a laboratory's orders, say)."""
    rec = _SERVED
    return select(rec.c.patient).where(
        rec.c.partition == actors.region, rec.c.type == rtype, rec.c.deleted.is_(False),
        rec.c.patient.is_not(None), rec.c.id.in_(actors.referring(rtype, params)),
    )  # fmt: skip
