"""Keeps the morbidity register (`medcity.analytics.tables`) in step with every write of a Condition or a Patient,
whichever door it comes through: registered with `medcity.kit.hooks.after_write`. Rows are read off the version's
search index rows, as the store extracted them."""

from __future__ import annotations

from sqlalchemy import and_

from medcity.analytics.tables import morbidity_diagnosis, morbidity_person
from medcity.kit.hooks import after_write
from medcity.store.index import IndexRows
from medcity.store.repository import JSON, StoredResource, Tx, Version
from medcity.terminology.catalogue import SYSTEM_URL as ICD10

NOT_A_DIAGNOSIS = frozenset({"refuted", "entered-in-error"})
_MAX_ID = 64


def diagnosis_rows(region: str, stored: StoredResource, index: IndexRows) -> list[JSON]:
    """A Condition's rows: one per ICD-10 rubric it codes, when it is a patient's diagnosis with a recorded date."""
    if stored.deleted or not stored.patient:
        return []
    tokens = index.get("token", ())
    if any(row[0] == "verification-status" and row[2] in NOT_A_DIAGNOSIS for row in tokens):
        return []
    recorded = [low for param, low, _high in index.get("date", ()) if param == "recorded-date"]
    rubrics = sorted({str(row[2])[:3].upper() for row in tokens if row[0] == "code" and row[1] == ICD10 and row[2]})
    return [
        {"partition": region, "condition": stored.id, "rubric": rubric, "patient": stored.patient,
         "recorded": min(recorded)}
        for rubric in rubrics if recorded
    ]  # fmt: skip


def person_rows(region: str, stored: StoredResource, index: IndexRows) -> list[JSON]:
    """A Patient's row: the polyclinic it is attached to, its birth date and sex."""
    if stored.deleted:
        return []
    organizations = sorted(
        target for param, kind, target in index.get("reference", ())
        if param == "organization" and kind == "Organization" and len(target) <= _MAX_ID
    )  # fmt: skip
    born = [low for param, low, _high in index.get("date", ()) if param == "birthdate"]
    sexes = sorted(str(row[2]) for row in index.get("token", ()) if row[0] == "gender" and row[2])
    return [{"partition": region, "patient": stored.id, "organization": organizations[0] if organizations else "",
             "born": min(born) if born else None, "sex": sexes[0] if sexes else None}]  # fmt: skip


def keep_diagnoses(tx: Tx, stored: StoredResource, index: IndexRows, previous: Version | None) -> None:
    table = morbidity_diagnosis
    mine = and_(table.c.partition == tx.region, table.c.condition == stored.id)
    old = diagnosis_rows(tx.region, *previous) if previous else []
    tx.replace_rows(table, mine, old, diagnosis_rows(tx.region, stored, index))


def keep_person(tx: Tx, stored: StoredResource, index: IndexRows, previous: Version | None) -> None:
    table = morbidity_person
    mine = and_(table.c.partition == tx.region, table.c.patient == stored.id)
    old = person_rows(tx.region, *previous) if previous else []
    tx.replace_rows(table, mine, old, person_rows(tx.region, stored, index))


after_write("Condition")(keep_diagnoses)
after_write("Patient")(keep_person)
