from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medcity.auth.policy import Context, decide, scope_grants
from medcity.auth.principal import Principal
from medcity.store.repository import StoredResource


def _stored(rtype: str, patient: str | None) -> StoredResource:
    return StoredResource(type=rtype, id="x", version=1, last_updated="", deleted=False, content=b"{}", patient=patient)


def _who(role: str, scopes: tuple[str, ...] = ("user/*.cruds",), **kwargs: str) -> Principal:
    return Principal(kind="user", username=role, roles=(role,), scopes=scopes, **kwargs)  # type: ignore[arg-type]


PATIENT = _who("patient", ("patient/*.rs",), patient="p1")
OBS_P1, OBS_P2 = _stored("Observation", "p1"), _stored("Observation", "p2")


@pytest.mark.parametrize(
    ("principal", "action", "rtype", "resource", "allowed"),
    [
        (PATIENT, "read", "Observation", OBS_P1, True),
        (PATIENT, "read", "Observation", OBS_P2, False),
        (PATIENT, "search", "Observation", None, True),  # narrowed in SQL
        (PATIENT, "create", "Observation", {"subject": {"reference": "Patient/p1"}}, False),
        (PATIENT, "operation:everything", "Patient", "p1", True),
        (PATIENT, "operation:everything", "Patient", "p2", False),
        (PATIENT, "operation:lastn", "Observation", None, False),
        (PATIENT, "read", "Organization", _stored("Organization", None), True),
        (_who("patient", ("patient/*.rs",)), "search", "Observation", None, False),  # no linked patient
        (_who("analyst", ("user/*.rs",)), "search", "Observation", None, False),
        (_who("analyst", ("user/*.rs",)), "search", "Practitioner", None, True),
        (_who("doctor"), "read", "Observation", OBS_P2, True),  # for the rows in care: see test_care
        (_who("doctor"), "delete", "Observation", OBS_P2, False),
        (_who("doctor", ("user/*.rs",)), "update", "Observation", {}, False),  # the scope narrows the role
        (_who("lab"), "read", "MedicationRequest", _stored("MedicationRequest", "p1"), False),  # deny by default
        (_who("pharmacist"), "read", "MedicationRequest", _stored("MedicationRequest", "p1"), False),
        (_who("pharmacist"), "operation:prescription", "MedicationRequest", None, True),
        (_who("registrar"), "read", "Condition", _stored("Condition", "p1"), False),  # no clinical content
        (_who("analyst"), "operation:everything", "Patient", "p1", False),
        (_who("doctor"), "create", "AuditEvent", {}, False),  # the audit trail is the server's
        (_who("admin"), "delete", "AuditEvent", _stored("AuditEvent", "p1"), False),
        (_who("doctor"), "update", "Consent", {}, False),  # a consent is the patient's
        (
            _who("patient", ("patient/Consent.cru",), patient="p1"),
            "create",
            "Consent",
            {"patient": {"reference": "Patient/p1"}},
            True,
        ),
        (
            _who("patient", ("patient/Consent.cru",), patient="p1"),
            "create",
            "Consent",
            {"patient": {"reference": "Patient/p2"}},
            False,
        ),
        (_who("admin"), "delete", "Observation", OBS_P2, True),
        (_who("system", ("system/Observation.rs",)), "read", "Observation", OBS_P2, True),
        (_who("system", ("system/Observation.rs",)), "read", "Patient", _stored("Patient", "p1"), False),
        (_who("system", ("user/*.cruds",)), "read", "Observation", OBS_P1, False),  # wrong context
        (_who("doctor", ()), "read", "Observation", OBS_P1, False),  # a token with no scope grants nothing
        (Principal(), "delete", "Observation", OBS_P1, True),  # the local operator, auth off
    ],
)
def test_decisions(principal: Principal, action: str, rtype: str, resource: object, allowed: bool) -> None:
    assert decide(principal, action, rtype, resource).allowed is allowed


def test_row_level_rules_are_left_to_sql() -> None:
    # Staff decisions on patient data hold only for the rows the restriction lets through (checked in SQL).
    assert decide(_who("doctor"), "read", "Observation", OBS_P2).rows
    assert decide(_who("lab"), "read", "Observation", OBS_P1).rows
    assert not decide(_who("doctor"), "read", "Organization", _stored("Organization", None)).rows


def test_scope_grammar() -> None:
    assert scope_grants(("patient/Observation.rs",), ("patient",), "s", "Observation")
    assert not scope_grants(("patient/Observation.rs",), ("patient",), "c", "Observation")
    assert scope_grants(("user/*.read",), ("user",), "r", "Condition")  # SMART v1 still understood
    assert not scope_grants(("user/*.rs?category=vital-signs",), ("user",), "r", "Observation")
    assert not scope_grants(("user/*.xyz", "launch", "openid"), ("user",), "r", "Observation")


def test_booking_operations_by_role() -> None:
    patient = Principal(kind="user", roles=("patient",), patient="p1")
    registrar = Principal(kind="user", roles=("registrar",), organization="pc1")
    analyst = Principal(kind="user", roles=("analyst",))
    assert decide(patient, "operation:find", "Appointment").allowed
    assert decide(patient, "operation:book", "Appointment").allowed
    assert decide(patient, "operation:book", "Patient", "p1").allowed  # for themselves
    assert not decide(patient, "operation:book", "Patient", "p2").allowed  # not for another
    assert not decide(patient, "operation:publish", "Schedule").allowed
    assert decide(registrar, "operation:publish", "Schedule").allowed
    assert decide(registrar, "operation:book", "Patient", "p2").allowed
    assert not decide(analyst, "operation:book", "Appointment").allowed


def test_care_and_break_glass_windows_never_start_earlier_than_asked() -> None:
    """The windows start at the next whole minute (so requests share the policy's SQL): a break-glass may end some
    seconds early, never late, and an old record never counts for longer than the care window."""
    now = datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC)
    context = Context(region="77", now=now, break_glass_for=timedelta(hours=1), care_window=timedelta(days=365))
    assert context.glass_since == datetime(2026, 12, 2, 9, 1, tzinfo=UTC)
    assert context.care_since == datetime(2025, 12, 2, 10, 1, tzinfo=UTC)
    for moment in (now, now + timedelta(seconds=29), now + timedelta(seconds=30)):
        later = Context(region="77", now=moment)
        asked = moment - later.break_glass_for
        assert asked <= later.glass_since < asked + timedelta(minutes=1)
        assert moment - later.care_window <= later.care_since
