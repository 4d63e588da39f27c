"""scheduling: the bookings by the time they were requested, with what the situation centre's waits and channels
read of them (specialty, wait, channel), so that the last 30 days of years of bookings are read from the index alone

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sched_appointment_requested", "sched_appointment",
        ["partition", "requested", "specialty", "wait_days", "channel"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_sched_appointment_requested", table_name="sched_appointment")
