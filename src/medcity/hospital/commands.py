"""`medcity hospital add-ward`: set up a hospital's ward and its beds (Location resources), as an administrator
does once per ward."""

from __future__ import annotations

import typer

from medcity.hospital import service
from medcity.kit.config import get_settings
from medcity.kit.db import make_engine
from medcity.kit.errors import NotFound
from medcity.store.repository import Store

app = typer.Typer(help="Hospitals: wards and beds.", no_args_is_help=True)


@app.callback()
def hospital() -> None:
    """Hospitals (a callback keeps `add-ward` a subcommand while it is the only one)."""


@app.command("add-ward")
def add_ward(
    organization: str = typer.Option(..., help="The hospital's Organization id"),
    name: str = typer.Option(..., help="The ward's name"),
    beds: int = typer.Option(10, min=1, max=500, help="How many beds"),
) -> None:
    """Create a ward of the hospital and its beds; prints the ward's Location id."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with Store(engine, settings.region).transaction() as tx:
            ward = service.add_ward(tx, hospital=organization, name=name, beds=beds)
    except NotFound as exc:
        typer.echo(f"error: {exc.diagnostics}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    typer.echo(ward)
