from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, create_engine, select

from medcity.ai import service
from medcity.ai.tables import ai_suggestion
from medcity.kit.errors import InvalidRequest, NotFound
from medcity.store.schema import metadata


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection


def shown(*codes: str) -> service.Suggestion:
    items = [
        service.SuggestedCode(code=c, probability=0.5 / (i + 1), display_ru="", display_en="")
        for i, c in enumerate(codes)
    ]
    return service.Suggestion(items=items, confident=True, reason=None, model_version="v1")


def test_record_and_choose(conn: Connection) -> None:
    row_id = service.record_suggestion(
        conn, region="77", suggestion=shown("M54", "G54", "M53"), encounter="Encounter/1", specialty="neurology"
    )
    service.record_choice(conn, region="77", suggestion_id=row_id, chosen_code="m54.5")
    row = conn.execute(select(ai_suggestion)).one()
    assert row.chosen == "M54.5" and row.chosen_at is not None and row.model_version == "v1"
    assert "M54" in row.suggested and "Боли" not in row.suggested


def test_choice_errors(conn: Connection) -> None:
    row_id = service.record_suggestion(conn, region="77", suggestion=shown("M54"))
    with pytest.raises(NotFound):
        service.record_choice(conn, region="78", suggestion_id=row_id, chosen_code="M54")
    with pytest.raises(InvalidRequest):
        service.record_choice(conn, region="77", suggestion_id=row_id, chosen_code="back pain")


def test_accuracy_by_specialty_and_month(conn: Connection) -> None:
    cases = [
        ("neurology", ("M54", "G54", "M53"), "M54"),  # hit@1
        ("neurology", ("M54", "G54", "M53"), "M53.1"),  # hit@3 only
        ("neurology", ("M54", "G54", "M53"), "I10"),  # miss
        ("therapy", ("J06", "J00", "J20"), "J06"),
        ("therapy", ("J06", "J00", "J20"), None),  # no choice yet: not counted
    ]
    for specialty, codes, chosen in cases:
        row_id = service.record_suggestion(conn, region="77", suggestion=shown(*codes), specialty=specialty)
        if chosen:
            service.record_choice(conn, region="77", suggestion_id=row_id, chosen_code=chosen)
    service.record_suggestion(conn, region="50", suggestion=shown("M54"), specialty="neurology")
    groups = service.accuracy_by(conn, region="77")
    assert [(g.key["specialty"], g.n) for g in groups] == [("neurology", 3), ("therapy", 1)]
    neuro = groups[0]
    assert neuro.hit1 == pytest.approx(1 / 3) and neuro.hit3 == pytest.approx(2 / 3)
    assert len(neuro.key["month"] or "") == 7
    overall = service.accuracy_by(conn, region="77", group_by=())
    assert overall[0].n == 4 and overall[0].hit3 == pytest.approx(3 / 4)
    with pytest.raises(InvalidRequest):
        service.accuracy_by(conn, region="77", group_by=("colour",))
