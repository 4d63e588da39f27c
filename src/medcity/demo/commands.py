"""`medcity demo ...`: seed the synthetic city (mounted by the project's cli)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from enum import StrEnum

import typer

from medcity.demo.lab_day import order_demo_tests
from medcity.demo.prescriptions import prescribe_demo
from medcity.demo.region_bookings import book_demo_requests
from medcity.demo.seed import seed as seed_city
from medcity.demo.today import book_demo_day
from medcity.demo.wards import open_demo_wards
from medcity.kit.config import get_settings
from medcity.kit.db import make_engine
from medcity.kit.errors import MedcityError
from medcity.store.repository import Store

app = typer.Typer(help="The synthetic demo city.", no_args_is_help=True)


@app.callback()
def demo() -> None:
    """The synthetic demo city (a callback keeps `seed` a subcommand even while it is the only one)."""


class ScaleName(StrEnum):
    small = "small"
    city = "city"


class RegionCode(StrEnum):
    moscow = "77"
    st_petersburg = "78"


@app.command()
def seed(
    scale: ScaleName = typer.Option(ScaleName.small, help="small: ~2,000 patients; city: ~200,000"),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same city"),
    region: RegionCode = typer.Option(RegionCode.moscow, help="Region (partition) to seed"),
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Last day of the two years of history (default: today)"
    ),
    force: bool = typer.Option(False, "--force", help="Seed even if the region already holds resources"),
    database_url: str = typer.Option(None, "--database-url", help="Default: MEDCITY_DATABASE_URL"),
    workers: int = typer.Option(
        os.cpu_count() or 1, "--workers", min=1, help="Writer processes on PostgreSQL (SQLite writes from one)"
    ),
) -> None:
    """Generate the demo city and load it into the database."""
    engine = make_engine(database_url or get_settings().database_url)
    try:
        report = seed_city(
            Store(engine, region.value),
            scale=scale.value,
            seed=seed,
            region=region.value,
            as_of=as_of.date() if as_of else date.today(),
            allow_non_empty=force,
            workers=workers,
        )
    except MedcityError as exc:
        typer.echo(f"error: {exc.diagnostics}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{rtype} {n}" for rtype, n in sorted(report.counts.items()))
    typer.echo(f"region {report.region}: {report.total} resources ({counts}); {len(report.duplicates)} duplicates")


@app.command()
def day(count: int = typer.Option(8, min=1, max=40, help="Appointments wanted on the day")) -> None:
    """Book patients into the demo doctor's next working day (after `medcity scheduling publish-standard`), so the
    doctor's day list has people in it, and give the demo laboratory open orders of that doctor's patients, so its
    worklist has samples to receive, the demo hospital wards to admit into (once), a few of the doctor's
    patients an active prescription for the demo pharmacy, and the region a day's booking requests for the situation
    centre (unless the last 30 days already have them). Idempotent for a day already filled, for patients still
    awaiting results and for patients who hold an active prescription."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        store = Store(engine, settings.region)
        booked = book_demo_day(store, now=datetime.now(UTC), count=count)
        requested = book_demo_requests(store, now=datetime.now(UTC))
        ordered = order_demo_tests(store)
        wards = open_demo_wards(store)
        prescribed = prescribe_demo(store, now=datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(f"demo doctor's day: {booked} appointments booked; demo laboratory: {ordered} requisitions placed; "
               f"demo hospital: {wards} wards opened")  # fmt: skip
    typer.echo(f"demo pharmacy: {prescribed} new prescriptions to dispense; the region: {requested} bookings "
               "requested today")  # fmt: skip
