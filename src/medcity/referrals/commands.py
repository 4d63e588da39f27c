"""`medcity referrals expire`: write `expired` on referrals whose validity has passed, for cron. (Lists and pages
already read an unused referral past its validity as expired; this makes FHIR `status` say so too.)"""

from __future__ import annotations

import typer

from medcity.kit.config import get_settings
from medcity.kit.db import make_engine
from medcity.referrals.service import expire_due
from medcity.scheduling.resources import utcnow
from medcity.store.repository import Store

app = typer.Typer(help="Referrals: the expiry clock.", no_args_is_help=True)


@app.callback()
def referrals() -> None:
    """Referrals (a callback keeps `expire` a subcommand while it is the only one)."""


@app.command("expire")
def expire_command() -> None:
    """Revoke, as expired, every active referral unused past its validity. Idempotent: run it daily."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with Store(engine, settings.region).transaction() as tx:
            expired = expire_due(tx, now=utcnow())
    finally:
        engine.dispose()
    typer.echo(f"referrals expired: {len(expired)}")
