"""The feedback log: what the assistant suggested and what the doctor finally chose, so that Hit@1 and Hit@3 can
be measured in production by specialty and month. The complaint text is deliberately not stored (privacy): the
codes, their probabilities and the model version are enough to measure the model."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, Index, PrimaryKeyConstraint, String, Table, Text, select, update
from sqlalchemy.engine import Connection

from medcity.kit.errors import InvalidRequest, NotFound
from medcity.kit.ids import new_id
from medcity.store.schema import metadata

if TYPE_CHECKING:
    from medcity.ai.service import Suggestion

ai_suggestion = Table(
    "ai_suggestion",
    metadata,
    Column("partition", String(8), nullable=False),
    Column("id", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("encounter", String(128), nullable=True),  # FHIR reference, e.g. "Encounter/123"
    Column("practitioner", String(128), nullable=True),
    Column("specialty", String(64), nullable=True),
    Column("suggested", Text, nullable=False),  # JSON: [{"code": "M54", "probability": 0.61}, ...] best first
    Column("chosen", String(8), nullable=True),
    Column("chosen_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("partition", "id", name="pk_ai_suggestion"),
)
Index("ix_ai_suggestion_created", ai_suggestion.c.partition, ai_suggestion.c.created)

_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
GROUPS = ("specialty", "month", "practitioner", "model_version")


@dataclass(frozen=True)
class AccuracyGroup:
    key: dict[str, str | None]
    n: int
    hit1: float
    hit3: float


def record_suggestion(
    conn: Connection,
    *,
    region: str,
    suggestion: Suggestion,
    encounter: str | None = None,
    practitioner: str | None = None,
    specialty: str | None = None,
) -> str:
    """Store what was shown; returns the new row's id (hand it back with `record_choice`)."""
    row_id = new_id()
    ranked = [{"code": i.code, "probability": round(i.probability, 6)} for i in suggestion.items]
    conn.execute(
        ai_suggestion.insert().values(
            partition=region,
            id=row_id,
            created=datetime.now(UTC),
            model_version=suggestion.model_version,
            encounter=encounter,
            practitioner=practitioner,
            specialty=specialty,
            suggested=json.dumps(ranked),
        )
    )
    return row_id


def record_choice(conn: Connection, *, region: str, suggestion_id: str, chosen_code: str) -> None:
    """Store the doctor's final code (three characters or a subcategory such as M54.5); a later call overwrites."""
    code = chosen_code.strip().upper()
    if not _ICD10.match(code):
        raise InvalidRequest(f"{chosen_code!r} is not an ICD-10 code")
    result = conn.execute(
        update(ai_suggestion)
        .where(ai_suggestion.c.partition == region, ai_suggestion.c.id == suggestion_id)
        .values(chosen=code, chosen_at=datetime.now(UTC))
    )
    if result.rowcount == 0:
        raise NotFound(f"no suggestion {suggestion_id!r} in region {region!r}")


def accuracy_by(
    conn: Connection, *, region: str, group_by: Sequence[str] = ("specialty", "month")
) -> list[AccuracyGroup]:
    """Hit@1 and Hit@3 (fractions 0..1) over the suggestions that have a choice, per group, sorted by key.

    Matching is on the three-character category: a suggestion M54 is a hit for a final M54.5. Grouping happens
    here rather than in SQL because month extraction and JSON differ between SQLite and PostgreSQL.
    """
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise InvalidRequest(f"cannot group by {unknown}; choose from {list(GROUPS)}")
    t = ai_suggestion
    rows = conn.execute(
        select(t.c.created, t.c.model_version, t.c.practitioner, t.c.specialty, t.c.suggested, t.c.chosen).where(
            t.c.partition == region, t.c.chosen.is_not(None)
        )
    )
    tally: dict[tuple[str | None, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        fields: dict[str, Any] = {
            "specialty": row.specialty,
            "practitioner": row.practitioner,
            "model_version": row.model_version,
            "month": row.created.strftime("%Y-%m"),
        }
        ranked = [item["code"] for item in json.loads(row.suggested)]
        counts = tally[tuple(fields[g] for g in group_by)]
        counts[0] += 1
        counts[1] += ranked[:1] == [row.chosen[:3]]
        counts[2] += row.chosen[:3] in ranked[:3]
    return [
        AccuracyGroup(key=dict(zip(group_by, key, strict=True)), n=n, hit1=h1 / n, hit3=h3 / n)
        for key, (n, h1, h3) in sorted(tally.items(), key=lambda kv: tuple(str(k) for k in kv[0]))
    ]
