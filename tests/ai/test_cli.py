from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from medcity.ai.commands import app


def test_eval_prints_one_json_object(tmp_path: Path, dev_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(dev_path.read_text(encoding="utf-8").splitlines(keepends=True)[:40]), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--data", str(sample)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"n", "accuracy", "hit3"}
    assert out["n"] == 40 and 0 <= out["accuracy"] <= out["hit3"] <= 1


def test_help_states_fractions() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0 and "0..1" in result.stdout
