"""`medcity users add ...`, `medcity token --user U` (accounts and access tokens for local scripts) and
`medcity clients add ...` (OAuth clients)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from medcity.auth import clients, oauth, proxy, scopes, users
from medcity.auth.users import Role
from medcity.demo.accounts import DemoCast, demo_cast
from medcity.demo.prescriptions import demo_ticket
from medcity.kit.config import get_settings
from medcity.kit.db import WRITE, make_engine, reading
from medcity.kit.errors import MedcityError
from medcity.store.repository import Store

users_app = typer.Typer(help="User accounts", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth clients: other systems and SMART apps", no_args_is_help=True)
proxy_app = typer.Typer(help="Proxies: people who act for a patient", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@users_app.command("add")
def add(
    username: str = typer.Option(..., help="Login name, unique in the region"),
    role: Role = typer.Option(..., help="Role"),
    practitioner: str | None = typer.Option(None, help="Practitioner id the user is"),
    patient: str | None = typer.Option(None, help="Patient id the user is (or represents, for a proxy)"),
    organization: str | None = typer.Option(None, help="Organization id the user works for"),
) -> None:
    """Add a user. The password is read from stdin; with none there, one is generated and printed once. A proxy
    of a child under 15 acts at once; a proxy of an adult only after the represented person confirms with the
    one-time code printed here (hand it to the represented person, not to the proxy)."""
    settings = get_settings()
    piped = "" if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    password = piped or (None if role == Role.SYSTEM else users.generate_password())
    engine = make_engine(settings.database_url)
    represented = patient if role == Role.PROXY else None
    try:
        with Store(engine, settings.region).transaction() as tx:
            user = users.add_user(tx.conn, region=settings.region, username=username, role=role, password=password,
                                  practitioner=practitioner, patient=None if represented else patient,
                                  organization=organization, now=datetime.now(UTC))  # fmt: skip
            link = proxy.link(tx, proxy=user, patient=represented, now=datetime.now(UTC)) if represented else None
    except MedcityError as error:
        raise _fail(error.diagnostics) from None
    finally:
        engine.dispose()
    typer.echo(f"user {user.username} ({user.role}) added")
    if password and not piped:
        typer.echo(f"password: {password}")
    if link is not None:
        _say(link)


def _say(link: proxy.Link) -> None:
    if link.code:
        typer.echo(f"proxy waits for confirmation: give this one-time code to the represented person: {link.code}")
    else:
        typer.echo(f"proxy of a child under {proxy.CHILD_UNDER}: active (RelatedPerson/{link.related_person})")


@proxy_app.command("add")
def add_represented(
    user: str = typer.Option(..., help="The proxy account's username"),
    patient: str = typer.Option(..., help="Patient id of one more person it represents (a second child, say)"),
) -> None:
    """Link one more person to an existing proxy account, at the registry desk: a child under 15 at once, an adult
    after they confirm with the one-time code printed here. The account goes on acting for whom it acts for; the
    portal switches between them."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with Store(engine, settings.region).transaction() as tx:
            account = users.get_user(tx.conn, region=settings.region, username=user)
            if account is None:
                raise _fail(f"no user {user}")
            link = proxy.link(tx, proxy=account, patient=patient, now=datetime.now(UTC))
    finally:
        engine.dispose()
    _say(link)


@proxy_app.command("confirm")
def confirm_proxy(
    patient: str = typer.Option(..., help="The represented person's Patient id (identity checked in person)"),
    code: str = typer.Option(..., help="The one-time code the represented person was given"),
) -> None:
    """Confirm an adult's proxy at the registry desk, with the code the represented person tells."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with Store(engine, settings.region).transaction() as tx:
            confirmed = proxy.confirm(tx, patient=patient, code=code, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if confirmed is None:
        raise _fail("wrong or expired code (a request is void after 5 wrong codes)")
    typer.echo(f"proxy {confirmed.username} now acts for Patient/{patient}")


def _demo_accounts(cast: DemoCast) -> list[tuple[Role, str, dict[str, str | None]]]:
    """One account per role, linked to the demo city's cast (see ``medcity.demo.accounts``)."""
    polyclinic, doctor, adult, child = cast.polyclinic, cast.doctor, cast.patient, cast.child
    lab, pharmacy = cast.laboratory, cast.pharmacy
    return [
        (Role.PATIENT, "patient", {"patient": adult}),
        (Role.PROXY, "parent", {"patient": child}),
        (Role.DOCTOR, "doctor", {"practitioner": doctor, "organization": polyclinic}),
        (Role.NURSE, "nurse", {"organization": polyclinic}),
        (Role.REGISTRAR, "registrar", {"organization": polyclinic}),
        (Role.LAB, "lab", {"organization": lab}),
        # Results are released by a second person (issue 8's validation): the laboratory's second technician.
        (Role.LAB, "lab2", {"organization": lab}),
        (Role.PHARMACIST, "pharmacist", {"organization": pharmacy}),
        (Role.ANALYST, "analyst", {}),
        (Role.ADMIN, "admin", {}),
    ] + (
        # A doctor of the hospital the demo doctor refers to: admits, discharges, signs the summary.
        [(Role.DOCTOR, "hospital", {"practitioner": cast.hospital_doctor, "organization": cast.hospital})]
        if cast.hospital_doctor
        else []
    )


@users_app.command("demo")
def demo_logins() -> None:
    """Create (once) a demo login for every role, linked to the demo city, and print them. Demo only: the
    passwords are public."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    store = Store(engine, settings.region)
    try:
        with store.transaction() as tx:
            cast = demo_cast(tx)
            accounts = _demo_accounts(cast)
            for role, username, links in accounts:
                if users.get_user(tx.conn, region=settings.region, username=username) is None:
                    links = dict(links)  # the printed list below keeps its own copy
                    represented = links.pop("patient") if role == Role.PROXY else None
                    user = users.add_user(tx.conn, region=settings.region, username=username, role=role,
                                          password=f"{username}-demo", now=datetime.now(UTC), **links)  # fmt: skip
                    if represented:  # the demo children are under 15: the parent acts at once, for the first
                        for child in filter(None, (represented, cast.sibling)):
                            proxy.link(tx, proxy=user, patient=child, now=datetime.now(UTC))
            ticket = demo_ticket(tx, now=datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo("demo logins (username / password — for `medcity token --user USERNAME`):")
    for role, username, _links in accounts:
        typer.echo(f"  {role.value:<11} {username:<11} {username}-demo")
    if ticket is not None:
        typer.echo(f"pharmacist: try prescription {ticket.number} with the patient's СНИЛС {ticket.snils}")


def token(
    user: str = typer.Option(..., help="Username"),
    scope: str | None = typer.Option(None, help="SMART v2 scopes, space separated (default: by role)"),
) -> None:
    """Print an access token for USER, for local scripts."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with reading(engine) as conn:
            account = users.get_user(conn, region=settings.region, username=user)
    finally:
        engine.dispose()
    if account is None or not account.active:
        raise _fail(f"no active user '{user}' in region {settings.region}")
    scope = scope or scopes.default_scope(account.role)
    for item in scope.split():
        if item in scopes.CONTEXT_SCOPES or not scopes.fits_role(item, account.role):
            raise _fail(f"a {account.role} may not ask for '{item}'")
    issued = oauth.mint(settings, account, scope, datetime.now(UTC), patient=account.patient, client_id=None)
    typer.echo(issued.access_token)


def _read_jwks(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise _fail(f"cannot read the JWKS in {path}: {error}") from None


@clients_app.command("add")
def add_client(
    client_id: str = typer.Option(..., help="The client's id (the iss and sub of its assertions)"),
    organization: str = typer.Option(..., help="Organization id the system belongs to"),
    scope: str = typer.Option(..., help='The most it may ask for, e.g. "system/*.rs system/Encounter.cu"'),
    jwks: Path = typer.Option(..., help="File with the client's public JWKS (ES384 or RS384 keys)"),
) -> None:
    """Register another system (SMART Backend Services: client_credentials with private_key_jwt)."""
    keys = _read_jwks(jwks)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            clients.add_system_client(conn, region=settings.region, client_id=client_id, organization=organization,
                                      scope=scope, jwks=keys, now=datetime.now(UTC))  # fmt: skip
    except MedcityError as error:
        raise _fail(error.diagnostics) from None
    finally:
        engine.dispose()
    typer.echo(f"client {client_id} registered; token endpoint: {settings.base_url.rstrip('/')}/oauth/token")


@clients_app.command("add-app")
def add_app(
    client_id: str = typer.Option(..., help="The app's client id"),
    name: str = typer.Option(..., help="Name shown on the consent screen"),
    redirect_uri: list[str] = typer.Option(..., help="Redirect URI, compared exactly (repeatable)"),
    scope: str = typer.Option(..., help='The most it may ask for, e.g. "launch/patient patient/*.rs offline_access"'),
    jwks: Path | None = typer.Option(None, help="Public JWKS of a confidential app; without it a public app"),
) -> None:
    """Register a SMART app (authorization code + PKCE)."""
    keys = _read_jwks(jwks) if jwks else None
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            clients.add_app(conn, region=settings.region, client_id=client_id, name=name,
                            redirect_uris=redirect_uri, scope=scope, jwks=keys)  # fmt: skip
    except MedcityError as error:
        raise _fail(error.diagnostics) from None
    finally:
        engine.dispose()
    typer.echo(f"app {client_id} registered ({'confidential' if keys else 'public'} client)")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(clients_app, name="clients")
    app.add_typer(proxy_app, name="proxy")
    app.command("token")(token)
