"""Request dependencies: the engine and settings, and the authenticated principal (Bearer token or cookie)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.store import tokens as token_repo
from tidings.store.engine import read_only
from tidings.web.api.errors import ApiError

SESSION_COOKIE = "tidings_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_PAGE = 200

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer tid_...`")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The web session cookie")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, the token (or session) they presented, and how."""

    user_id: int
    name: str
    token_id: int
    via_cookie: bool


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def is_cross_site(request: Request) -> bool:
    """True when a browser says the request comes from another origin than the one serving it."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    return urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower()


def current_principal(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The authenticated caller; 401 when no live token or session is presented."""
    via_cookie = bearer is None
    token = bearer.credentials if bearer else cookie
    if not token:
        raise ApiError(401, "authentication required: send Authorization: Bearer TOKEN or sign in")
    if len(token) > 512:
        raise ApiError(401, "invalid or revoked token")
    with read_only(engine) as conn:  # a pure read: on SQLite it must not queue behind writers
        row = token_repo.find_live_token(conn, token)
    settings: Settings = request.app.state.settings
    if row is None or token_repo.is_expired_session(row, settings.session_max_age_days):
        raise ApiError(401, "invalid or revoked token")
    # A cookie rides along on cross-site requests; refuse those that change state (CSRF).
    if via_cookie and request.method not in SAFE_METHODS and is_cross_site(request):
        raise ApiError(403, "cross-site request refused")
    if token_repo.is_stale_use(row.get("last_used")):
        token_repo.touch_token(engine, int(row["id"]))
    return Principal(int(row["user_id"]), str(row["user_name"]), int(row["id"]), via_cookie)


CurrentUser = Annotated[Principal, Depends(current_principal)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="How many items (1-200).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="How many items to skip.")]
