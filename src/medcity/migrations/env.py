"""Alembic environment: the tables of the store and of every domain package, on SQLite or PostgreSQL."""

from __future__ import annotations

import importlib

from alembic import context

from medcity.kit.db import make_engine
from medcity.store.schema import metadata

# Domain packages that keep relational tables of their own declare them on the same metadata.
for module in (
    "medcity.ai.tables",
    "medcity.analytics.tables",
    "medcity.auth.tables",
    "medcity.orders.tables",
    "medcity.scheduling.tables",
):
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
