"""auth: care links, who treats whom and who opened whose record by break-glass (filled from the search index)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The rule as it stood when this migration was written (medcity.auth.care_links keeps it from then on).
MAX_MS = 253402300799999
CARE_PARAMS = {
    "Appointment": ("actor", "practitioner"),
    "Encounter": ("participant", "practitioner", "service-provider"),
    "ServiceRequest": ("requester", "performer"),
}
CARE_DATES = ("date", "authored", "occurrence")
ACTORS = ("Organization", "Practitioner", "PractitionerRole")
BREAK_GLASS_TAG = "urn:medcity:audit"


def upgrade() -> None:
    op.create_table(
        "care_link",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "source_type", "source_id", "actor", name="pk_care_link"),
    )
    _fill()
    with op.batch_alter_table("care_link", schema=None) as batch_op:
        batch_op.create_index("ix_care_link_actor", ["partition", "actor", "until", "patient"], unique=False)
        batch_op.create_index("ix_care_link_patient", ["partition", "patient", "actor", "until"], unique=False)


def _fill() -> None:
    """In the database, from the index rows of the stored records (a city's are not carried through Python)."""
    op.execute(
        "INSERT INTO care_link (partition, source_type, source_id, actor, patient, until) "
        "SELECT DISTINCT partition, 'Patient', id, 'Organization/' || target_id, id, "
        f"{MAX_MS} FROM idx_reference WHERE type = 'Patient' AND param = 'organization' "
        "AND target_type = 'Organization' AND length(target_id) <= 64"
    )
    for rtype, params in CARE_PARAMS.items():
        op.execute(
            sa.text(
                "INSERT INTO care_link (partition, source_type, source_id, actor, patient, until) "
                "SELECT DISTINCT r.partition, r.type, r.id, ref.target_type || '/' || ref.target_id, "
                "       r.patient, d.until "
                "FROM resource r "
                "JOIN idx_reference ref ON ref.partition = r.partition AND ref.type = r.type AND ref.id = r.id "
                "JOIN (SELECT partition, id, max(high) AS until FROM idx_date "
                "      WHERE type = :rtype AND param IN :dates GROUP BY partition, id) d "
                "  ON d.partition = r.partition AND d.id = r.id "
                "WHERE r.type = :rtype AND r.deleted = :no AND r.patient IS NOT NULL "
                "AND ref.param IN :params AND ref.target_type IN :actors AND length(ref.target_id) <= 64"
            ).bindparams(
                sa.bindparam("dates", CARE_DATES, expanding=True),
                sa.bindparam("params", params, expanding=True),
                sa.bindparam("actors", ACTORS, expanding=True),
                rtype=rtype,
                no=False,
            )
        )

    op.execute(
        sa.text(
            "INSERT INTO care_link (partition, source_type, source_id, actor, patient, until) "
            "SELECT DISTINCT ev.partition, ev.type, ev.id, 'User/' || who.code, ev.patient, d.until "
            "FROM resource ev "
            "JOIN idx_token tag ON tag.partition = ev.partition AND tag.type = ev.type AND tag.id = ev.id "
            "JOIN idx_token who ON who.partition = ev.partition AND who.type = ev.type AND who.id = ev.id "
            "JOIN (SELECT partition, id, max(low) AS until FROM idx_date "
            "      WHERE type = 'AuditEvent' AND param = 'date' GROUP BY partition, id) d "
            "  ON d.partition = ev.partition AND d.id = ev.id "
            "WHERE ev.type = 'AuditEvent' AND ev.deleted = :no AND ev.patient IS NOT NULL "
            "AND tag.param = '_tag' AND tag.system = :tag AND tag.code = 'break-glass' "
            "AND who.param = 'altid' AND who.code IS NOT NULL AND who.code <> ''"
        ).bindparams(tag=BREAK_GLASS_TAG, no=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("care_link", schema=None) as batch_op:
        batch_op.drop_index("ix_care_link_patient")
        batch_op.drop_index("ix_care_link_actor")
    op.drop_table("care_link")
