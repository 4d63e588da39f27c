"""The situation centre's booking figures: waits by specialty (median, 90th percentile, share within a week), the
first free time, how full each polyclinic's coming week is, the waiting list and the booking channels; and the page
that shows them to analysts only, without any patient."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from medcity.auth.users import Role
from medcity.scheduling import inventory, service, waiting
from medcity.scheduling.resources import utcnow
from medcity.scheduling.situation import situation, situation_parameters
from medcity.store.repository import Store
from tests.scheduling.conftest import add_patient, add_referral
from tests.scheduling.pages_city import login

Client = Any


def _book_days_ahead(store: Store, slots: list[str], days: list[int], channel: str, referred: str = "") -> None:
    """One new patient per booking (with a referral to `referred`, when given), each into the first free slot that
    begins at least `days` days from now."""
    now = utcnow()
    with store.transaction() as tx:
        starts = {sid: inventory.get_slot(tx, sid).start for sid in slots}
        for n, ahead in enumerate(days):
            slot = min((sid for sid, start in starts.items() if start >= now + timedelta(days=ahead)),
                       key=lambda sid: starts[sid])  # fmt: skip
            del starts[slot]
            patient = add_patient(tx, f"w-{channel}-{n}", organization="pc1")
            referral = add_referral(tx, patient=patient, specialty=referred) if referred else None
            service.book(tx, patient=patient, slot_id=slot, channel=channel, referral=referral, now=now)


def test_waits_first_free_time_load_waiting_list_and_channels(store: Store, live: dict[str, list[str]]) -> None:
    _book_days_ahead(store, live["ther1"], [0, 1, 1, 2, 9], channel="self")
    _book_days_ahead(store, live["card1"], [3, 10], channel="registry", referred="cardiologist")
    with store.transaction() as tx:
        waiting.join_waiting_list(tx, patient=add_patient(tx, "queued", organization="pc1"), specialty="cardiologist")

    with store.reader() as tx:
        figures = situation(tx, now=utcnow(), period_days=30, ahead_days=7)

    waits = {w.specialty: w for w in figures.waits}
    therapist, cardiologist = waits["therapist-district"], waits["cardiologist"]
    assert (therapist.bookings, therapist.median_days, therapist.p90_days) == (5, 1, 9)
    assert therapist.within_7_days == 0.8
    assert (cardiologist.bookings, cardiologist.median_days, cardiologist.p90_days) == (2, 3, 10)
    assert [w.specialty for w in figures.waits] == ["cardiologist", "therapist-district"]  # the longest waits first
    assert figures.first_free_days == {"therapist-district": 0, "cardiologist": 0}  # hourly slots from now on
    assert figures.waiting_list == {"cardiologist": 1}
    assert figures.channels == {"self": 5, "registry": 2}
    load = {row.key: row for row in figures.load}
    taken_pc1 = 4 + 1  # the therapist's bookings within 7 days, and the cardiologist's
    assert load["pc1"].taken == taken_pc1 and load["pc2"].taken == 0
    assert load["pc1"].slots == 2 * load["pc2"].slots  # two doctors publish at pc1, one at pc2
    assert figures.load[0].key == "pc1"  # the fullest first
    by_specialty = {row.key: row for row in figures.specialty_load}
    assert by_specialty["therapist-district"].taken == 4 and by_specialty["cardiologist"].taken == 1
    doctors = {row.key: row for row in figures.doctor_load}
    assert doctors["ther1"].taken == 4 and doctors["ther1"].organization == "pc1"
    assert doctors["ther1"].specialty == "therapist-district" and figures.doctor_load[0].key == "ther1"
    # The same figures as Appointment/$booking-situation answers them.
    answer = situation_parameters(figures, period_days=30, ahead_days=7)["parameter"]
    waits = {p["part"][0]["valueCoding"]["code"]: {q["name"]: q for q in p["part"]} for p in answer
             if p["name"] == "waits"}  # fmt: skip
    assert waits["therapist-district"]["bookings"]["valueInteger"] == 5
    assert waits["therapist-district"]["specialty"]["valueCoding"]["display"] == "Участковый терапевт"
    assert waits["cardiologist"]["p90Days"]["valueInteger"] == 10
    assert {"name": "channel", "part": [{"name": "code", "valueCode": "registry"},
                                        {"name": "bookings", "valueInteger": 2}]} in answer  # fmt: skip


def test_the_page_is_for_analysts_and_names_no_patient(
    client: Client, store: Store, live: dict[str, list[str]]
) -> None:
    _book_days_ahead(store, live["ther1"], [2], channel="self")
    login(client, "doc", Role.DOCTOR, organization="pc1")
    assert client.get("/analytics/booking").status_code == 403
    login(client, "stat", Role.ANALYST)
    page = client.get("/analytics/booking", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert "Ожидание приёма" in page.text and "Участковый терапевт" in page.text
    assert 'data-channel="self"' in page.text and "сам пациент онлайн: 1" in page.text
    assert "Самые загруженные врачи" in page.text and 'data-role="ther1"' in page.text
    assert "w-self-0" not in page.text and "Patient/" not in page.text
