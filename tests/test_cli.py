"""The `medcity` command itself: a database without medcity's tables is said in one line with what to do."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from medcity.cli import main
from medcity.kit.config import get_settings


def test_a_database_without_the_schema_is_said_not_a_traceback(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDCITY_DATABASE_URL", fresh_url)
    monkeypatch.setattr("sys.argv", ["medcity", "token", "--user", "doctor"])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as ended:
            main()
    finally:
        get_settings.cache_clear()
    assert ended.value.code == 1
    said = capsys.readouterr().err
    assert "has no medcity tables yet: run `medcity db upgrade` first" in said and "Traceback" not in said


def test_a_failure_on_a_database_with_the_schema_is_not_called_a_missing_schema(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the database itself says whether its tables are there, not the wording of the error: a query that
    names a table nobody made fails as it is, with its own message."""
    monkeypatch.setenv("MEDCITY_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("sys.argv", ["medcity", "token", "--user", "doctor"])
    broken = DBAPIError("SELECT", {}, Exception('relation "no_such_thing" does not exist'))
    monkeypatch.setattr("medcity.cli.app", lambda: (_ for _ in ()).throw(broken))
    get_settings.cache_clear()
    try:
        with pytest.raises(DBAPIError, match="no_such_thing"):
            main()
    finally:
        get_settings.cache_clear()
