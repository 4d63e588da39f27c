"""Keeps `care_link` (see tables.py and care.py) in step with every write of the resources that make a care
relationship or open a record by break-glass, whichever door the write comes through: registered with
`medcity.kit.hooks.after_write`."""

from __future__ import annotations

from sqlalchemy import and_

from medcity.auth.care import BREAK_GLASS_TAG, GLASS_ACTOR
from medcity.auth.tables import care_link
from medcity.kit.hooks import after_write
from medcity.store.index import IndexRows
from medcity.store.repository import JSON, StoredResource, Tx, Version
from medcity.store.values import MAX_MS

# The records that make a care relationship, with the reference parameters that name who is involved.
CARE_RECORDS = {
    "Appointment": ("actor", "practitioner"),
    "Encounter": ("participant", "practitioner", "service-provider"),
    "ServiceRequest": ("requester", "performer"),
}
# Their dates: a record counts while the end of the latest of these is inside the care window.
CARE_DATES = ("date", "authored", "occurrence")
ACTOR_TYPES = frozenset({"Organization", "Practitioner", "PractitionerRole"})
_MAX_ID = 64  # a longer target is a reference to another server's resource, never one of ours


def care_link_rows(region: str, stored: StoredResource, index: IndexRows) -> list[JSON]:
    """The rows of a resource version, from its search index rows: a Patient's attachment, a dated record's
    actors, a break-glass's user; none for anything else."""
    params: tuple[str, ...]
    if stored.type == "AuditEvent":
        return _glass_rows(region, stored, index)
    if stored.type == "Patient":
        patient, until, params, actor_types = stored.id, MAX_MS, ("organization",), frozenset({"Organization"})
    elif stored.type in CARE_RECORDS and stored.patient:
        ends = [high for param, _low, high in index.get("date", ()) if param in CARE_DATES]
        if not ends:
            return []
        patient, until, params, actor_types = stored.patient, max(ends), CARE_RECORDS[stored.type], ACTOR_TYPES
    else:
        return []
    actors = {
        f"{target_type}/{target_id}"
        for param, target_type, target_id in index.get("reference", ())
        if param in params and target_type in actor_types and len(target_id) <= _MAX_ID
    }
    return [
        {"partition": region, "source_type": stored.type, "source_id": stored.id, "actor": actor,
         "patient": patient, "until": until}
        for actor in sorted(actors)
    ]  # fmt: skip


def _glass_rows(region: str, stored: StoredResource, index: IndexRows) -> list[JSON]:
    """A break-glass links its user to the patient from the moment it was recorded (the policy decides how long
    that lasts); any other AuditEvent links nobody."""
    tokens = index.get("token", ())
    if not stored.patient or not any(row[:3] == ("_tag", BREAK_GLASS_TAG, "break-glass") for row in tokens):
        return []
    recorded = [low for param, low, _high in index.get("date", ()) if param == "date"]
    users = {row[2] for row in tokens if row[0] == "altid" and row[2]}
    return [
        {"partition": region, "source_type": stored.type, "source_id": stored.id, "actor": f"{GLASS_ACTOR}{user}",
         "patient": stored.patient, "until": max(recorded)}
        for user in sorted(users) if recorded
    ]  # fmt: skip


def keep_care_links(tx: Tx, stored: StoredResource, index: IndexRows, previous: Version | None) -> None:
    """After the store wrote a version: the resource's links now are those of that version (most updates, an
    order's completion say, leave them as they were, and then nothing is written)."""
    link = care_link
    mine = and_(link.c.partition == tx.region, link.c.source_type == stored.type, link.c.source_id == stored.id)
    old = care_link_rows(tx.region, *previous) if previous else []
    tx.replace_rows(link, mine, old, care_link_rows(tx.region, stored, index))


for _type in ("Patient", "AuditEvent", *CARE_RECORDS):
    after_write(_type)(keep_care_links)
