"""The administrators' commands: `medcity hospital add-ward` sets up a ward with its beds, ready for admissions;
`medcity referrals expire` writes `expired` on referrals past their validity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from medcity.hospital import service as hospital
from medcity.referrals import service as referrals
from medcity.store.repository import Store
from tests.referrals.city import City, build_city, refer_to_hospital, utcnow


@pytest.fixture
def city(store: Store) -> City:
    return build_city(store)


def test_add_ward_makes_beds_to_admit_into(medcity_cli: Any, store: Store, city: City) -> None:
    result = medcity_cli("hospital", "add-ward", "--organization", city.hospital, "--name", "Терапия", "--beds", "11")
    assert result.exit_code == 0, result.output
    ward = result.output.strip()
    with store.reader() as tx:
        wards = {w.id: w for w in hospital.wards_of(tx, hospital=city.hospital)}
    assert [b.name for b in wards[ward].beds] == [f"Койка {n}" for n in range(1, 12)]  # 2 before 10, as counted
    with store.transaction() as tx:
        hospital.admit(tx, hospital=city.hospital, bed=wards[ward].beds[0].id, patient=city.patient, now=utcnow())
    assert medcity_cli("hospital", "add-ward", "--organization", "nope", "--name", "X").exit_code == 2


def test_expire_writes_expired_on_old_referrals(medcity_cli: Any, store: Store, city: City) -> None:
    old = refer_to_hospital(store, city, now=utcnow() - timedelta(days=40))
    refer_to_hospital(store, city)
    result = medcity_cli("referrals", "expire")
    assert result.exit_code == 0, result.output
    assert "referrals expired: 1" in result.output
    with store.reader() as tx:
        assert referrals.get(tx, old).resource["status"] == "revoked"
    assert "referrals expired: 0" in medcity_cli("referrals", "expire").output
