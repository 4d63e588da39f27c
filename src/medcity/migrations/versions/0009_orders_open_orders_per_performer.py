"""orders: the open orders per performing organisation, for the worklists (filled from the stored orders' index)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Laboratory test, imaging, diagnostic procedure (SNOMED CT): the worklists' kinds when this was written.
WORKLIST_CATEGORIES = ("108252007", "363679005", "103693007")
SNOMED = "http://snomed.info/sct"
MAX_MS = 253402300799999  # an order without a date sorts last


def upgrade() -> None:
    op.create_table(
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
    _fill()


def _fill() -> None:
    """In the database, from the index rows of the stored orders: the rule as it stood when this migration was
    written (medcity.orders.worklist keeps the table from then on), so that it does not change with later code."""
    op.execute(
        sa.text(
            "INSERT INTO open_order (partition, id, performer, category, authored) "
            "SELECT DISTINCT r.partition, r.id, performer.target_id, category.code, "
            "       COALESCE(authored.low, :undated) "
            "FROM resource r "
            "JOIN idx_token state ON state.partition = r.partition AND state.type = r.type AND state.id = r.id "
            "JOIN idx_reference performer "
            "  ON performer.partition = r.partition AND performer.type = r.type AND performer.id = r.id "
            "JOIN idx_token category "
            "  ON category.partition = r.partition AND category.type = r.type AND category.id = r.id "
            "LEFT JOIN idx_date authored ON authored.partition = r.partition AND authored.type = r.type "
            "  AND authored.id = r.id AND authored.param = 'authored' "
            "WHERE r.type = 'ServiceRequest' AND r.deleted = :no "
            "AND state.param = 'status' AND state.code = 'active' "
            "AND performer.param = 'performer' AND performer.target_type = 'Organization' "
            "AND length(performer.target_id) <= 64 "
            "AND category.param = 'category' AND category.system = :snomed AND category.code IN :categories"
        ).bindparams(
            sa.bindparam("categories", WORKLIST_CATEGORIES, expanding=True),
            undated=MAX_MS,
            snomed=SNOMED,
            no=False,
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("open_order", schema=None) as batch_op:
        batch_op.drop_index("ix_open_order_worklist")

    op.drop_table("open_order")
