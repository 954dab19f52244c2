"""Reading pages: article, story (with what is new since the last visit), topic, entity, search and mix."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from tidings.service.feed import RateLimitedError, record_event
from tidings.service.stories import related_items, story_view
from tidings.store import articles as article_repo
from tidings.store import users as user_repo
from tidings.vocabulary import topic_key
from tidings.web import charts, queries
from tidings.web.csrf import require_csrf
from tidings.web.pages_common import render, require_user
from tidings.web.session import current_web_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])
Id = Annotated[int, Path(ge=1, le=2**62)]
Name = Annotated[str, Path(min_length=1, max_length=500)]


def follow_targets(request: Request) -> set[str]:
    """The signed-in reader's follows as "kind:value" strings (empty when anonymous)."""
    user = current_web_user(request)
    if user is None:
        return set()
    with request.app.state.engine.connect() as conn:
        return {t["target"] for t in user_repo.list_targets(conn, user.id, "follow")}


def load_article(request: Request, article_id: int) -> dict[str, Any] | None:
    """The article, its sanitised HTML and its related articles, or None."""
    with request.app.state.engine.connect() as conn:
        row = article_repo.get_article(conn, article_id)
        if row is None:
            return None
        try:
            related = related_items(conn, article_id, limit=6) or []
        except Exception:  # related articles are a nicety; a page must still render without them
            related = []
    return {"a": article_repo.to_contract(row), "html": row["html"], "related": related}


def note_click(request: Request, article_id: int) -> None:
    """Count opening an article as a click for the signed-in reader (feeds the reading mix)."""
    user = current_web_user(request)
    if user is None:
        return
    with suppress(RateLimitedError, LookupError):
        record_event(request.app.state.engine, request.app.state.settings, user.name, article_id, "click")


@router.get("/articles/{article_id}")
async def article_page(request: Request, article_id: Id) -> Response:
    """One article: clean text, captions, related links, follow-able topics and entities."""
    data = await run_in_threadpool(load_article, request, article_id)
    if data is None:
        raise HTTPException(status_code=404, detail="No such article.")
    await run_in_threadpool(note_click, request, article_id)
    data["follows"] = await run_in_threadpool(follow_targets, request)
    data["here"] = request.url.path
    return render(request, "article.html", data)


def load_story(request: Request, story_id: int) -> dict[str, Any] | None:
    """The story view, and for a signed-in reader what is new since their last visit (then marks it seen)."""
    user = current_web_user(request)
    engine = request.app.state.engine
    with engine.connect() as conn:
        story = story_view(conn, story_id)
    if story is None:
        return None
    ids = [int(t["article_id"]) for t in story["timeline"]]
    previous = None
    if user is not None:
        with engine.begin() as conn:
            previous = queries.read_story(conn, user.id, story_id, ids)
    new_ids = {i for i in ids if i not in previous} if previous is not None else set()
    return {"story": story, "new_ids": new_ids, "first_visit": previous is None}


@router.get("/stories/{story_id}")
async def story_page(request: Request, story_id: Id) -> Response:
    """Full coverage of a story: timeline, sources, key points by outlet, what is new since last time."""
    data = await run_in_threadpool(load_story, request, story_id)
    if data is None:
        raise HTTPException(status_code=404, detail="No such story.")
    data["follows"] = await run_in_threadpool(follow_targets, request)
    data["here"] = request.url.path
    return render(request, "story.html", data)


@router.get("/topics/{name:path}")
def topic_page(request: Request, name: Name) -> Response:
    """The newest articles on a topic, with a Follow button."""
    name = topic_key(name)
    with request.app.state.engine.connect() as conn:
        rows = queries.article_rows(conn, queries.topic_article_ids(conn, name))
    if not rows:
        raise HTTPException(status_code=404, detail="No articles on this topic yet.")
    context = {"kind": "topic", "name": name, "rows": rows, "target": f"topic:{name}"}
    return render(
        request, "listing.html", {**context, "follows": follow_targets(request), "here": request.url.path}
    )


@router.get("/entities/{key:path}")
def entity_page(request: Request, key: Name) -> Response:
    """The newest articles mentioning a person, place or organisation, with a Follow button."""
    with request.app.state.engine.connect() as conn:
        name = queries.entity_name(conn, key)
        rows = queries.article_rows(conn, queries.entity_article_ids(conn, key)) if name else []
    if not name:
        raise HTTPException(status_code=404, detail="No such person, place or organisation.")
    context = {"kind": "entity", "name": name, "rows": rows, "target": f"entity:{name}"}
    return render(
        request, "listing.html", {**context, "follows": follow_targets(request), "here": request.url.path}
    )


def parse_day(text: str) -> date | None:
    """A YYYY-MM-DD date from a form field (empty means no filter); 422 when malformed."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(status_code=422, detail="Dates are written YYYY-MM-DD.") from None


def day_start(value: date | None) -> datetime | None:
    """Midnight UTC of a date."""
    return datetime.combine(value, time.min, tzinfo=UTC) if value else None


@router.get("/search")
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    source: Annotated[str, Query(max_length=200)] = "",
    topic: Annotated[str, Query(max_length=200)] = "",
    since_text: Annotated[str, Query(alias="from", max_length=10)] = "",
    until_text: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """Full-text search with source, topic and date filters."""
    since, until = parse_day(since_text), parse_day(until_text)
    with request.app.state.engine.connect() as conn:
        results = (
            queries.search_filtered(
                conn, q, source or None, topic or None, day_start(since), day_start(until)
            )
            if q.strip()
            else []
        )
        sources = [s for s, _ in queries.popular_sources(conn, 100)]
        topics = [t for t, _ in queries.popular_topics(conn, 100)]
    context = {
        "q": q,
        "source": source,
        "topic": topic,
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
        "results": results,
        "sources": sorted(sources, key=str.casefold),
        "topics": sorted(topics, key=str.casefold),
    }
    return render(request, "search.html", context)


@router.get("/reading")
def reading_page(request: Request) -> Response:
    """The reader's reading mix over the last 30 days, as two bar charts."""
    user = require_user(request)
    with request.app.state.engine.connect() as conn:
        mix = queries.reading_mix(conn, user.id)
    context = {
        "mix": mix,
        "topic_chart": charts.bar_chart(mix["topics"]),
        "source_chart": charts.bar_chart(mix["sources"]),
    }
    return render(request, "reading.html", context)
