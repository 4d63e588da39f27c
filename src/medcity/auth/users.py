"""Users, roles and password login: argon2id hashes, failed-login counting and a temporary lockout."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from medcity.auth.tables import app_user
from medcity.kit import instants
from medcity.kit.errors import Conflict, InvalidRequest, Unauthenticated
from medcity.kit.i18n import N_
from medcity.kit.ids import new_id

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" parameters.
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 run and timing tells nothing.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    PATIENT = "patient"
    PROXY = "proxy"
    DOCTOR = "doctor"
    NURSE = "nurse"
    REGISTRAR = "registrar"
    LAB = "lab"
    PHARMACIST = "pharmacist"
    ANALYST = "analyst"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True)
class User:
    id: str
    region: str
    username: str
    role: Role
    practitioner: str | None
    patient: str | None
    organization: str | None
    active: bool

    @property
    def fhir_user(self) -> str | None:
        """The user's own FHIR resource (SMART `fhirUser`): the Patient a patient is, else the Practitioner."""
        if self.role == Role.PATIENT and self.patient:
            return f"Patient/{self.patient}"
        return f"Practitioner/{self.practitioner}" if self.practitioner else None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _instant(moment: datetime) -> str:
    return instants.to_text(moment)


def _to_user(row: Mapping[Any, Any]) -> User:
    return User(
        id=row["id"],
        region=row["partition"],
        username=row["username"],
        role=Role(row["role"]),
        practitioner=row["practitioner"],
        patient=row["patient"],
        organization=row["organization"],
        active=row["active"],
    )


def add_user(
    conn: Connection,
    *,
    region: str,
    username: str,
    role: Role | str,
    password: str | None,
    practitioner: str | None = None,
    patient: str | None = None,
    organization: str | None = None,
    now: datetime,
) -> User:
    """Create a user. `password` None makes an account that cannot log in with a password (system clients)."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidRequest(
            N_("Unknown role '%(role)s'; one of: %(roles)s"),
            role=str(role)[:32],
            roles=", ".join(r.value for r in Role),
        ) from None
    username = username.strip()
    if not username or len(username) > 128:
        raise InvalidRequest(N_("A username must have 1 to 128 characters"))
    # A proxy may start unlinked: `medcity.auth.proxy` links it (at once for a child, after confirmation otherwise).
    if role == Role.PATIENT and not patient:
        raise InvalidRequest(N_("A patient user must be linked to a Patient (--patient)"))
    if patient and practitioner:
        raise InvalidRequest(N_("A user is linked to a Practitioner or to a Patient, not both"))
    if password is not None and len(password) < 8:
        raise InvalidRequest(N_("A password must have at least 8 characters"))
    taken = conn.execute(
        select(app_user.c.id).where(app_user.c.partition == region, app_user.c.username == username)
    ).first()
    if taken:
        raise Conflict(N_("The username '%(username)s' is taken"), username=username)
    row = {
        "partition": region,
        "id": new_id(),
        "username": username,
        "password_hash": hash_password(password) if password is not None else None,
        "role": role.value,
        "practitioner": practitioner,
        "patient": patient,
        "organization": organization,
        "active": True,
        "failed_logins": 0,
        "locked_until": None,
        "created": _instant(now),
    }
    conn.execute(insert(app_user).values(**row))
    return _to_user(row)


def get_user(conn: Connection, *, region: str, username: str) -> User | None:
    row = conn.execute(select(app_user).where(app_user.c.partition == region, app_user.c.username == username)).first()
    return _to_user(row._mapping) if row else None


def get_user_by_id(conn: Connection, *, region: str, user_id: str) -> User | None:
    row = conn.execute(select(app_user).where(app_user.c.partition == region, app_user.c.id == user_id)).first()
    return _to_user(row._mapping) if row else None


def authenticate(conn: Connection, *, region: str, username: str, password: str, now: datetime) -> User:
    """The user when the password is right; otherwise Unauthenticated. Every failure counts, and after
    MAX_FAILURES in a row the account is locked for LOCKOUT, even against the right password."""
    failed = Unauthenticated(N_("Wrong username or password"))
    row = conn.execute(select(app_user).where(app_user.c.partition == region, app_user.c.username == username)).first()
    if row is None or row.password_hash is None:
        verify_password(_DUMMY_HASH, password)
        raise failed
    if not row.active:
        raise Unauthenticated(N_("This account is disabled"))
    if row.locked_until and row.locked_until > _instant(now):
        raise Unauthenticated(N_("Too many failed logins: this account is locked for a while; try again later"))
    where = (app_user.c.partition == region, app_user.c.id == row.id)
    if not verify_password(row.password_hash, password):
        failures = row.failed_logins + 1
        locked = _instant(now + LOCKOUT) if failures >= MAX_FAILURES else None
        # A lockout starts the count afresh, so the next window allows MAX_FAILURES tries again.
        conn.execute(
            update(app_user)
            .where(*where)
            .values(failed_logins=0 if locked else failures, locked_until=locked or row.locked_until)
        )
        raise failed
    if row.failed_logins or row.locked_until:
        conn.execute(update(app_user).where(*where).values(failed_logins=0, locked_until=None))
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(update(app_user).where(*where).values(password_hash=hash_password(password)))
    return _to_user(row._mapping)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
