"""A read by id that also says whether the row meets a condition (the access policy's), in one statement."""

from __future__ import annotations

import pytest

from medcity.kit.errors import Gone, NotFound
from medcity.kit.shared_sql import shared
from medcity.store.repository import Store
from medcity.store.schema import resource
from tests.fhir.helpers import observation, patient


def test_the_row_and_whether_it_meets_the_condition(store: Store) -> None:
    mine, other = store.create(patient("Иванов")).id, store.create(patient("Петров")).id
    seen = store.create(observation(mine)).id
    hidden = store.create(observation(other)).id
    cond = shared(resource.c.patient == mine)
    read, meets = store.read_meeting("Observation", seen, cond)
    assert (read.id, read.resource["subject"]["reference"], meets) == (seen, f"Patient/{mine}", True)
    assert store.read_meeting("Observation", hidden, cond)[1] is False
    with pytest.raises(NotFound):
        store.read_meeting("Observation", "no-such-id", cond)
    with store.transaction() as tx:
        tx.delete("Observation", seen)
    with pytest.raises(Gone):
        store.read_meeting("Observation", seen, cond)
