from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection, select

from medcity.auth.tables import app_user
from medcity.auth.users import LOCKOUT, MAX_FAILURES, Role, add_user, authenticate
from medcity.kit.errors import Conflict, InvalidRequest, Unauthenticated
from tests.auth.conftest import NOW


def _add(conn: Connection, username: str = "anna", **kwargs: object) -> None:
    defaults: dict[str, object] = {"role": Role.DOCTOR, "password": "correct horse", "practitioner": "pr1"}
    add_user(conn, region="77", username=username, now=NOW, **{**defaults, **kwargs})  # type: ignore[arg-type]


def test_password_is_stored_as_argon2id_and_verifies(write_conn: Connection) -> None:
    _add(write_conn)
    stored = write_conn.execute(select(app_user.c.password_hash).where(app_user.c.partition == "77")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    user = authenticate(write_conn, region="77", username="anna", password="correct horse", now=NOW)
    assert user.role is Role.DOCTOR and user.practitioner == "pr1"


def test_wrong_password_unknown_user_and_other_region_are_refused_alike(write_conn: Connection) -> None:
    _add(write_conn)
    for region, username, password in (
        ("77", "anna", "wrong one"),
        ("77", "nobody", "x"),
        ("78", "anna", "correct horse"),
    ):
        with pytest.raises(Unauthenticated, match="Wrong username or password"):
            authenticate(write_conn, region=region, username=username, password=password, now=NOW)


def test_lockout_after_repeated_failures_then_release(write_conn: Connection) -> None:
    _add(write_conn)
    for _ in range(MAX_FAILURES):
        with pytest.raises(Unauthenticated):
            authenticate(write_conn, region="77", username="anna", password="guess", now=NOW)
    # Locked: even the right password is refused until the lockout ends.
    with pytest.raises(Unauthenticated, match="locked"):
        authenticate(write_conn, region="77", username="anna", password="correct horse", now=NOW)
    later = NOW + LOCKOUT + timedelta(seconds=1)
    assert authenticate(write_conn, region="77", username="anna", password="correct horse", now=later)
    failures = write_conn.execute(
        select(app_user.c.failed_logins, app_user.c.locked_until).where(app_user.c.partition == "77")
    ).one()
    assert tuple(failures) == (0, None)


def test_success_resets_the_failure_count(write_conn: Connection) -> None:
    _add(write_conn)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            authenticate(write_conn, region="77", username="anna", password="guess", now=NOW)
    authenticate(write_conn, region="77", username="anna", password="correct horse", now=NOW)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            authenticate(write_conn, region="77", username="anna", password="guess", now=NOW)
    assert authenticate(write_conn, region="77", username="anna", password="correct horse", now=NOW)


def test_add_user_rules(write_conn: Connection) -> None:
    _add(write_conn)
    with pytest.raises(Conflict):
        _add(write_conn)
    with pytest.raises(InvalidRequest, match="Unknown role"):
        _add(write_conn, "b", role="superuser")
    with pytest.raises(InvalidRequest, match="linked to a Patient"):
        _add(write_conn, "c", role="patient", practitioner=None)
    with pytest.raises(InvalidRequest, match="at least 8"):
        _add(write_conn, "d", password="short")
    _add(write_conn, "e", role="patient", practitioner=None, patient="p1")


def test_account_without_password_cannot_log_in(write_conn: Connection) -> None:
    _add(write_conn, "clinic-x", role="system", password=None, practitioner=None)
    with pytest.raises(Unauthenticated):
        authenticate(write_conn, region="77", username="clinic-x", password="", now=NOW)
