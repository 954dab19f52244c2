"""Web sessions: the signed-in reader from the `tidings_session` cookie, sign-in and sign-out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine

from tidings.auth import verify_password
from tidings.store import users as user_repo
from tidings.web.api import queries
from tidings.web.api.deps import SESSION_COOKIE
from tidings.web.api.personal import LOGIN_LIMITER, SESSION_MAX_AGE, SESSION_TOKEN_NAME, dummy_hash

MAX_TOKEN_CHARS = 512


@dataclass(frozen=True)
class WebUser:
    """The signed-in reader of a page request."""

    id: int
    name: str
    is_admin: bool
    onboarded: bool
    token_id: int
    session_token: str


class LoginError(Exception):
    """Sign-in refused; `status` is 401 (wrong credentials) or 429 (too many tries)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def session_token_of(request: Request) -> str | None:
    """The raw session cookie, if it looks like a token."""
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) <= MAX_TOKEN_CHARS else None


def current_web_user(request: Request) -> WebUser | None:
    """The reader signed in through the session cookie, or None (cached on the request)."""
    if hasattr(request.state, "web_user"):
        cached: WebUser | None = request.state.web_user
        return cached
    user = load_web_user(request.app.state.engine, session_token_of(request))
    request.state.web_user = user
    return user


def load_web_user(engine: Engine, token: str | None) -> WebUser | None:
    """The user owning a live session token, or None."""
    if not token:
        return None
    with engine.connect() as conn:
        row = queries.find_live_token(conn, token)
        account = user_repo.get_user(conn, int(row["user_id"])) if row else None
    if row is None or account is None:
        return None
    if queries.is_stale_use(row.get("last_used")):
        queries.touch_token(engine, int(row["id"]))
    return WebUser(
        id=int(account["id"]),
        name=str(account["name"]),
        is_admin=bool(account["is_admin"]),
        onboarded=bool(account["onboarded"]),
        token_id=int(row["id"]),
        session_token=token,
    )


def check_credentials(engine: Engine, name: str, password: str, client: str) -> dict[str, Any]:
    """The account for name and password; raises LoginError (rate-limited per name and client)."""
    if not LOGIN_LIMITER.allow(f"{name}|{client}"):
        raise LoginError(429, "Too many sign-in attempts. Wait a minute and try again.")
    with engine.connect() as conn:
        account = user_repo.get_user_by_name(conn, name.strip())
    stored = account.get("password_hash") if account else None
    # Unknown names still pay for one hash check, so timing does not reveal which accounts exist.
    if not verify_password(stored or dummy_hash(), password) or account is None or stored is None:
        raise LoginError(401, "Wrong user name or password.")
    return account


def start_session(engine: Engine, request: Request, response: Response, user_id: int) -> str:
    """Create a session token for user_id and set it as an HttpOnly, SameSite=Lax cookie."""
    with engine.begin() as conn:
        _, token = user_repo.create_token(conn, user_id, SESSION_TOKEN_NAME)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    return token


def end_session(engine: Engine, user: WebUser, response: Response) -> None:
    """Revoke the session token and clear the cookie."""
    with engine.begin() as conn:
        user_repo.revoke_token(conn, user.id, user.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


def is_https(request: Request) -> bool:
    """True when the page was requested over https (directly or, per the proxy header, at the edge)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"
