"""The prescription workflows on both engines: a doctor prescribes (numbered, valid for the region's days, the
patient told), a pharmacy dispenses once; every refusal leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medcity.kit.errors import Conflict, NotFound, Unprocessable
from medcity.prescriptions import rules, service
from medcity.registry.identifiers import OMS_SYSTEM, SNILS_SYSTEM, luhn_control
from medcity.store.repository import Store
from tests.prescriptions.city import build_city, dispense, now, prescribe


def state(store: Store, prescription: str) -> str:
    with store.reader() as tx:
        return str(tx.read("MedicationRequest", prescription).resource["status"])


def dispenses(store: Store) -> int:
    with store.reader() as tx:
        return len(tx.search("MedicationDispense", [("_count", "100")]).matches)


def test_a_prescription_is_numbered_valid_for_the_region_and_told_to_the_patient(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    assert len(number) == 12 and luhn_control(number[:11]) == int(number[11])
    with store.reader() as tx:
        data = tx.read("MedicationRequest", rid).resource
        notices = tx.search("Communication", [("subject", f"Patient/{city.patient}")]).matches
    assert data["status"] == "active" and data["intent"] == "order"
    assert data["medicationCodeableConcept"]["coding"][0]["code"] == "C08CA01"
    assert data["requester"] == {"reference": f"Practitioner/{city.doctor}"}
    assert data["reasonCode"][0]["coding"][0]["code"] == "I10"
    period = data["dispenseRequest"]["validityPeriod"]
    start = rules.local_today(store.region, now())
    assert (period["start"], period["end"]) == (start.isoformat(), (start + timedelta(days=60)).isoformat())
    assert [n.resource["about"] for n in notices] == [[{"reference": f"MedicationRequest/{rid}"}]]
    text = notices[0].resource["payload"][0]["contentString"]
    assert number in text and "Амлодипин 5 мг, таблетки" in text and "СНИЛС" in text


def test_a_pharmacy_dispenses_once_and_the_second_is_told_where_and_when(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    did = dispense(store, city, number)
    assert state(store, rid) == "completed"
    with store.reader() as tx:
        handed = tx.read("MedicationDispense", did).resource
    assert handed["authorizingPrescription"] == [{"reference": f"MedicationRequest/{rid}"}]
    assert handed["performer"][0]["actor"] == {"reference": f"Organization/{city.pharmacies[0]}"}
    assert handed["quantity"]["value"] == 30 and handed["status"] == "completed"
    with pytest.raises(Conflict) as second:
        dispense(store, city, number, pharmacy=1)
    today = now().astimezone(rules.rules_for(store.region).timezone).strftime("%d.%m.%Y")
    assert f"already dispensed on {today} at Аптека № 7" in second.value.diagnostics
    assert "уже отпущен" in second.value.say("ru")
    assert dispenses(store) == 1
    # The patient is told where it was handed over (once: the refused second dispense tells nothing).
    with store.reader() as tx:
        notices = tx.search("Communication", [("subject", f"Patient/{city.patient}")]).matches
    texts = [n.resource["payload"][0]["contentString"] for n in notices]
    told = [text for text in texts if number in text and "отпущен" in text]
    assert len(told) == 1 and f"{today}, аптека: Аптека № 7" in told[0], told


def test_a_prescription_is_dispensed_in_parts_never_beyond_what_it_prescribes(store: Store) -> None:
    """A course collected in parts, at different pharmacies: each part is counted, the last one completes the
    prescription, and no part takes more than is left."""
    city = build_city(store)
    rid, number = prescribe(store, city)  # 30 tablets
    first = dispense(store, city, number, quantity=10)
    assert state(store, rid) == "active"
    with pytest.raises(Unprocessable) as too_much:
        dispense(store, city, number, pharmacy=1, quantity=21)
    assert "21 is more than the 20 left of the 30 prescribed" in too_much.value.diagnostics
    assert "больше, чем осталось к отпуску (20 из выписанных 30)" in too_much.value.say("ru")
    second = dispense(store, city, number, pharmacy=1, quantity=15)
    assert state(store, rid) == "active"
    last = dispense(store, city, number)  # no quantity: all that is left
    assert state(store, rid) == "completed"
    with store.reader() as tx:
        given = [tx.read("MedicationDispense", d).resource["quantity"]["value"] for d in (first, second, last)]
        notices = tx.search("Communication", [("subject", f"Patient/{city.patient}"), ("_count", "100")]).matches
    assert given == [10, 15, 5]
    with pytest.raises(Conflict, match="already dispensed"):
        dispense(store, city, number, quantity=1)
    texts = [n.resource["payload"][0]["contentString"] for n in notices]
    parts = [text for text in texts if text.startswith(f"По рецепту {number}")]
    assert len(parts) == 2 and "отпущено 10 из 30" in parts[0] and "остальное (20) можно получить" in parts[0]
    assert "отпущено 15 из 30" in parts[1] and "остальное (5)" in parts[1]
    assert len([text for text in texts if text.startswith(f"Рецепт {number}") and "отпущен" in text]) == 1


def test_annulling_a_part_gives_it_back_to_the_prescription(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    dispense(store, city, number, quantity=20)
    mistaken = dispense(store, city, number, pharmacy=1, quantity=10)
    assert state(store, rid) == "completed"
    _annul(store, mistaken, "выдан не тот препарат")
    assert state(store, rid) == "active"
    with pytest.raises(Unprocessable, match="11 is more than the 10 left"):
        dispense(store, city, number, quantity=11)
    dispense(store, city, number, quantity=10)
    assert state(store, rid) == "completed"


def test_a_wrong_identifier_is_answered_as_an_unknown_number(store: Store) -> None:
    city = build_city(store)
    _rid, number = prescribe(store, city)
    with pytest.raises(NotFound) as wrong_person:
        dispense(store, city, number, snils=city.other_snils)
    with pytest.raises(NotFound) as unknown:
        dispense(store, city, "000000000000")
    assert wrong_person.value.diagnostics.replace(number, "N") == unknown.value.diagnostics.replace("000000000000", "N")
    with store.reader() as tx:  # the ОМС policy finds it too, the number typed as it is printed
        grouped = f"{number[:4]}-{number[4:8]} {number[8:]}"
        assert service.find(tx, number=grouped, system=OMS_SYSTEM, value=city.oms).resource["status"] == "active"
    assert dispenses(store) == 0


def test_expired_cancelled_and_too_much_are_refused_and_write_nothing(store: Store) -> None:
    city = build_city(store)
    expired, expired_number = prescribe(store, city)
    with store.transaction() as tx:
        data = tx.read("MedicationRequest", expired).resource
        past = (rules.local_today(store.region, now()) - timedelta(days=1)).isoformat()
        data["dispenseRequest"]["validityPeriod"] = {"start": "2020-01-01", "end": past}
        tx.update(data)
    with pytest.raises(Unprocessable, match="expired on"):
        dispense(store, city, expired_number)
    cancelled, cancelled_number = prescribe(store, city)
    with store.transaction() as tx:
        service.cancel(tx, cancelled, now=now())
    with pytest.raises(Unprocessable, match="cancelled by the doctor"):
        dispense(store, city, cancelled_number)
    small, small_number = prescribe(store, city, quantity=10)
    with pytest.raises(Unprocessable, match="11 is more than the 10 prescribed"):
        dispense(store, city, small_number, quantity=11)
    assert dispenses(store) == 0
    assert [state(store, p) for p in (expired, cancelled, small)] == ["active", "cancelled", "active"]
    dispense(store, city, small_number, quantity=10)
    assert state(store, small) == "completed"


def test_a_doctor_cancels_only_what_is_not_dispensed(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    dispense(store, city, number)
    with pytest.raises(Conflict, match="already dispensed"), store.transaction() as tx:
        service.cancel(tx, rid, now=now())
    assert state(store, rid) == "completed"


@pytest.mark.parametrize(
    ("change", "refused"),
    [({"medicine": "X99"}, "not a medicine"), ({"dosage": " "}, "takes the medicine"), ({"quantity": 0}, "from 1"),
     ({"reason": "Q99.99.9"}, "not an ICD-10 code"), ({"patient": "nobody"}, "not known")],
)  # fmt: skip
def test_a_wrong_prescription_is_refused(store: Store, change: dict[str, object], refused: str) -> None:
    city = build_city(store)
    fields: dict[str, object] = {"patient": city.patient, "medicine": "C08CA01", "dosage": "1 раз в день",
                                 "quantity": 30, **change}  # fmt: skip
    with pytest.raises(Unprocessable, match=refused), store.transaction() as tx:
        service.prescribe(tx, service.Draft(**fields), now=now())  # type: ignore[arg-type]
    with store.reader() as tx:
        assert tx.search("MedicationRequest", []).matches == []


def test_days_are_said_on_the_regions_own_day() -> None:
    assert rules.day_text("2026-12-03T22:30:00+00:00", "77") == "04.12.2026"  # 01:30 in Moscow
    assert rules.day_text("2026-12-03T22:30:00Z", "77") == "04.12.2026"
    assert rules.day_text("2026-12-03", "77") == "03.12.2026"
    assert rules.day_text("", "77") == ""


def _annul(store: Store, dispense_id: str, reason: str) -> None:
    with store.transaction() as tx:
        service.annul(tx, dispense_id, reason=reason)


def test_a_dispense_handed_over_by_mistake_is_annulled_and_the_prescription_dispensed_again(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    mistaken = dispense(store, city, number)
    with pytest.raises(Unprocessable, match="Say why"):
        _annul(store, mistaken, "  ")
    assert state(store, rid) == "completed"

    _annul(store, mistaken, "выдан не тот препарат")

    assert state(store, rid) == "active"
    with store.reader() as tx:
        annulled = tx.read("MedicationDispense", mistaken).resource
        notices = tx.search("Communication", [("subject", f"Patient/{city.patient}")]).matches
    assert annulled["status"] == "entered-in-error"
    assert annulled["statusReasonCodeableConcept"] == {"text": "выдан не тот препарат"}
    told = [n.resource["payload"][0]["contentString"] for n in notices if "аннулирован" in
            n.resource["payload"][0]["contentString"]]  # fmt: skip
    assert len(told) == 1 and number in told[0] and "выдан не тот препарат" in told[0]
    # Valid again: another pharmacy dispenses it, once; the annulled dispense stays as it is.
    again = dispense(store, city, number, pharmacy=1)
    assert state(store, rid) == "completed" and again != mistaken
    with pytest.raises(Conflict, match="already annulled"):
        _annul(store, mistaken, "ещё раз")
    with store.transaction() as tx, pytest.raises(Unprocessable, match="annulled dispense cannot be changed"):
        tx_body = {**tx.read("MedicationDispense", mistaken).resource, "status": "completed"}
        service.apply_write_rules(tx, tx_body)


def test_a_dispense_is_annulled_only_within_a_day(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    with store.transaction() as tx:
        found = service.find(tx, number=number, system=SNILS_SYSTEM, value=city.snils)
        body = service.dispense_body(tx, found, pharmacy=city.pharmacies[0], pharmacist=None, quantity=None,
                                     now=now() - timedelta(hours=rules.annul_hours(store.region) + 1))  # fmt: skip
        yesterday = service.dispense(tx, body).id
    with pytest.raises(Unprocessable, match="within 24 hours"):
        _annul(store, yesterday, "ошибка")
    assert state(store, rid) == "completed"
