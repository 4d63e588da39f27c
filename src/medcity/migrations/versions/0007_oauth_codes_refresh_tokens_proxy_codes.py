"""auth: OAuth apps (redirect URIs, public clients), client assertion replay guard, authorization codes, refresh
tokens, proxy confirmation codes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 06:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("jwks", existing_type=sa.Text(), nullable=True)
        batch_op.add_column(sa.Column("redirect_uris", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("name", sa.String(length=256), nullable=True))
    op.create_table(
        "oauth_assertion",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "client_id", "jti", name="pk_oauth_assertion"),
    )
    with op.batch_alter_table("oauth_assertion", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_assertion_expires", ["partition", "expires"], unique=False)
    op.create_table(
        "oauth_code",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=True),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("access_jti", sa.String(length=64), nullable=True),
        sa.Column("access_expires", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("partition", "id", name="pk_oauth_code"),
    )
    op.create_table(
        "refresh_token",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=True),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "id", name="pk_refresh_token"),
    )
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.create_index("ix_refresh_token_family", ["partition", "family"], unique=False)
    op.create_table(
        "proxy_code",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=False),
        sa.Column("related_person", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=256), nullable=False),
        sa.Column("expires", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "id", name="pk_proxy_code"),
    )
    with op.batch_alter_table("proxy_code", schema=None) as batch_op:
        batch_op.create_index("ix_proxy_code_patient", ["partition", "patient"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proxy_code", schema=None) as batch_op:
        batch_op.drop_index("ix_proxy_code_patient")
    op.drop_table("proxy_code")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_index("ix_refresh_token_family")
    op.drop_table("refresh_token")
    op.drop_table("oauth_code")
    with op.batch_alter_table("oauth_assertion", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_assertion_expires")
    op.drop_table("oauth_assertion")
    with op.batch_alter_table("oauth_client", schema=None) as batch_op:
        batch_op.drop_column("name")
        batch_op.drop_column("redirect_uris")
        batch_op.alter_column("jwks", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("user_id", existing_type=sa.String(length=64), nullable=False)
