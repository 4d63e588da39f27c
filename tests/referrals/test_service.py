"""The referral lifecycle as the sender and the patient see it, and booking consuming a referral written here."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest

from medcity.kit.errors import Conflict, Unprocessable
from medcity.referrals import service as referrals
from medcity.referrals.codes import BOOKED, CANCELLED, COMPLETED, EXPIRED, INSTITUTION, ISSUED, SPECIALIST
from medcity.registry.catalogue import organization_types
from medcity.scheduling import service as booking
from medcity.scheduling.publish import Session, Template, publish_schedule
from medcity.store.repository import Store
from tests.referrals.city import City, build_city, ref, refer_to_hospital, utcnow


@pytest.fixture
def city(store: Store) -> City:
    return build_city(store)


def state(store: Store, referral: str) -> str:
    with store.reader() as tx:
        return referrals.state_of(tx, referrals.get(tx, referral), now=utcnow())


def publish_cardiologist(store: Store, city: City) -> list[str]:
    """A cardiologist (a referral-only specialty) at the polyclinic, hourly every day from now on."""
    with store.transaction() as tx:
        room = tx.create({"resourceType": "Location", "name": "Кабинет 5"}).stored.id
        role = tx.create({"resourceType": "PractitionerRole", "organization": ref("Organization", city.polyclinic),
                          "practitioner": ref("Practitioner", city.doctor)}).stored.id  # fmt: skip
        sessions = tuple(Session(weekday=d, start=time(8), end=time(20), room=room) for d in range(7))
        template = Template(role=role, organization=city.polyclinic, specialty="cardiologist", sessions=sessions,
                            slot_minutes=60)  # fmt: skip
        return publish_schedule(tx, template=template)


def test_booking_consumes_a_specialist_referral_and_its_state_follows(store: Store, city: City) -> None:
    slots = publish_cardiologist(store, city)
    draft = referrals.Draft(patient=city.patient, kind=SPECIALIST, requester=city.doctor, specialty="cardiologist",
                            organization=city.polyclinic, reasons=("I10",))  # fmt: skip
    with store.transaction() as tx:
        referral = referrals.issue(tx, draft, now=utcnow()).id
    assert state(store, referral) == ISSUED
    with store.transaction() as tx:
        first = booking.book(tx, patient=city.patient, slot_id=slots[0], channel="self", referral=referral)
    assert state(store, referral) == BOOKED
    with pytest.raises(Unprocessable, match="already"), store.transaction() as tx:
        booking.book(tx, patient=city.patient, slot_id=slots[1], channel="self", referral=referral)
    with store.transaction() as tx:
        booking.cancel(tx, appointment_id=first.id)
    assert state(store, referral) == ISSUED  # a cancellation gives it back
    with store.transaction() as tx:
        second = booking.book(tx, patient=city.patient, slot_id=slots[1], channel="self", referral=referral)
        booking.check_in(tx, appointment_id=second.id)
    assert state(store, referral) == COMPLETED


def test_a_referral_to_an_institution_is_completed_once(store: Store, city: City) -> None:
    referral = refer_to_hospital(store, city)
    with store.transaction() as tx:
        referrals.complete(tx, referral, now=utcnow())
    assert state(store, referral) == COMPLETED
    with pytest.raises(Conflict, match="used only once"), store.transaction() as tx:
        referrals.complete(tx, referral, now=utcnow())


def test_the_sender_cancels_an_unused_referral(store: Store, city: City) -> None:
    referral = refer_to_hospital(store, city)
    with store.transaction() as tx:
        referrals.cancel(tx, referral, now=utcnow())
    assert state(store, referral) == CANCELLED
    with pytest.raises(Unprocessable, match="cancelled"), store.transaction() as tx:
        referrals.cancel(tx, referral, now=utcnow())


def test_a_referral_expires_when_its_validity_passes(store: Store, city: City) -> None:
    old = refer_to_hospital(store, city, now=utcnow() - timedelta(days=40))
    fresh = refer_to_hospital(store, city)
    assert state(store, old) == EXPIRED  # read lazily, before anything is written
    with store.transaction() as tx:
        assert referrals.expire_due(tx, now=utcnow()) == [old]
    with store.reader() as tx:
        stored = referrals.get(tx, old)
        assert stored.resource["status"] == "revoked"
        assert referrals.state_of(tx, stored, now=utcnow()) == EXPIRED
    assert state(store, fresh) == ISSUED
    with pytest.raises(Unprocessable, match="expired"), store.transaction() as tx:
        referrals.take_for_admission(tx, old, patient=city.patient, organization=city.hospital, now=utcnow())


def test_the_worklists_of_the_sender_the_receiver_and_the_patient(store: Store, city: City) -> None:
    referral = refer_to_hospital(store, city)
    with store.reader() as tx:
        assert [r.id for r in referrals.sent_by(tx, practitioner=city.doctor)] == [referral]
        assert [r.id for r in referrals.incoming_for(tx, organization=city.hospital)] == [referral]
        assert referrals.incoming_for(tx, organization=city.polyclinic) == []
        assert [r.id for r in referrals.of_patient(tx, patient=city.patient)] == [referral]


def test_a_referral_carries_what_the_hospital_needs(store: Store, city: City) -> None:
    referral = refer_to_hospital(store, city)
    with store.reader() as tx:
        data = referrals.get(tx, referral).resource
    assert data["supportingInfo"] == [{"reference": f"DiagnosticReport/{city.report}"}]
    assert data["reasonCode"][0]["coding"][0]["code"] == "K40.9"
    assert data["performer"] == [{"reference": f"Organization/{city.hospital}"}]
    bad = referrals.Draft(patient=city.patient, kind="hospitalisation", organization=city.hospital, reasons=("XYZ",))
    with pytest.raises(Unprocessable, match="ICD-10"), store.transaction() as tx:
        referrals.issue(tx, bad, now=utcnow())


def test_nobody_is_referred_to_a_pharmacist_or_a_pharmacy_and_nothing_is_written(store: Store, city: City) -> None:
    with store.transaction() as tx:
        pharmacy = tx.create({"resourceType": "Organization", "name": "Аптека № 7",
                              "type": organization_types("pharmacy", "public")}).stored.id  # fmt: skip
    pharmacist = referrals.Draft(patient=city.patient, kind=SPECIALIST, requester=city.doctor, specialty="pharmacist",
                                 reasons=("I10",))  # fmt: skip
    to_pharmacy = referrals.Draft(patient=city.patient, kind=INSTITUTION, requester=city.doctor,
                                  organization=pharmacy, reasons=("I10",))  # fmt: skip
    for draft, reason in ((pharmacist, "sees no patients"), (to_pharmacy, "Аптека № 7 receives no referrals")):
        with pytest.raises(Unprocessable, match=reason), store.transaction() as tx:
            referrals.issue(tx, draft, now=utcnow())
    with store.reader() as tx:
        assert tx.search("ServiceRequest", [("patient", f"Patient/{city.patient}")]).matches == []
    # A receiving organisation of another system, without medcity's kind, still receives them.
    with store.transaction() as tx:
        referrals.issue(tx, replace(to_pharmacy, organization=city.hospital), now=utcnow())
