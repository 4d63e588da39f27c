"""orders: the open orders per performing organisation, for the worklists (filled from the stored orders)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 1_000


def upgrade() -> None:
    table = op.create_table(
        "open_order",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("performer", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("authored", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "id", "performer", "category", name="pk_open_order"),
    )
    with op.batch_alter_table("open_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_order_worklist", ["partition", "performer", "category", "authored", "id"], unique=False
        )
    _fill(table)


def _fill(table: sa.Table) -> None:
    """The orders already stored get their rows, by the same function that keeps them from now on."""
    from medcity.orders.worklist import open_order_rows

    bind = op.get_bind()
    # Streamed (a server-side cursor on PostgreSQL), so a city's orders are not all held in memory at once.
    stored = bind.execute(
        sa.text("SELECT partition, id, content FROM resource WHERE type = 'ServiceRequest' AND deleted = :no"),
        {"no": False},
        execution_options={"stream_results": True},
    )
    while chunk := stored.fetchmany(BATCH):
        rows = [row for r in chunk for row in open_order_rows(r.partition, r.id, orjson.loads(r.content))]
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    with op.batch_alter_table("open_order", schema=None) as batch_op:
        batch_op.drop_index("ix_open_order_worklist")

    op.drop_table("open_order")
