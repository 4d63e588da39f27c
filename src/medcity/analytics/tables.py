"""The morbidity register: what the morbidity figures read, derived from the Conditions and Patients in the
transaction that writes them (`medcity.analytics.register`), so that it never says more than the resources do.

Asked of the search index, a period's diagnoses cost three index lookups each, and the population one row per
patient of three index tables: seconds for a city. Here a period is one index range of (rubric, patient) pairs and
the population one table of a row per patient.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, String, Table

from medcity.store.schema import ID, PARTITION, metadata

# One row per Condition and ICD-10 rubric it codes, while it is a diagnosis (not refuted, not entered in error) of a
# patient and says when it was recorded.
morbidity_diagnosis = Table(
    "morbidity_diagnosis",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("condition", ID, nullable=False),
    Column("rubric", String(3), nullable=False),
    Column("patient", ID, nullable=False),
    Column("recorded", BigInteger, nullable=False),  # epoch milliseconds, as the index keeps instants
    PrimaryKeyConstraint("partition", "condition", "rubric", name="pk_morbidity_diagnosis"),
)
Index("ix_morbidity_diagnosis_recorded", morbidity_diagnosis.c.partition, morbidity_diagnosis.c.recorded,
      morbidity_diagnosis.c.rubric, morbidity_diagnosis.c.patient)  # fmt: skip

# One row per Patient: what the figures group the population by.
morbidity_person = Table(
    "morbidity_person",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("patient", ID, nullable=False),
    Column("organization", String(64), nullable=False),  # the polyclinic attached to, "" for none
    Column("born", BigInteger, nullable=True),  # epoch milliseconds of the birth date's first day
    Column("sex", String(16), nullable=True),
    PrimaryKeyConstraint("partition", "patient", name="pk_morbidity_person"),
)
