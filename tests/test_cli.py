"""The `medcity` command itself: a database without medcity's tables is said in one line with what to do."""

from __future__ import annotations

import pytest

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
