"""`medcity hospital add-ward`: set up a hospital's ward and its beds (Location resources), as an administrator
does once per ward."""

from __future__ import annotations

import typer

from medcity.hospital.codes import BED, PHYSICAL_TYPE, WARD
from medcity.kit.config import get_settings
from medcity.kit.db import make_engine
from medcity.scheduling.resources import ref
from medcity.store.repository import JSON, Store

app = typer.Typer(help="Hospitals: wards and beds.", no_args_is_help=True)


@app.callback()
def hospital() -> None:
    """Hospitals (a callback keeps `add-ward` a subcommand while it is the only one)."""


def _place(name: str, kind: str, organization: str) -> JSON:
    return {"resourceType": "Location", "name": name, "status": "active", "mode": "instance",
            "managingOrganization": ref("Organization", organization),
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": kind}]}}  # fmt: skip


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
            found = tx.current("Organization", organization)
            if found is None or found.deleted:
                typer.echo(f"error: Organization/{organization[:64]} is not known", err=True)
                raise typer.Exit(code=2)
            ward = tx.create(_place(name, WARD, organization)).stored.id
            for number in range(1, beds + 1):
                tx.create({**_place(f"{name}, койка {number}", BED, organization), "partOf": ref("Location", ward)})
    finally:
        engine.dispose()
    typer.echo(ward)
