"""store: index the reasons of orders and prescriptions (medcity's reason-code and reason-reference parameters),
so that a patient's consent hides an order or prescription whose reason is a denied diagnosis

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TYPES = ("ServiceRequest", "MedicationRequest")
PARAMS = ("reason-code", "reason-reference")
BATCH = 1000


def upgrade() -> None:
    # The stored records are read in Python: their reasons are inside the JSON, which SQLite and PostgreSQL take
    # apart differently. The store's own extraction makes the rows, as a write would have.
    from medcity.store.index import extract
    from medcity.store.schema import INDEX_TABLES

    conn = op.get_bind()
    for batch in _current(conn):
        rows: dict[str, list[dict[str, Any]]] = {}
        for partition, rtype, rid, content in batch:
            for kind, extracted in extract(orjson.loads(content)).items():
                table = INDEX_TABLES[kind]
                columns = table.c.keys()[3:]  # partition, type, id come first
                rows.setdefault(kind, []).extend(
                    {"partition": partition, "type": rtype, "id": rid, **dict(zip(columns, row, strict=True))}
                    for row in extracted
                    if row[0] in PARAMS
                )
        for kind, made in rows.items():
            if made:
                conn.execute(sa.insert(INDEX_TABLES[kind]), made)


def _current(conn: sa.Connection) -> Iterator[list[tuple[str, str, str, bytes]]]:
    resource = sa.table("resource", sa.column("partition"), sa.column("type"), sa.column("id"),
                        sa.column("deleted"), sa.column("content"))  # fmt: skip
    last: tuple[str, str, str] = ("", "", "")
    while True:
        query = (
            sa.select(resource.c.partition, resource.c.type, resource.c.id, resource.c.content)
            .where(resource.c.type.in_(TYPES), resource.c.deleted.is_(False),
                   sa.tuple_(resource.c.partition, resource.c.type, resource.c.id) > sa.tuple_(*last))
            .order_by(resource.c.partition, resource.c.type, resource.c.id)
            .limit(BATCH)
        )  # fmt: skip
        batch = [(row[0], row[1], row[2], bytes(row[3])) for row in conn.execute(query)]
        if not batch:
            return
        yield batch
        last = batch[-1][:3]


def downgrade() -> None:
    for name in ("idx_token", "idx_reference"):
        table = sa.table(name, sa.column("type"), sa.column("param"))
        op.execute(sa.delete(table).where(table.c.type.in_(TYPES), table.c.param.in_(PARAMS)))
