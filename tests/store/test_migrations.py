"""The Alembic migrations build exactly the schema the code declares, on both engines: a table, column or index
changed in code without its migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, select

from medcity.kit.db import make_engine
from medcity.store.repository import Store
from medcity.store.schema import idx_reference, idx_token
from tests.schema import alembic_config

ICD10 = "http://hl7.org/fhir/sid/icd-10"


def test_migrated_database_matches_the_declared_schema(engine: Engine) -> None:
    # `alembic check` raises when autogenerate would write a migration for the migrated database.
    command.check(alembic_config(engine.url.render_as_string(hide_password=False)))


def test_the_reasons_of_orders_written_before_their_parameters_are_indexed(fresh_url: str) -> None:
    """Orders and prescriptions stored before medcity indexed their reasons get the rows a write makes now, so that
    a patient's consent hides them (auth.consent) and `reason-code` finds them."""
    command.upgrade(alembic_config(fresh_url), "head")
    engine = make_engine(fresh_url)
    store = Store(engine, "77")
    patient = store.create({"resourceType": "Patient"}).id
    diagnosis = store.create({"resourceType": "Condition", "subject": {"reference": f"Patient/{patient}"},
                              "code": {"coding": [{"system": ICD10, "code": "F20.0"}]}}).id  # fmt: skip
    reason = {"reasonCode": [{"coding": [{"system": ICD10, "code": "F20.0"}]}],
              "reasonReference": [{"reference": f"Condition/{diagnosis}"}]}  # fmt: skip
    store.create({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                  "subject": {"reference": f"Patient/{patient}"}, **reason})  # fmt: skip
    store.create({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                  "subject": {"reference": f"Patient/{patient}"}, "medicationCodeableConcept": {"text": "Х"},
                  **reason})  # fmt: skip

    def reason_rows() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return sorted(
                tuple(row)
                for table in (idx_token, idx_reference)
                for row in conn.execute(select(table).where(table.c.param.in_(("reason-code", "reason-reference"))))
            )

    written = reason_rows()
    assert len(written) == 4
    command.downgrade(alembic_config(fresh_url), "0010")
    assert reason_rows() == []
    command.upgrade(alembic_config(fresh_url), "head")
    assert reason_rows() == written
    with store.reader() as tx:
        assert len(tx.search("MedicationRequest", [("reason-code", f"{ICD10}|F20.0")]).matches) == 1
    engine.dispose()
