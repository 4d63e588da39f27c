"""Which records of the demo city the demo logins and the demo day stand for: found by search, not assumed, so
any seed works. The demo patient is attached to the demo doctor's polyclinic and has history from more than one
institution, so that logging in as either shows the one-record idea at work."""

from __future__ import annotations

from dataclasses import dataclass

from medcity.registry.catalogue import ORGANIZATION_KIND_SYSTEM
from medcity.store.repository import Tx

# How many attached adults are looked at for one with history from several institutions.
_CANDIDATES = 60


@dataclass(frozen=True)
class DemoCast:
    polyclinic: str | None
    laboratory: str | None
    pharmacy: str | None
    doctor_role: str | None  # PractitionerRole id
    doctor: str | None  # Practitioner id
    hospital: str | None  # where the demo doctor's patients are admitted (the demo hospital's login works there)
    hospital_doctor: str | None  # Practitioner id of a doctor of the hospital
    patient: str | None  # an adult attached to the polyclinic
    child: str | None
    sibling: str | None  # a second child the demo parent represents, to switch between
    attached_adults: list[str]

    @property
    def adults(self) -> list[str]:
        """The demo patient first, then the other attached adults, each once: whom the demo day's bookings, orders
        and prescriptions go to, so that logging in as the demo patient shows them."""
        return [p for p in dict.fromkeys([self.patient, *self.attached_adults]) if p is not None]


def _first(tx: Tx, rtype: str, params: list[tuple[str, str]]) -> str | None:
    found = tx.search(rtype, [*params, ("_count", "1"), ("_sort", "_id")]).matches
    return found[0].id if found else None


def _institutions(tx: Tx, patients: list[str]) -> dict[str, int]:
    """How many institutions wrote each patient's encounters: one search for all of them."""
    if not patients:
        return {}
    encounters = tx.search(
        "Encounter", [("patient", ",".join(f"Patient/{p}" for p in patients)), ("_count", "5000")]
    ).matches
    providers: dict[str, set[str]] = {}
    for found in encounters:
        provider = (found.resource.get("serviceProvider") or {}).get("reference")
        if provider and found.patient:
            providers.setdefault(found.patient, set()).add(provider)
    return {patient: len(names) for patient, names in providers.items()}


def _first_role(tx: Tx, organization: str | None) -> tuple[str | None, str | None]:
    """(PractitionerRole id, Practitioner id) of the organisation's first role."""
    roles = tx.search(
        "PractitionerRole", [("organization", f"Organization/{organization}"), ("_count", "1"), ("_sort", "_id")]
    ).matches
    if not roles or organization is None:
        return None, None
    return roles[0].id, roles[0].resource["practitioner"]["reference"].split("/")[1]


def demo_cast(tx: Tx) -> DemoCast:
    kind = ORGANIZATION_KIND_SYSTEM + "|"
    polyclinic = _first(tx, "Organization", [("type", kind + "polyclinic")])
    doctor_role, doctor = _first_role(tx, polyclinic)
    hospital = _first(tx, "Organization", [("type", kind + "hospital")])
    adults = [
        found.id
        for found in tx.search(
            "Patient",
            [
                ("organization", f"Organization/{polyclinic}"),
                ("birthdate", "lt1990-01-01"),
                ("active", "true"),
                ("_count", str(_CANDIDATES)),
                ("_sort", "_id"),
            ],
        ).matches
    ]
    children = [p.id for p in tx.search("Patient", [("birthdate", "ge2015-01-01"), ("active", "true"),
                                                     ("_sort", "_id"), ("_count", "2")]).matches]  # fmt: skip
    institutions = _institutions(tx, adults)
    patient = next((p for p in adults if institutions.get(p, 0) >= 2), adults[0] if adults else None) or _first(
        tx, "Patient", [("birthdate", "lt1990-01-01"), ("active", "true")]
    )
    return DemoCast(
        polyclinic=polyclinic,
        laboratory=_first(tx, "Organization", [("type", kind + "laboratory")]),
        pharmacy=_first(tx, "Organization", [("type", kind + "pharmacy")]),
        doctor_role=doctor_role,
        doctor=doctor,
        hospital=hospital,
        hospital_doctor=_first_role(tx, hospital)[1],
        patient=patient,
        child=children[0] if children else None,
        sibling=children[1] if len(children) > 1 else None,
        attached_adults=adults,
    )
