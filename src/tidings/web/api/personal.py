"""The caller's own data: feedback events, follows and mutes, API tokens and the web session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.service.feed import RateLimitedError, export_profile, record_event, reset_profile
from tidings.service.users import change_target
from tidings.store import tokens as token_repo
from tidings.store import users as user_repo
from tidings.store.tokens import SESSION_TOKEN_NAME
from tidings.store.users import NotFoundError
from tidings.web.api.deps import (
    SESSION_COOKIE,
    CallerLookup,
    CurrentUser,
    EngineDep,
    Presented,
    PresentedDep,
    SettingsDep,
)
from tidings.web.api.errors import ApiError
from tidings.web.api.schemas import (
    EventIn,
    LoginIn,
    Ok,
    TargetIn,
    TargetList,
    TokenCreated,
    TokenIn,
    TokenList,
    UserOut,
)
from tidings.web.logins import LoginError, check_credentials

router = APIRouter()


def session_max_age(settings: Settings) -> int:
    """The session cookie's lifetime in seconds (the server enforces the same limit)."""
    return int(settings.session_max_age_days * 24 * 3600)


@router.post("/events", response_model=Ok)
async def post_event(
    event: EventIn, presented: PresentedDep, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """Record a feedback event (impression, click, read, like, ...) on an article."""
    # One request thread for authentication and the write, as for the feed: each hop hands the lock over.
    return await run_in_threadpool(caller_event, engine, settings, presented, event)


def caller_event(engine: Engine, settings: Settings, presented: Presented, event: EventIn) -> dict[str, Any]:
    """Record the authenticated caller's event (see post_event)."""
    caller = CallerLookup(settings, presented)
    try:
        return record_event(
            engine, settings, "", event.article_id, event.kind, event.dwell_seconds, user_of=caller
        )
    except RateLimitedError as exc:
        raise ApiError(429, str(exc)) from None
    except NotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    finally:
        caller.finish(engine)


def targets_of(engine: EngineDep, user_id: int, which: str) -> dict[str, Any]:
    """A user's follows or mutes as {"items": [...]}."""
    with engine.connect() as conn:
        return {"items": user_repo.list_targets(conn, user_id, which)}


def change(engine: EngineDep, name: str, action: str, target: str) -> dict[str, Any]:
    """Apply a follow/mute change, mapping bad targets to 422 and absent ones (on removal) to 404."""
    try:
        result = change_target(engine, name, action, target)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    if action.startswith("un") and not result["changed"]:
        raise ApiError(404, f"not {action[2:]}d: {target}")
    return result


def target_from(query: str | None, body: TargetIn | None) -> str:
    """The target of a DELETE, from ?target= or a JSON body."""
    target = query or (body.target if body else None)
    if not target:
        raise ApiError(422, 'target is required, e.g. {"target": "topic:North Korea"}')
    return target


TargetQuery = Annotated[str | None, Query(max_length=520, description="The target, e.g. topic:Sport")]
OptionalTarget = Annotated[TargetIn | None, Body()]


@router.get("/profile")
def get_profile(user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Everything learnt about the caller (interest vectors, affinities), with follows, mutes and controls."""
    return export_profile(engine, user.name)


@router.delete("/profile", response_model=Ok)
def delete_profile(user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Reset what was learnt from the caller's feedback (follows, mutes and controls stay)."""
    return reset_profile(engine, user.name)


def add_target_routes(which: str, docs: tuple[str, str, str]) -> None:
    """GET, POST and DELETE /follows or /mutes (which: follow | mute), with docs for each."""
    path = f"/{which}s"

    def listed(user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
        return targets_of(engine, user.user_id, which)

    def added(body: TargetIn, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
        return change(engine, user.name, which, body.target)

    def removed(
        user: CurrentUser, engine: EngineDep, target: TargetQuery = None, body: OptionalTarget = None
    ) -> dict[str, Any]:
        return change(engine, user.name, "un" + which, target_from(target, body))

    routes: list[tuple[str, Callable[..., dict[str, Any]], type[BaseModel], str]] = [
        ("GET", listed, TargetList, f"get_{which}s"),
        ("POST", added, Ok, f"post_{which}"),
        ("DELETE", removed, Ok, f"delete_{which}"),
    ]
    for (method, endpoint, model, name), doc in zip(routes, docs, strict=True):
        endpoint.__doc__ = doc
        router.add_api_route(path, endpoint, methods=[method], response_model=model, name=name)


add_target_routes(
    "follow",
    (
        "The caller's follows.",
        "Follow a topic, entity, source, keyword or story.",
        "Stop following a target (given as ?target= or a JSON body).",
    ),
)
add_target_routes(
    "mute",
    (
        "The caller's mutes.",
        "Mute a topic, entity, source, keyword or story.",
        "Unmute a target (given as ?target= or a JSON body).",
    ),
)


@router.get("/tokens", response_model=TokenList)
def get_tokens(user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """The caller's API tokens (metadata only), revoked ones included."""
    with engine.connect() as conn:
        return {"items": token_repo.list_tokens(conn, user.user_id)}


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def post_token(body: TokenIn, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Create an API token; the token is returned this once and stored only as a hash."""
    with engine.begin() as conn:
        token_id, token = user_repo.create_token(conn, user.user_id, body.name.strip() or "token")
        info = token_repo.get_token(conn, user.user_id, token_id)
    assert info is not None
    return {**info, "token": token}


@router.delete("/tokens/{token_id}", response_model=Ok)
def delete_token(token_id: int, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Revoke one of the caller's tokens; 404 when it is not theirs or already revoked."""
    with engine.begin() as conn:
        if not user_repo.revoke_token(conn, user.user_id, token_id):
            raise ApiError(404, f"no live token with id {token_id}")
    return {"ok": True, "changed": True}


@router.post("/session", response_model=UserOut, responses={401: {"description": "Wrong name or password"}})
def post_session(
    body: LoginIn, request: Request, response: Response, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """Sign in with name and password; sets an HttpOnly session cookie (no token needed)."""
    client = request.client.host if request.client else "?"
    try:
        account = check_credentials(engine, body.name, body.password, client)
    except LoginError as exc:
        throttled = exc.status == 429
        message = "too many sign-in attempts; wait a little" if throttled else "wrong user name or password"
        raise ApiError(exc.status, message) from None
    with engine.begin() as conn:
        _, token = user_repo.create_token(conn, int(account["id"]), SESSION_TOKEN_NAME)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=session_max_age(settings),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"id": account["id"], "name": account["name"]}


@router.delete("/session", response_model=Ok)
def delete_session(user: CurrentUser, response: Response, engine: EngineDep) -> dict[str, Any]:
    """Sign out: revoke the session (or the presented token) and clear the cookie."""
    with engine.begin() as conn:
        user_repo.revoke_token(conn, user.user_id, user.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True, "changed": True}
