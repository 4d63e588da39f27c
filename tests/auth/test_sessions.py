"""Web login: session cookie, fixation, lockout, CSRF, logout and expiry, over the real app on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from medcity.auth import sessions
from medcity.auth.pages import LOGIN_CSRF_COOKIE
from medcity.auth.tables import app_user, web_session
from medcity.auth.users import MAX_FAILURES, Role, User, add_user
from medcity.kit.db import WRITE

PASSWORD = "correct horse battery"


@pytest.fixture
def user(client: TestClient) -> User:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        return add_user(
            conn,
            region=client.app.state.settings.region,  # type: ignore[attr-defined]
            username="dr.house",
            role=Role.DOCTOR,
            password=PASSWORD,
            now=datetime.now(UTC),
        )


def _engine(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def _region(client: TestClient) -> str:
    region: str = client.app.state.settings.region  # type: ignore[attr-defined]
    return region


def _token_in(html: str, form: str = "/login") -> str:
    """The CSRF token of the form that posts to ``form``."""
    found = re.search(rf'action="{form}"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]*)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def _plant(client: TestClient, value: str) -> None:
    """Make the browser send exactly this session cookie (as an attacker's planted cookie would)."""
    client.cookies.delete(sessions.COOKIE)
    client.cookies.set(sessions.COOKIE, value)


def _issued(response: object) -> str:
    """The session token a response sets."""
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        if header.startswith(f"{sessions.COOKIE}="):
            return str(header.split(";", 1)[0].split("=", 1)[1])
    raise AssertionError("no session cookie set")


def _login(client: TestClient, password: str = PASSWORD, username: str = "dr.house") -> object:
    token = _token_in(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _sessions(client: TestClient) -> int:
    with _engine(client).connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(web_session).where(web_session.c.partition == _region(client))
        ).scalar_one()
    return int(count)


def _failed_logins(client: TestClient) -> int:
    with _engine(client).connect() as conn:
        return int(
            conn.execute(
                select(app_user.c.failed_logins).where(
                    app_user.c.partition == _region(client), app_user.c.username == "dr.house"
                )
            ).scalar_one()
        )


def test_login_form_sets_a_pre_session_csrf_cookie(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="password"' in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert _token_in(response.text) == client.cookies[LOGIN_CSRF_COOKIE]


def test_login_sets_an_http_only_lax_cookie_and_shows_the_user(client: TestClient, user: User) -> None:
    response = _login(client)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/doctor"  # type: ignore[attr-defined]  # the doctor's workstation
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{sessions.COOKIE}="))  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    page = client.get("/").text
    assert "dr.house" in page
    assert 'action="/logout"' in page
    assert _sessions(client) == 1


def test_the_stored_id_is_a_hash_of_the_cookie(client: TestClient, user: User) -> None:
    _login(client)
    token = client.cookies[sessions.COOKIE]
    with _engine(client).connect() as conn:
        stored = conn.execute(select(web_session.c.id).where(web_session.c.partition == _region(client))).scalar_one()
    assert stored != token
    assert len(token) >= 43  # 32 random bytes, base64url


def test_session_fixation_a_planted_id_is_never_reused(client: TestClient, user: User) -> None:
    _plant(client, "attacker-chosen-session-id")
    first = _issued(_login(client))
    assert first != "attacker-chosen-session-id"
    # Even a real session id sent at login is replaced, and the old one ended.
    _plant(client, first)
    second = _issued(_login(client))
    assert second != first
    assert _sessions(client) == 1
    _plant(client, first)
    assert "dr.house" not in client.get("/").text


def test_wrong_password_fails_clearly_without_a_cookie(client: TestClient, user: User) -> None:
    client.cookies.set("lang", "en")
    response = _login(client, password="wrong password!")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong username or password." in response.text  # type: ignore[attr-defined]
    assert all(not c.startswith(f"{sessions.COOKIE}=") for c in response.headers.get_list("set-cookie"))  # type: ignore[attr-defined]
    assert sessions.COOKIE not in client.cookies
    assert _sessions(client) == 0
    # Unknown users get the same answer.
    unknown = _login(client, username="nobody")
    assert unknown.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong username or password." in unknown.text  # type: ignore[attr-defined]


def test_lockout_after_repeated_failures_even_with_the_right_password(client: TestClient, user: User) -> None:
    client.cookies.set("lang", "en")
    for _ in range(MAX_FAILURES):
        assert _login(client, password="wrong password!").status_code == 401  # type: ignore[attr-defined]
    response = _login(client)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "locked" in response.text  # type: ignore[attr-defined]
    assert sessions.COOKIE not in client.cookies
    assert _sessions(client) == 0


def test_login_without_or_with_a_wrong_csrf_token_is_403_and_counts_nothing(client: TestClient, user: User) -> None:
    _token_in(client.get("/login").text)
    data = {"username": "dr.house", "password": PASSWORD}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 403
    wrong = client.post("/login", data={**data, "csrf_token": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    client.cookies.delete(LOGIN_CSRF_COOKIE)
    no_cookie = client.post("/login", data={**data, "csrf_token": "x" * 43}, follow_redirects=False)
    assert no_cookie.status_code == 403
    assert sessions.COOKIE not in client.cookies
    assert _sessions(client) == 0
    assert _failed_logins(client) == 0


def test_logout_without_or_with_a_wrong_csrf_token_is_403_and_keeps_the_session(client: TestClient, user: User) -> None:
    _login(client)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "nope"}, follow_redirects=False).status_code == 403
    # The pre-session login token is not the session's token.
    login_token = _token_in(client.get("/login").text)
    assert client.post("/logout", data={"csrf_token": login_token}, follow_redirects=False).status_code == 403
    assert _sessions(client) == 1
    assert "dr.house" in client.get("/").text


def test_logout_ends_the_session_on_the_server(client: TestClient, user: User) -> None:
    _login(client)
    old = client.cookies[sessions.COOKIE]
    token = _token_in(client.get("/").text, "/logout")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert any(
        c.startswith(f'{sessions.COOKIE}=""') or "Max-Age=0" in c for c in response.headers.get_list("set-cookie")
    )
    assert _sessions(client) == 0
    # Replaying the old cookie gets nobody, and its token no longer passes CSRF.
    _plant(client, old)
    page = client.get("/").text
    assert "dr.house" not in page
    assert 'href="/login"' in page
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 403


def test_an_expired_or_idle_session_is_refused(client: TestClient, user: User) -> None:
    long_ago = datetime.now(UTC) - sessions.LIFETIME - timedelta(minutes=1)
    idle_since = datetime.now(UTC) - sessions.IDLE - timedelta(minutes=1)
    with _engine(client).connect().execution_options(**WRITE) as conn, conn.begin():
        expired_token, expired = sessions.create_session(conn, region=_region(client), user=user, now=long_ago)
        idle_token, idle = sessions.create_session(conn, region=_region(client), user=user, now=idle_since)
    for token, session in ((expired_token, expired), (idle_token, idle)):
        _plant(client, token)
        assert "dr.house" not in client.get("/").text
        assert client.post("/logout", data={"csrf_token": session.csrf}, follow_redirects=False).status_code == 403
    with _engine(client).connect().execution_options(**WRITE) as conn, conn.begin():
        assert sessions.purge_expired(conn, region=_region(client), now=datetime.now(UTC)) == 1


def test_a_disabled_user_loses_the_session(client: TestClient, user: User) -> None:
    _login(client)
    with _engine(client).connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(
            app_user.update()
            .where(app_user.c.partition == _region(client), app_user.c.id == user.id)
            .values(active=False)
        )
    assert "dr.house" not in client.get("/").text


def test_russian_login_page_is_translated(client: TestClient) -> None:
    client.cookies.set("lang", "ru")
    html = client.get("/login").text
    assert "Войти" in html
    assert "Password" not in html
