"""auth: the OpenID Connect nonce an app sent with its authorization request, echoed in the id_token

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_code", schema=None) as batch_op:
        batch_op.drop_column("nonce")
