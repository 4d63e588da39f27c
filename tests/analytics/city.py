"""A small region with a known morbidity, in the period 1–28 November 2026 and the 28 days before.

pc1 has ten women of 30 (w0…w9), pc2 four boys of 5 (b0…b3); one more patient has no polyclinic, birth date or
sex (u0). Acute upper respiratory infection (J06): w0–w5, b0–b3 and u0 in the period (11), w6–w8 before (3), so it
is rising. Hypertension (I10): w8 and w9 in the period, w9 before: too few to show. What must not count: w0's second
J06 and its J20 (w0 counts once per rubric and once in chapter X), a refuted E11, a deleted K29, a J06 recorded
before both periods and one recorded after the period."""

from __future__ import annotations

from datetime import date

from medcity.store.repository import Store, Tx

START, END = date(2026, 11, 1), date(2026, 11, 28)
ICD10 = "http://hl7.org/fhir/sid/icd-10"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _patient(tx: Tx, rid: str, *, organization: str | None, born: str | None, sex: str | None) -> None:
    body: dict[str, object] = {"resourceType": "Patient", "name": [{"family": rid}]}
    if organization:
        body["managingOrganization"] = {"reference": f"Organization/{organization}"}
    if born:
        body["birthDate"] = born
    if sex:
        body["gender"] = sex
    tx.create(body, rid=rid)


def _condition(tx: Tx, patient: str, code: str, when: str, *, verification: str = "confirmed") -> str:
    return tx.create({
        "resourceType": "Condition", "subject": {"reference": f"Patient/{patient}"},
        "code": {"coding": [{"system": ICD10, "code": code}]}, "recordedDate": when,
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
    }).stored.id  # fmt: skip


def build(store: Store) -> None:
    with store.transaction() as tx:
        for org, name in (("pc1", "Поликлиника № 1"), ("pc2", "Детская поликлиника № 2")):
            tx.create({"resourceType": "Organization", "name": name}, rid=org)
        for n in range(10):
            _patient(tx, f"w{n}", organization="pc1", born="1996-06-01", sex="female")
        for n in range(4):
            _patient(tx, f"b{n}", organization="pc2", born="2021-05-01", sex="male")
        _patient(tx, "u0", organization=None, born=None, sex=None)
        for patient in ("w0", "w1", "w2", "w3", "w4", "w5", "b0", "b1", "b2", "u0"):
            _condition(tx, patient, "J06.9", "2026-11-10T10:00:00+03:00")
        # Just after midnight of the 1st in Moscow, still 31 October in UTC: the region's own day counts.
        _condition(tx, "b3", "J06.9", "2026-11-01T01:00:00+03:00")
        _condition(tx, "w0", "J06.0", "2026-11-20T09:00:00+03:00")
        _condition(tx, "w0", "J20.9", "2026-11-20T09:00:00+03:00")
        for patient in ("w6", "w7", "w8"):
            _condition(tx, patient, "J06.9", "2026-10-15T10:00:00+03:00")
        _condition(tx, "w6", "J06.9", "2026-09-01T10:00:00+03:00")  # before both periods
        _condition(tx, "w9", "J06.9", "2026-11-29T00:30:00+03:00")  # after the period
        _condition(tx, "w8", "I10", "2026-11-05")
        _condition(tx, "w9", "I10", "2026-11-28T23:30:00+03:00")
        _condition(tx, "w9", "I10", "2026-10-20")
        _condition(tx, "w8", "E11.9", "2026-11-05", verification="refuted")
        deleted = _condition(tx, "w9", "K29.7", "2026-11-05")
        tx.delete("Condition", deleted)
