"""`medcity region show | check`: the settings a region gets, and whether a region's own settings file is usable
before a server reads it (how another region adopts medcity: docs/adopting.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medcity.kit.config import get_settings
from medcity.kit.errors import InvalidRequest
from medcity.orders.catalogue import package_mistakes
from medcity.registry.regions import SHIPPED, RegionsFileError, read, region

app = typer.Typer(help="Region settings: show them, check a region's own file.", no_args_is_help=True)


@app.command("show")
def show_command(
    code: str = typer.Option(None, "--region", help="Region code (default: MEDCITY_REGION, the one served)"),
) -> None:
    """Print the settings the region gets, as JSON: the shipped ones with MEDCITY_REGIONS_FILE over them."""
    try:
        settings = region(code or get_settings().region)
    except (RegionsFileError, InvalidRequest) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, indent=2, sort_keys=True))


@app.command("check")
def check_command(path: Path = typer.Argument(..., help="A regions file (TOML, as data/regions.toml)")) -> None:
    """Check a regions file: every mistake with its place, exit status 2 when there is one."""
    try:
        found = read(path)
    except RegionsFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    mistakes = package_mistakes(found)
    if mistakes:
        typer.echo("\n".join(f"{path}: {mistake}" for mistake in mistakes), err=True)
        raise typer.Exit(2)
    replaced = sorted(set(found) & set(read(SHIPPED)))
    typer.echo(f"{path}: {len(found)} region(s) usable: {', '.join(sorted(found))}")
    if replaced:
        typer.echo(f"they replace the shipped settings of: {', '.join(replaced)}")
