"""A live Tidings server on loopback for the web-side hostile tests, with helpers to act as a user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.live import csrf_of, is_seeded, make_settings, running, write_seed
from tidings.config import Settings

PASSWORD = "correct horse battery"


@dataclass
class Site:
    """A running server: its base URL, the app (for its engine) and the settings it was built with."""

    base: str
    app: FastAPI
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, **headers: str) -> httpx.Client:
        """A cookie-keeping client that does not follow redirects."""
        return httpx.Client(base_url=self.base, timeout=30, headers=headers)


def site_settings(home: Path, seed: Path, **overrides: Any) -> Settings:
    """Quiet offline settings with open sign-up (the policy itself is tested with explicit settings)."""
    base = make_settings(home, [seed]).model_dump()
    base.update(overrides)
    return Settings(**base)


def reset_throttles() -> None:
    """Forget every process-wide sign-in throttle (they are keyed on 127.0.0.1 for every test client)."""
    from tidings.web import logins
    from tidings.web.compat.fever import KEY_FAILURES
    from tidings.web.compat.greader import LOGIN_FAILURES

    logins.reset()
    LOGIN_FAILURES.reset()
    KEY_FAILURES.reset()


@contextmanager
def live_site(folder: Path, extra: list[dict[str, object]] | None = None, **overrides: Any) -> Iterator[Site]:
    """Serve a fresh app (own database) on loopback until its seed articles are stored."""
    from tidings.web.app import create_app

    (folder / "home").mkdir(exist_ok=True)
    settings = site_settings(folder / "home", write_seed(folder, extra), **overrides)
    app = create_app(settings)
    expected = 4 + len(extra or [])
    reset_throttles()  # another module's failed sign-ins must not throttle this one's set-up
    with running(app, lambda base: is_seeded(base, expected)) as base:
        yield Site(base, app, settings)
    reset_throttles()


def sign_up(c: httpx.Client, name: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    """Sign up through the form; the client keeps the session cookie."""
    token = csrf_of(c.get("/login").text)  # the sign-up page has no form while sign-up is closed
    data = {"csrf": token, "name": name, "password": password, "confirm": password, **extra}
    return c.post("/signup", data=data)


def form_login(c: httpx.Client, name: str, password: str, **headers: str) -> httpx.Response:
    """Sign in through the web form."""
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "name": name, "password": password}, headers=headers)


def api_login(site: Site, name: str, password: str, **headers: str) -> httpx.Response:
    """POST /api/v1/session."""
    body = {"name": name, "password": password}
    return httpx.post(f"{site.base}/api/v1/session", json=body, headers=headers)


def client_login(site: Site, name: str, password: str, **headers: str) -> httpx.Response:
    """Google Reader ClientLogin with the credentials in the POST body."""
    data = {"Email": name, "Passwd": password}
    return httpx.post(f"{site.base}/accounts/ClientLogin", data=data, headers=headers)


@dataclass
class User:
    """A signed-up reader and every credential they can present."""

    name: str
    id: int
    web: httpx.Client  # holds the session cookie
    token: str  # REST Bearer token
    greader: str  # Google Reader Auth token
    fever: str  # Fever api_key

    def bearer(self) -> dict[str, str]:
        """The REST Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    def reader(self) -> dict[str, str]:
        """The Google Reader Authorization header."""
        return {"Authorization": f"GoogleLogin auth={self.greader}"}


def make_user(site: Site, name: str, password: str = PASSWORD) -> User:
    """Sign up name and collect a session, an API token, a Google Reader token and a Fever key."""
    from tidings.store import users as user_repo
    from tidings.web.compat.keys import set_fever_password

    web = site.client()
    assert sign_up(web, name, password).status_code == 303
    token = web.post("/api/v1/tokens", json={"name": "hostile"}).json()["token"]
    reset_throttles()
    reply = client_login(site, name, password)
    assert reply.status_code == 200, reply.text
    greader = reply.text.split("Auth=", 1)[1].strip()
    engine = site.app.state.engine
    with engine.connect() as conn:
        account = user_repo.get_user_by_name(conn, name)
    assert account is not None
    fever = set_fever_password(engine, int(account["id"]), password)
    return User(name, int(account["id"]), web, token, greader, fever)
