"""The Alembic migrations build exactly the schema the code declares, on both engines: a table, column or index
changed in code without its migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine

from tests.conftest import alembic_config


def test_migrated_database_matches_the_declared_schema(engine: Engine) -> None:
    # `alembic check` raises when autogenerate would write a migration for the migrated database.
    command.check(alembic_config(engine.url.render_as_string(hide_password=False)))
