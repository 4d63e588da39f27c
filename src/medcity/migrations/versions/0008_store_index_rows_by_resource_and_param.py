"""store: index rows looked up by resource and parameter (the _sort key of each match)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("idx_string", "idx_token", "idx_date", "idx_reference", "idx_quantity", "idx_number", "idx_uri")


def _rid_index(columns: list[str]) -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_rid")
            batch_op.create_index(f"ix_{table}_rid", columns, unique=False)


def upgrade() -> None:
    _rid_index(["partition", "type", "id", "param"])


def downgrade() -> None:
    _rid_index(["partition", "type", "id"])
