"""`medcity exchange jwks`: the public key another region registers this one's system with (`medcity clients add
--client-id region-<this region> --organization region-<this region> --scope medcity/exchange --jwks FILE` there);
docs/adopting.md."""

from __future__ import annotations

import json

import typer

from medcity.auth import tokens
from medcity.exchange.client import ASSERTION_ALGORITHM, client_id
from medcity.kit.config import get_settings

app = typer.Typer(help="Exchanging records with other regions.", no_args_is_help=True)


@app.callback()
def exchange() -> None:
    """Exchanging records with other regions (a callback keeps `jwks` a subcommand while it is the only one)."""


@app.command("jwks")
def jwks_command() -> None:
    """Print this server's public key for other regions, as the JWKS they register it with."""
    settings = get_settings()
    public = tokens.id_token_key(settings.secret_dir).as_dict(private=False)
    typer.echo(json.dumps({"keys": [{**public, "use": "sig", "alg": ASSERTION_ALGORITHM}]}, indent=2))
    typer.echo(f"register it there as client {client_id(settings.region)} with scope medcity/exchange", err=True)
