"""Proxies: a person who acts for a patient (issue 3). The link is a FHIR RelatedPerson of the represented patient
(``active`` while the proxy may act) plus the proxy account's ``patient`` — which is what its sessions and tokens
act for (``Principal.patient``), so a link that is not active gives the proxy nothing. A parent of several children
holds a link to each and acts for one at a time: ``act_for`` moves the account to another person it represents
(checked against the active links), as the portal's switch does.

A parent of a child under 15 is a proxy at once. An adult's proxy waits until the represented person confirms
with a one-time code: six digits, stored only as an argon2id hash, valid for a day, five wrong tries and it is
void. The code is handed to the represented person (never to the proxy), who enters it in their own portal, or
tells it at the registry desk after showing an identity document (``medcity proxy confirm``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, select, update

from medcity.auth.tables import app_user, proxy_code
from medcity.auth.users import Role, User, get_user_by_id, hash_password, verify_password
from medcity.kit import instants
from medcity.kit.errors import Conflict, InvalidRequest, NotFound
from medcity.kit.i18n import N_
from medcity.kit.ids import new_id
from medcity.scheduling.resources import ref_id
from medcity.store.repository import Tx

CHILD_UNDER = 15
CODE_LIFETIME = timedelta(days=1)
MAX_ATTEMPTS = 5
ROLE_CODES = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
USERNAME_SYSTEM = "urn:medcity:username"


@dataclass(frozen=True)
class Link:
    related_person: str
    active: bool
    code: str | None = None  # the one-time code, for an adult; shown once, never stored


@dataclass(frozen=True)
class Pending:
    id: str
    proxy: str  # the proxy's username
    expires: datetime


def _earliest_birth(birth_date: str) -> date | None:
    """The earliest day a (possibly partial) FHIR birthDate can mean, so that "under 15" is never guessed."""
    parts = birth_date.split("-")
    try:
        return date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        return None


def is_child(birth_date: str | None, today: date) -> bool:
    born = _earliest_birth(birth_date) if birth_date else None
    if born is None:
        return False
    try:
        fifteenth = born.replace(year=born.year + CHILD_UNDER)
    except ValueError:  # born on 29 February
        fifteenth = born.replace(year=born.year + CHILD_UNDER, day=28) + timedelta(days=1)
    return today < fifteenth


def link(tx: Tx, *, proxy: User, patient: str, now: datetime) -> Link:
    """Make ``proxy`` the representative of ``patient``: at once for a child under 15; otherwise pending, with the
    one-time code the represented person confirms with."""
    if proxy.role != Role.PROXY:
        raise InvalidRequest(
            N_("'%(username)s' is a %(role)s, not a proxy account"), username=proxy.username, role=proxy.role
        )
    if acts_for(tx, proxy.username, patient) or patient in _waiting_for(tx, proxy):
        raise Conflict(N_("'%(username)s' already represents this patient"), username=proxy.username)
    stored = tx.current("Patient", patient)
    if stored is None or stored.deleted:
        raise NotFound(N_("Patient/%(patient)s is not known"), patient=patient)
    child = is_child(stored.resource.get("birthDate"), now.date())
    related = {
        "resourceType": "RelatedPerson",
        "active": child,
        "patient": {"reference": f"Patient/{patient}"},
        "identifier": [{"system": USERNAME_SYSTEM, "value": proxy.username}],
        "relationship": [{"coding": [{"system": ROLE_CODES, "code": "PRN" if child else "POWATT"}]}],
    }
    related_id = tx.create(related).stored.id
    if child:
        _set_patient(tx, proxy, patient, unless_acting=True)
        return Link(related_id, active=True)
    code = f"{secrets.randbelow(10**6):06d}"
    tx.execute(
        insert(proxy_code).values(
            partition=tx.region,
            id=new_id(),
            user_id=proxy.id,
            patient=patient,
            related_person=related_id,
            code_hash=hash_password(code),
            expires=instants.to_text(now + CODE_LIFETIME),
            attempts=0,
        )
    )
    return Link(related_id, active=False, code=code)


def pending(tx: Tx, *, patient: str, now: datetime) -> list[Pending]:
    """Requests to represent ``patient`` still waiting for the code."""
    rows = tx.execute(
        select(proxy_code.c.id, proxy_code.c.expires, app_user.c.username)
        .join(app_user, (app_user.c.partition == proxy_code.c.partition) & (app_user.c.id == proxy_code.c.user_id))
        .where(proxy_code.c.partition == tx.region, proxy_code.c.patient == patient,
               proxy_code.c.expires > instants.to_text(now))
        .order_by(proxy_code.c.expires)
    ).all()  # fmt: skip
    return [Pending(row.id, row.username, instants.from_text(row.expires)) for row in rows]


def confirm(tx: Tx, *, patient: str, code: str, now: datetime) -> User | None:
    """The proxy that ``code`` activates for ``patient``, or None. A wrong code counts against every request
    waiting for this patient, and a request is void after MAX_ATTEMPTS wrong codes or when it expires. The
    caller commits either way, so that the count sticks."""
    where = (proxy_code.c.partition == tx.region, proxy_code.c.patient == patient)
    tx.execute(delete(proxy_code).where(*where, proxy_code.c.expires <= instants.to_text(now)))
    rows = tx.execute(select(proxy_code).where(*where)).all()
    code = code.strip()
    match = next((row for row in rows if code.isdigit() and verify_password(row.code_hash, code)), None)
    if match is None:
        if rows:
            tx.execute(update(proxy_code).where(*where).values(attempts=proxy_code.c.attempts + 1))
            tx.execute(delete(proxy_code).where(*where, proxy_code.c.attempts >= MAX_ATTEMPTS))
        return None
    tx.execute(delete(proxy_code).where(*where, proxy_code.c.id == match.id))
    proxy = get_user_by_id(tx.conn, region=tx.region, user_id=match.user_id)
    stored = tx.current("RelatedPerson", match.related_person)
    if proxy is None or stored is None:
        return None
    tx.update({**stored.resource, "active": True})
    _set_patient(tx, proxy, patient, unless_acting=True)
    return get_user_by_id(tx.conn, region=tx.region, user_id=proxy.id)


def represented(tx: Tx, username: str) -> list[str]:
    """The patients the proxy account ``username`` may act for (active links), in the order they were linked (links
    made together, by their ids)."""
    found = tx.search("RelatedPerson", [("identifier", f"{USERNAME_SYSTEM}|{username}"), ("active", "true"),
                                        ("_sort", "_lastUpdated,_id"), ("_count", "50")]).matches  # fmt: skip
    return list(dict.fromkeys(pid for r in found if (pid := ref_id(r.resource.get("patient"), "Patient"))))


def acts_for(tx: Tx, username: str, patient: str) -> bool:
    """Whether the proxy account ``username`` holds an active link to ``patient`` now: asked on every request a
    proxy makes, so that a link the registry desk ends (custody changed, a child turned 15 and took over) ends the
    access with it, whatever the account or a token still says."""
    found = tx.search("RelatedPerson", [("identifier", f"{USERNAME_SYSTEM}|{username}"), ("active", "true"),
                                        ("patient", f"Patient/{patient}"), ("_count", "1")])  # fmt: skip
    return bool(found.matches)


def _waiting_for(tx: Tx, proxy: User) -> set[str]:
    rows = tx.execute(select(proxy_code.c.patient).where(proxy_code.c.partition == tx.region,
                                                         proxy_code.c.user_id == proxy.id)).scalars()  # fmt: skip
    return set(rows)


def act_for(tx: Tx, proxy: User, patient: str) -> None:
    """Move the proxy's account to another person it represents; one it does not represent is not found, as an
    unknown record is."""
    if proxy.role != Role.PROXY or not acts_for(tx, proxy.username, patient):
        raise NotFound(N_("Patient/%(patient)s is not known"), patient=patient)
    _set_patient(tx, proxy, patient)


def _set_patient(tx: Tx, proxy: User, patient: str, *, unless_acting: bool = False) -> None:
    """The account acts for `patient` from now on; `unless_acting`: only when it acts for nobody yet (a parent
    linking a second child goes on acting for the first), decided on the row as it stands, not on a `User` read
    before an earlier link in the same transaction."""
    where = [app_user.c.partition == tx.region, app_user.c.id == proxy.id]
    if unless_acting:
        where.append(app_user.c.patient.is_(None))
    tx.execute(update(app_user).where(*where).values(patient=patient))
