"""The database schema for tests and benchmarks: Alembic's configuration over a URL and the upgrade to head.

Kept apart from conftest.py, whose import sets the test-only environment (the check of the server's trusted
writes): a benchmark that needs only the schema must measure the production configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command


def alembic_config(url: str) -> Any:
    """The project's Alembic configuration over ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parents[1] / "src/medcity/migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
