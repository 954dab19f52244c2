"""Request dependencies: the engine and settings, and the authenticated principal (Bearer token or cookie)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

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


# The getters below are async on purpose: FastAPI runs a plain `def` dependency in a request thread, and each
# such hop hands the interpreter lock to another thread, which on a busy CPU waits for the scheduler.
async def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def is_cross_site(request: Request) -> bool:
    """True when a browser says the request comes from another origin than the one serving it."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    return urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower()


@dataclass(frozen=True)
class Presented:
    """The credential a request carries, read without the database: checked later by `authenticate`."""

    token: str  # of a plausible shape: `presented_credential` refused the rest with 401
    via_cookie: bool
    # A cookie rides along on cross-site requests; those that change state are refused (CSRF).
    cross_site_write: bool


async def presented_credential(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Presented:
    """The Bearer token, else the session cookie, of the request; 401 at once when there is none, so that an
    anonymous request learns nothing about its parameters or body."""
    via_cookie = bearer is None
    token = check_shape(bearer.credentials if bearer else cookie)
    writes = request.method not in SAFE_METHODS
    return Presented(
        token=token,
        via_cookie=via_cookie,
        cross_site_write=via_cookie and writes and is_cross_site(request),
    )


def check_shape(token: str | None) -> str:
    """The token, or 401 when there is none or it cannot be one (checked before any database read)."""
    if not token:
        raise ApiError(401, "authentication required: send Authorization: Bearer TOKEN or sign in")
    if len(token) > 512:
        raise ApiError(401, "invalid or revoked token")
    return token


def authenticate(engine: Engine, settings: Settings, presented: Presented) -> Principal:
    """The caller behind a presented credential; 401 when no live token or session, 403 for a cross-site
    write with a cookie. It reads the database, so it runs in a request thread."""
    with read_only(engine) as conn:  # a pure read: on SQLite it must not queue behind writers
        row = token_repo.find_live_token(conn, presented.token)
    principal = checked_principal(row, settings, presented)
    if row is not None and token_repo.is_stale_use(row.get("last_used")):
        token_repo.touch_token(engine, principal.token_id)
    return principal


def checked_principal(row: dict[str, Any] | None, settings: Settings, presented: Presented) -> Principal:
    """The principal of a live token row; 401 when there is none or the session expired, 403 for a cross-site
    write with a cookie."""
    if row is None or token_repo.is_expired_session(row, settings.session_max_age_days):
        raise ApiError(401, "invalid or revoked token")
    if presented.cross_site_write:
        raise ApiError(403, "cross-site request refused")
    return Principal(int(row["user_id"]), str(row["user_name"]), int(row["id"]), presented.via_cookie)


class CallerLookup:
    """Authenticates a request on the connection its service call opens, and hands that call the caller's
    user row: one connection checkout and one query instead of two of each (on PostgreSQL every checkout
    costs round trips, each of which waits for the scheduler on a busy machine)."""

    def __init__(self, settings: Settings, presented: Presented) -> None:
        self.settings = settings
        self.presented = presented
        self._stale_token: int | None = None

    def __call__(self, conn: Connection) -> dict[str, Any]:
        """The caller's user row; raises ApiError (401/403) as `authenticate` does."""
        found = token_repo.find_live_token_and_user(conn, self.presented.token)
        token_row, user = found if found is not None else (None, {})
        principal = checked_principal(token_row, self.settings, self.presented)
        if token_row is not None and token_repo.is_stale_use(token_row.get("last_used")):
            self._stale_token = principal.token_id
        return user

    def finish(self, engine: Engine) -> None:
        """Record the token's use once the service call is over, whatever its outcome (a feed must not take
        the write lock, and an event that fails must not undo the record)."""
        if self._stale_token is not None:
            token_repo.touch_token(engine, self._stale_token)
            self._stale_token = None


PresentedDep = Annotated[Presented, Depends(presented_credential)]


def current_principal(
    engine: Annotated[Engine, Depends(get_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    presented: PresentedDep,
) -> Principal:
    """The authenticated caller; 401 when no live token or session is presented."""
    return authenticate(engine, settings, presented)


CurrentUser = Annotated[Principal, Depends(current_principal)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="How many items (1-200).")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="How many items to skip.")]
