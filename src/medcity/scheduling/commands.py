"""`medcity scheduling tick`: the scheduling clock (offers lapse, reminders, notice delivery), for cron."""

from __future__ import annotations

import typer

from medcity.kit.config import get_settings
from medcity.kit.db import make_engine
from medcity.scheduling.resources import parse_instant
from medcity.scheduling.timer import tick
from medcity.store.repository import Store

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
