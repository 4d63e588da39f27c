"""analytics: the morbidity register (each Condition's ICD-10 rubrics and recorded date, each Patient's polyclinic,
birth date and sex), filled from the stored resources' index

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ICD10 = "http://hl7.org/fhir/sid/icd-10"
NOT_A_DIAGNOSIS = ("refuted", "entered-in-error")


def upgrade() -> None:
    op.create_table(
        "morbidity_diagnosis",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("condition", sa.String(length=64), nullable=False),
        sa.Column("rubric", sa.String(length=3), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=False),
        sa.Column("recorded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partition", "condition", "rubric", name="pk_morbidity_diagnosis"),
    )
    op.create_index(
        "ix_morbidity_diagnosis_recorded", "morbidity_diagnosis", ["partition", "recorded", "rubric", "patient"]
    )
    op.create_table(
        "morbidity_person",
        sa.Column("partition", sa.String(length=8), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("born", sa.BigInteger(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("partition", "patient", name="pk_morbidity_person"),
    )
    _fill()


def _fill() -> None:
    """In the database, from the index rows of the stored resources: the rules as they stood when this migration
    was written (medcity.analytics.register keeps the tables from then on)."""
    op.execute(
        sa.text(
            "INSERT INTO morbidity_diagnosis (partition, condition, rubric, patient, recorded) "
            "SELECT r.partition, r.id, upper(substr(code.code, 1, 3)), r.patient, MIN(day.low) "
            "FROM resource r "
            "JOIN idx_token code ON code.partition = r.partition AND code.type = r.type AND code.id = r.id "
            "JOIN idx_date day ON day.partition = r.partition AND day.type = r.type AND day.id = r.id "
            "WHERE r.type = 'Condition' AND r.deleted = :no AND r.patient IS NOT NULL "
            "AND code.param = 'code' AND code.system = :icd10 AND code.code IS NOT NULL AND code.code <> '' "
            "AND day.param = 'recorded-date' "
            "AND NOT EXISTS (SELECT 1 FROM idx_token v WHERE v.partition = r.partition AND v.type = r.type "
            "  AND v.id = r.id AND v.param = 'verification-status' AND v.code IN :excluded) "
            "GROUP BY r.partition, r.id, upper(substr(code.code, 1, 3)), r.patient"
        ).bindparams(sa.bindparam("excluded", NOT_A_DIAGNOSIS, expanding=True), icd10=ICD10, no=False)
    )
    op.execute(
        sa.text(
            "INSERT INTO morbidity_person (partition, patient, organization, born, sex) "
            "SELECT r.partition, r.id, COALESCE(MIN(org.target_id), ''), MIN(born.low), MIN(sex.code) "
            "FROM resource r "
            "LEFT JOIN idx_reference org ON org.partition = r.partition AND org.type = r.type AND org.id = r.id "
            "  AND org.param = 'organization' AND org.target_type = 'Organization' AND length(org.target_id) <= 64 "
            "LEFT JOIN idx_date born ON born.partition = r.partition AND born.type = r.type AND born.id = r.id "
            "  AND born.param = 'birthdate' "
            "LEFT JOIN idx_token sex ON sex.partition = r.partition AND sex.type = r.type AND sex.id = r.id "
            "  AND sex.param = 'gender' AND sex.code <> '' "
            "WHERE r.type = 'Patient' AND r.deleted = :no "
            "GROUP BY r.partition, r.id"
        ).bindparams(no=False)
    )


def downgrade() -> None:
    op.drop_table("morbidity_person")
    op.drop_index("ix_morbidity_diagnosis_recorded", table_name="morbidity_diagnosis")
    op.drop_table("morbidity_diagnosis")
