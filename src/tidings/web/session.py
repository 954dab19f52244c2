"""Web sessions: the signed-in reader from the `tidings_session` cookie, sign-in and sign-out."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine

from tidings.store import tokens as token_repo
from tidings.store import users as user_repo
from tidings.store.tokens import SESSION_TOKEN_NAME
from tidings.web.api.deps import SESSION_COOKIE
from tidings.web.api.personal import session_max_age
from tidings.web.logins import LoginError, check_credentials

__all__ = ["LoginError", "check_credentials"]

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


def session_token_of(request: Request) -> str | None:
    """The raw session cookie, if it looks like a token."""
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) <= MAX_TOKEN_CHARS else None


def current_web_user(request: Request) -> WebUser | None:
    """The reader signed in through the session cookie, or None (cached on the request)."""
    if hasattr(request.state, "web_user"):
        cached: WebUser | None = request.state.web_user
        return cached
    days = request.app.state.settings.session_max_age_days
    user = load_web_user(request.app.state.engine, session_token_of(request), days)
    request.state.web_user = user
    return user


def load_web_user(engine: Engine, token: str | None, max_age_days: float) -> WebUser | None:
    """The user owning a live session token younger than the session age limit, or None."""
    if not token:
        return None
    with engine.connect() as conn:
        row = token_repo.find_live_token(conn, token)
        account = user_repo.get_user(conn, int(row["user_id"])) if row else None
    if row is None or account is None or token_repo.is_expired_session(row, max_age_days):
        return None
    if token_repo.is_stale_use(row.get("last_used")):
        token_repo.touch_token(engine, int(row["id"]))
    return WebUser(
        id=int(account["id"]),
        name=str(account["name"]),
        is_admin=bool(account["is_admin"]),
        onboarded=bool(account["onboarded"]),
        token_id=int(row["id"]),
        session_token=token,
    )


def start_session(engine: Engine, request: Request, response: Response, user_id: int) -> str:
    """Create a session token for user_id and set it as an HttpOnly, SameSite=Lax cookie."""
    with engine.begin() as conn:
        _, token = user_repo.create_token(conn, user_id, SESSION_TOKEN_NAME)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=session_max_age(request.app.state.settings),
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
