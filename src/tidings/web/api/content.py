"""Reading endpoints: the personalised feed, articles, related articles, stories and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.service.feed import feed_for
from tidings.service.stories import related_items, story_view
from tidings.store import articles as article_repo
from tidings.store.search import search_articles
from tidings.store.stories import list_stories
from tidings.store.users import NotFoundError
from tidings.web.api.deps import (
    CallerLookup,
    CurrentUser,
    EngineDep,
    Limit,
    Offset,
    Presented,
    PresentedDep,
    SettingsDep,
)
from tidings.web.api.errors import ApiError
from tidings.web.api.schemas import Article, Feed, RelatedList, SearchResults, StoryList, StoryView

router = APIRouter()
MAX_RELATED = 100


@router.get("/feed", response_model=Feed)
async def get_feed(
    presented: PresentedDep,
    engine: EngineDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    as_of: Annotated[datetime | None, Query(description="Rank as if it were this time.")] = None,
    show_hidden: Annotated[bool, Query(description="Also list what mutes and caps removed.")] = False,
) -> dict[str, Any]:
    """The caller's personalised feed, with the reasons for each item."""
    # The busiest endpoint takes one request thread for all its database work, authentication included:
    # every extra hop hands the interpreter lock over, and on a busy CPU each hand-over waits.
    return await run_in_threadpool(caller_feed, engine, settings, presented, limit, as_of, show_hidden)


def caller_feed(
    engine: Engine,
    settings: Settings,
    presented: Presented,
    limit: int,
    as_of: datetime | None,
    show_hidden: bool,
) -> dict[str, Any]:
    """The authenticated caller's feed document (see get_feed)."""
    caller = CallerLookup(settings, presented)
    try:
        data, _ = feed_for(engine, settings, "", limit, as_of, user_of=caller)
    except NotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    finally:
        caller.finish(engine)
    if not show_hidden:
        data["hidden"] = []
    return data


@router.get("/articles/{article_id}", response_model=Article)
def get_article(article_id: int, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """One article: clean text, captions, related links and enrichment."""
    with engine.connect() as conn:
        row = article_repo.get_article(conn, article_id)
    if row is None:
        raise ApiError(404, f"no article with id {article_id}")
    return article_repo.to_contract(row)


@router.get("/articles/{article_id}/related", response_model=RelatedList)
def get_related(
    article_id: int,
    user: CurrentUser,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_RELATED)] = 10,
) -> dict[str, Any]:
    """Articles related to an article: the same story first, then nearest neighbours."""
    with engine.connect() as conn:
        items = related_items(conn, article_id, limit)
    if items is None:
        raise ApiError(404, f"no article with id {article_id}")
    return {"items": items}


@router.get("/stories", response_model=StoryList)
def get_stories(
    user: CurrentUser, engine: EngineDep, limit: Limit = 20, offset: Offset = 0
) -> dict[str, Any]:
    """Story clusters, newest activity first."""
    with engine.connect() as conn:
        return {"stories": list_stories(conn, limit=limit, offset=offset)}


@router.get("/stories/{story_id}", response_model=StoryView)
def get_story(story_id: int, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """One story with its timeline and key points."""
    with engine.connect() as conn:
        view = story_view(conn, story_id)
    if view is None:
        raise ApiError(404, f"no story with id {story_id}")
    return view


@router.get("/search", response_model=SearchResults)
def get_search(
    user: CurrentUser,
    engine: EngineDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Free-text query.")],
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Full-text search over stored articles, best first."""
    with engine.connect() as conn:
        return {"items": search_articles(conn, q, limit=limit, offset=offset)}
