"""`medcity ai ...`: train the diagnosis assistant and measure it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medcity.ai import service
from medcity.ai import train as training

app = typer.Typer(help="Diagnosis assistant: Russian complaint text → ranked ICD-10 codes (RuMedTop3 model).")


@app.command("train")
def train_command(
    seed: int = typer.Option(training.DEFAULT_SEED, help="Random seed (same seed and data → same model)."),
    out: Path = typer.Option(service.MODEL_FILE, help="Where to write the model artifact (.npz)."),
    data_dir: Path = typer.Option(
        training.DEFAULT_DATA_DIR, help="Folder with RuMedTop3 train.jsonl (fit) and dev.jsonl (calibration)."
    ),
    refit: bool = typer.Option(
        True, help="After calibrating, refit on train + dev (--no-refit ships the train-only model)."
    ),
) -> None:
    """Fit on train.jsonl, calibrate on dev.jsonl (dev figures in the report are the train-only model's),
    refit on both, write the artifact; prints a JSON report."""
    report = training.train(data_dir, out, seed=seed, refit=refit)
    typer.echo(json.dumps(report, ensure_ascii=False))


@app.command("eval")
def eval_command(
    data: Path = typer.Option(..., exists=True, dir_okay=False, help="JSON lines with `symptoms` and `code`."),
    model: Path = typer.Option(service.MODEL_FILE, exists=True, dir_okay=False, help="Model artifact."),
) -> None:
    """Print one JSON object {"n", "accuracy", "hit3"}: accuracy = top-1 correct, hit3 = correct code among the
    first three, both as fractions in 0..1."""
    result = training.evaluate(service.load_model(model), training.load_examples(data))
    typer.echo(json.dumps({k: result[k] for k in ("n", "accuracy", "hit3")}))
