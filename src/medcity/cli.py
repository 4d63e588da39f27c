"""`medcity serve | db upgrade | demo ... | ai ...`."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

app = typer.Typer(help="medcity: a unified medical information system for a city or a region", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Domain packages that bring their own command groups: (module, name on the command line).
COMMAND_GROUPS = (
    ("medcity.demo.commands", "demo"),
    ("medcity.ai.commands", "ai"),
    ("medcity.scheduling.commands", "scheduling"),
    ("medcity.referrals.commands", "referrals"),
    ("medcity.hospital.commands", "hospital"),
    ("medcity.registry.commands", "region"),
    ("medcity.exchange.commands", "exchange"),
    ("medcity.auth.commands", None),
)


def _alembic_config() -> object:
    from alembic.config import Config

    from medcity.kit.config import get_settings

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", get_settings().database_url.replace("%", "%%"))
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database schema to the latest version."""
    from alembic import command

    command.upgrade(_alembic_config(), revision)  # type: ignore[arg-type]
    typer.echo("database is up to date")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
    workers: int = typer.Option(1, help="Worker processes"),
) -> None:
    """Serve the FHIR API and the web pages."""
    import uvicorn

    from medcity.kit.config import get_settings
    from medcity.kit.errors import InvalidRequest
    from medcity.orders.catalogue import check_region_packages
    from medcity.registry.regions import RegionsFileError, region

    try:
        region(get_settings().region)
        check_region_packages()
    except (RegionsFileError, InvalidRequest) as exc:
        # A region the settings do not know would be served on every default (Moscow's time zone among them).
        typer.echo(f"{exc}\nA region's own settings go in the file named by MEDCITY_REGIONS_FILE "
                   "(docs/adopting.md).", err=True)  # fmt: skip
        raise typer.Exit(2) from None

    typer.echo(f"medcity is serving on http://{host}:{port}  (FHIR: http://{host}:{port}/fhir/metadata)")
    uvicorn.run("medcity.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)  # fmt: skip


def _mount_groups() -> None:
    for module_name, name in COMMAND_GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        if name is None:
            module.register(app)
        else:
            app.add_typer(module.app, name=name)


_mount_groups()


def _lacks_schema(url: str) -> bool:
    """Whether the database answers but holds no medcity tables (asked of the database itself, not read from
    the wording of an error, which differs between engines and versions)."""
    from sqlalchemy import inspect

    from medcity.kit.db import make_engine
    from medcity.store.schema import resource

    engine = make_engine(url)
    try:
        return not inspect(engine).has_table(resource.name)
    except DBAPIError:
        return False  # it does not answer: the original error says why
    finally:
        engine.dispose()


def main() -> None:
    """The `medcity` command. A database that has no medcity tables yet is said in one line, with what to do,
    instead of a traceback."""
    try:
        app()
    except DBAPIError:
        from medcity.kit.config import get_settings

        url = get_settings().database_url
        if not _lacks_schema(url):
            raise
        where = make_url(url).render_as_string(hide_password=True)
        typer.echo(f"medcity: the database {where} has no medcity tables yet: run `medcity db upgrade` first",
                   err=True)  # fmt: skip
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
