"""The caller's article state over REST: read, saved, hidden, liked — the same state the web and apps use."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from tidings.service import reading
from tidings.store import reading as state_repo
from tidings.web.api.deps import CurrentUser, EngineDep, Limit, Offset, SettingsDep
from tidings.web.api.errors import ApiError

router = APIRouter()
ArticleId = Annotated[int, Path(ge=1, le=2**62)]
MAX_IDS = 1000


class ArticleState(BaseModel):
    """One article's state for the caller (times are when each state was last set)."""

    article_id: int
    read: bool
    saved: bool
    hidden: bool
    liked: int = Field(description="1 liked, -1 disliked, 0 neither")
    read_at: datetime | None = None
    saved_at: datetime | None = None
    hidden_at: datetime | None = None
    liked_at: datetime | None = None


class StateIn(BaseModel):
    """The states to change (absent ones stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    read: bool | None = None
    saved: bool | None = None
    hidden: bool | None = None
    liked: Literal[-1, 0, 1] | None = None


class MarkReadIn(BaseModel):
    """Mark many articles read (or unread) at once: one bulk change, not a reading signal per article."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=MAX_IDS)
    read: bool = True


class Changed(BaseModel):
    """What a change did: how many articles changed, which, and the time stamped on them."""

    ok: bool = True
    changed: int
    ids: list[int]
    at: str | None = None


class StateList(BaseModel):
    """A page of article states."""

    items: list[ArticleState]


def one_state(engine: EngineDep, user_id: int, article_id: int) -> dict[str, Any]:
    """The state of one article, 404 when it does not exist."""
    found = reading.state_of(engine, user_id, [article_id])
    if article_id not in found:
        raise ApiError(404, f"no article with id {article_id}")
    return {"article_id": article_id, **found[article_id]}


@router.get("/articles/{article_id}/state", response_model=ArticleState)
def get_state(article_id: ArticleId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """The caller's state of one article."""
    return one_state(engine, user.user_id, article_id)


@router.patch("/articles/{article_id}/state", response_model=ArticleState)
def patch_state(
    article_id: ArticleId, body: StateIn, user: CurrentUser, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """Change the caller's state of one article; each change is also a feedback event, as in the web."""
    one_state(engine, user.user_id, article_id)
    for name, value in body.model_dump(exclude_none=True).items():
        if name == "hidden" and value is False:
            reading.unhide(engine, settings, user.user_id, article_id)
        else:
            reading.mark(engine, settings, user.user_id, [article_id], name, value)
    return one_state(engine, user.user_id, article_id)


@router.post("/state/mark-read", response_model=Changed)
def post_mark_read(
    body: MarkReadIn, user: CurrentUser, engine: EngineDep, settings: SettingsDep
) -> dict[str, Any]:
    """Mark many articles read or unread in one bulk change (unknown ids are skipped)."""
    change = reading.mark(engine, settings, user.user_id, body.ids, "read", body.read, bulk=True)
    return change.as_json()


def stamp(when: datetime | None) -> float:
    """Seconds since the epoch (0 when unknown), for sorting."""
    return when.timestamp() if when is not None else 0.0


@router.get("/state/{which}", response_model=StateList)
def list_state(
    which: Annotated[str, Path(pattern="^(read|saved|hidden|liked)$")],
    user: CurrentUser,
    engine: EngineDep,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The caller's read, saved, hidden or liked articles, most recent change first."""
    with engine.connect() as conn:
        marked = state_repo.ids_with(conn, user.user_id, which)
    ordered = sorted(marked, key=lambda i: (stamp(marked[i]), i), reverse=True)
    page = ordered[offset : offset + limit]
    states = reading.state_of(engine, user.user_id, page)
    return {"items": [{"article_id": i, **states[i]} for i in page if i in states]}
