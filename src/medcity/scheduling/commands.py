"""`medcity scheduling tick`: the scheduling clock (offers lapse, reminders, notice delivery), for cron."""

from __future__ import annotations

import typer

from medcity.kit.config import get_settings
from medcity.kit.db import make_engine
from medcity.registry.catalogue import ORGANIZATION_KIND_SYSTEM
from medcity.scheduling.publish import publish_schedule, standard_template
from medcity.scheduling.resources import parse_instant
from medcity.scheduling.timer import tick
from medcity.store.repository import Store, StoredResource, Tx

app = typer.Typer(help="Booking: the scheduling clock.", no_args_is_help=True)


@app.callback()
def scheduling() -> None:
    """Booking (a callback keeps `tick` a subcommand while it is the only one)."""


@app.command("tick")
def tick_command(
    now: str | None = typer.Option(None, help="Run as if it were this instant (ISO 8601; default: now)"),
) -> None:
    """Lapse expired waiting-list offers, write the day-before reminders, deliver prepared notices. Idempotent:
    run it every minute."""
    try:
        at = parse_instant(now) if now else None
    except ValueError:
        typer.echo(f"error: --now '{now[:40] if now else ''}' is not an ISO 8601 instant", err=True)
        raise typer.Exit(code=2) from None
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        report = tick(Store(engine, settings.region), now=at)
    finally:
        engine.dispose()
    typer.echo(
        f"offers lapsed {report.offers_lapsed}, reminders {report.reminders}, "
        f"notices delivered {report.delivered}, failed {report.failed}"
    )


def _all(tx: Tx, rtype: str, params: list[tuple[str, str]]) -> list[StoredResource]:
    found: list[StoredResource] = []
    while True:
        page = tx.search(rtype, [*params, ("_sort", "_id"), ("_count", "1000"), ("_offset", str(len(found)))]).matches
        found += page
        if len(page) < 1000:
            return found


@app.command("publish-standard")
def publish_standard() -> None:
    """Publish the standard week (weekdays 08:00-14:00, 15-minute slots, a break at 11:00, every fourth slot an
    emergency reserve) up to the horizon for every doctor of every polyclinic whose PractitionerRole names a
    location and a specialty: schedules for the demo city. Idempotent: run it daily to move the horizon on."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    store = Store(engine, settings.region)
    published = 0
    try:
        with store.reader() as tx:
            polyclinics = [p.id for p in _all(tx, "Organization", [("type", f"{ORGANIZATION_KIND_SYSTEM}|polyclinic")])]
        for organization in polyclinics:
            with store.transaction() as tx:
                for role in _all(tx, "PractitionerRole", [("organization", f"Organization/{organization}")]):
                    template = standard_template(role.resource)
                    if template is not None:
                        published += len(publish_schedule(tx, template=template))
    finally:
        engine.dispose()
    typer.echo(f"polyclinics {len(polyclinics)}, slots published {published}")
