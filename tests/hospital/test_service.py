"""A hospital stay: admission from a referral or by emergency into a bed, transfer, discharge with a signed
summary, the ward view and the polyclinic's follow-up worklist. Refusals leave nothing behind."""

from __future__ import annotations

import pytest

from medcity.hospital import service as hospital
from medcity.hospital.codes import OCCUPIED, UNOCCUPIED
from medcity.kit.errors import Conflict, Unprocessable
from medcity.referrals import service as referrals
from medcity.referrals.codes import BOOKED, COMPLETED
from medcity.store.repository import Store
from tests.referrals.city import City, build_city, refer_to_hospital, utcnow


@pytest.fixture
def city(store: Store) -> City:
    return build_city(store)


def admit(store: Store, city: City, bed: str, **how: str) -> str:
    with store.transaction() as tx:
        return hospital.admit(tx, hospital=city.hospital, bed=bed, now=utcnow(), practitioner=city.surgeon, **how).id


def bed_status(store: Store, bed: str) -> str | None:
    with store.reader() as tx:
        status = tx.read("Location", bed).resource.get("operationalStatus")
    return status["code"] if status else None


def counts(store: Store, *types: str) -> dict[str, int]:
    with store.reader() as tx:
        return {t: len(tx.search(t, [("_count", "1000")]).matches) for t in types}


def discharge(store: Store, city: City, stay: str, *codes: str) -> str:
    summary = hospital.Summary(diagnoses=codes, procedures="Герниопластика", recommendations="Наблюдение хирурга")
    with store.transaction() as tx:
        return hospital.discharge(tx, encounter=stay, summary=summary, hospital=city.hospital,
                                  practitioner=city.surgeon, now=utcnow()).id  # fmt: skip


def test_admission_from_a_referral_takes_the_bed_and_uses_the_referral(store: Store, city: City) -> None:
    referral = refer_to_hospital(store, city)
    stay = admit(store, city, city.beds[0], referral=referral)
    assert bed_status(store, city.beds[0]) == OCCUPIED
    with store.reader() as tx:
        data = tx.read("Encounter", stay).resource
        assert referrals.state_of(tx, referrals.get(tx, referral), now=utcnow()) == BOOKED
    assert (data["class"]["code"], data["status"]) == ("IMP", "in-progress")
    assert data["subject"] == {"reference": f"Patient/{city.patient}"}
    places = [e["location"]["reference"] for e in data["location"]]
    assert places == [f"Location/{city.ward}", f"Location/{city.beds[0]}"]
    with pytest.raises(Conflict, match="already been used"):
        admit(store, city, city.beds[1], referral=referral)  # the same referral twice
    assert bed_status(store, city.beds[1]) is None  # nothing half-saved


def test_an_occupied_bed_is_a_conflict(store: Store, city: City) -> None:
    admit(store, city, city.beds[0], patient=city.patient, reason="S06.0")
    before = counts(store, "Encounter")
    with pytest.raises(Conflict, match="occupied"):
        admit(store, city, city.beds[0], patient=city.other_patient)
    assert counts(store, "Encounter") == before


def test_transfer_moves_the_patient_to_another_bed(store: Store, city: City) -> None:
    stay = admit(store, city, city.beds[0], patient=city.patient)
    with store.transaction() as tx:
        hospital.transfer(tx, encounter=stay, bed=city.beds[1], now=utcnow())
    assert (bed_status(store, city.beds[0]), bed_status(store, city.beds[1])) == (UNOCCUPIED, OCCUPIED)
    with store.reader() as tx:
        wards = hospital.wards_of(tx, hospital=city.hospital)
    beds = [(b.id, b.stay.id if b.stay else None) for b in wards[0].beds]
    assert beds == [(city.beds[0], None), (city.beds[1], stay)]


def test_discharge_signs_the_summary_frees_the_bed_and_completes_the_referral(store: Store, city: City) -> None:
    referral = refer_to_hospital(store, city)
    stay = admit(store, city, city.beds[0], referral=referral)
    summary_id = discharge(store, city, stay, "K40.9", "I10")
    assert bed_status(store, city.beds[0]) == UNOCCUPIED
    with store.reader() as tx:
        summary = tx.read("Composition", summary_id).resource
        encounter = tx.read("Encounter", stay).resource
        assert referrals.state_of(tx, referrals.get(tx, referral), now=utcnow()) == COMPLETED
    assert summary["type"]["coding"][0]["code"] == "18842-5"
    assert summary["status"] == "final" and summary["attester"][0]["mode"] == "legal"
    assert [s["code"]["coding"][0]["code"] for s in summary["section"]] == ["11535-2", "47519-4", "30954-2", "18776-5"]
    assert len(summary["section"][0]["entry"]) == 2
    assert encounter["status"] == "finished" and len(encounter["diagnosis"]) == 2


def test_a_discharge_without_a_diagnosis_is_refused_and_changes_nothing(store: Store, city: City) -> None:
    stay = admit(store, city, city.beds[0], patient=city.patient)
    before = counts(store, "Condition", "Composition")
    with pytest.raises(Unprocessable, match="diagnosis"):
        discharge(store, city, stay)
    with pytest.raises(Unprocessable, match="ICD-10"):
        discharge(store, city, stay, "not-a-code")
    assert counts(store, "Condition", "Composition") == before
    assert bed_status(store, city.beds[0]) == OCCUPIED


def test_the_polyclinic_sees_recent_discharges_and_marks_them_seen(store: Store, city: City) -> None:
    stay = admit(store, city, city.beds[0], patient=city.patient)
    summary = discharge(store, city, stay, "K40.9")
    with store.reader() as tx:
        items = hospital.followup(tx, organization=city.polyclinic, now=utcnow())
        assert hospital.followup(tx, organization=city.hospital, now=utcnow()) == []
    assert [(i.summary.id, i.seen) for i in items] == [(summary, False)]
    for _ in range(2):  # marking twice is one mark
        with store.transaction() as tx:
            hospital.mark_seen(tx, summary=summary, organization=city.polyclinic, practitioner=city.doctor,
                               now=utcnow())  # fmt: skip
    with store.reader() as tx:
        items = hospital.followup(tx, organization=city.polyclinic, now=utcnow())
    assert [(i.summary.id, i.seen) for i in items] == [(summary, True)]
    assert counts(store, "Task") == {"Task": 1}
