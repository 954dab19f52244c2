"""Reading pages: article, story (with what is new since the last visit), topic, entity, search and mix."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Connection

from tidings.service import reading
from tidings.service.stories import related_items, story_view
from tidings.store import articles as article_repo
from tidings.store import stories as story_repo
from tidings.store import topics as topic_repo
from tidings.store import users as user_repo
from tidings.store.articles import topics_of_row
from tidings.store.search import SearchFilters, Sort, search_rows
from tidings.store.util import utcnow
from tidings.vocabulary import topic_key
from tidings.web import account, charts
from tidings.web.csrf import require_csrf
from tidings.web.images import app_key, rewrite_images
from tidings.web.pages_common import render, require_reader, require_user
from tidings.web.session import current_web_user

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf), Depends(require_reader)])
Id = Annotated[int, Path(ge=1, le=2**62)]
Name = Annotated[str, Path(min_length=1, max_length=500)]
PAGE_SIZE = 20
MAX_SEARCH_PAGES = 100  # 2000 results: the store caps the offset there
READING_KINDS = ("click", "read", "like", "save")
MIX_DAYS = 30


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
    with request.app.state.engine.connect() as conn:
        user = current_web_user(request)
        prefs = account.display_prefs(conn, user.id if user else None)
    html = rewrite_images(row["html"], app_key(request)) if prefs["images"] else strip_images(row["html"])
    return {
        "a": article_repo.to_contract(row),
        "html": html,
        "related": related,
        "image": row.get("lead_image") if prefs["images"] and "<img" not in (row["html"] or "") else None,
        "image_alt": (row.get("meta") or {}).get("lead_image_alt") or "",
    }


def strip_images(html: str) -> str:
    """Article HTML without pictures (the reader turned images off)."""
    return re.sub(r"<(?:img|source)\b[^>]*>", "", html or "", flags=re.IGNORECASE)


def note_read(request: Request, article_id: int) -> dict[str, Any] | None:
    """Opening an article marks it read for the signed-in reader; the first open is a reading signal.

    Returns the reader's state of the article (None when anonymous)."""
    user = current_web_user(request)
    if user is None:
        return None
    engine, settings = request.app.state.engine, request.app.state.settings
    reading.mark(engine, settings, user.id, [article_id], "read", True)
    return reading.state_of(engine, user.id, [article_id]).get(article_id)


@router.get("/articles/{article_id}")
async def article_page(request: Request, article_id: Id) -> Response:
    """One article: clean text, captions, related links, follow-able topics and entities."""
    data = await run_in_threadpool(load_article, request, article_id)
    if data is None:
        raise HTTPException(status_code=404, detail="No such article.")
    data["state"] = await run_in_threadpool(note_read, request, article_id)
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
            previous = story_repo.read_story(conn, user.id, story_id, ids)
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


ListingPage = Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGES)]


@router.get("/topics/{name:path}")
def topic_page(request: Request, name: Name, page: ListingPage = 1) -> Response:
    """The newest articles on a topic, 20 a page, with a Follow button."""
    offset = (page - 1) * PAGE_SIZE
    name = topic_key(name)
    with request.app.state.engine.connect() as conn:
        rows = article_repo.article_rows(
            conn, topic_repo.topic_article_ids(conn, name, PAGE_SIZE + 1, offset)
        )
    if not rows and page == 1:
        raise HTTPException(status_code=404, detail="No articles on this topic yet.")
    context = {"kind": "topic", "name": name, "rows": rows, "target": f"topic:{name}"}
    return listing(request, context, page)


@router.get("/entities/{key:path}")
def entity_page(request: Request, key: Name, page: ListingPage = 1) -> Response:
    """The newest articles mentioning a person, place or organisation, 20 a page, with a Follow button."""
    offset = (page - 1) * PAGE_SIZE
    with request.app.state.engine.connect() as conn:
        name = article_repo.entity_name(conn, key)
        ids = article_repo.entity_article_ids(conn, key, PAGE_SIZE + 1, offset) if name else []
        rows = article_repo.article_rows(conn, ids)
    if not name:
        raise HTTPException(status_code=404, detail="No such person, place or organisation.")
    context = {"kind": "entity", "name": name, "rows": rows, "target": f"entity:{name}"}
    return listing(request, context, page)


def listing(request: Request, context: dict[str, Any], page: int) -> Response:
    """A topic or entity page: one page of rows, and links to the pages around it."""
    rows = context["rows"]
    context = {
        **context,
        "rows": rows[:PAGE_SIZE],
        "page": page,
        "has_more": len(rows) > PAGE_SIZE and page < MAX_SEARCH_PAGES,
        "follows": follow_targets(request),
        "here": request.url.path,
    }
    return render(request, "listing.html", context)


def parse_day(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A YYYY-MM-DD date from a form field (empty means no filter); a bad one is noted in `errors`."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = "Write dates as YYYY-MM-DD, for example 2024-03-02."
        return None


def day_start(value: date | None, plus_days: int = 0) -> datetime | None:
    """Midnight UTC of a date (or of a later day)."""
    return datetime.combine(value, time.min, tzinfo=UTC) + timedelta(days=plus_days) if value else None


@router.get("/search")
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    source: Annotated[str, Query(max_length=200)] = "",
    topic: Annotated[str, Query(max_length=200)] = "",
    since_text: Annotated[str, Query(alias="from", max_length=10)] = "",
    until_text: Annotated[str, Query(alias="to", max_length=10)] = "",
    sort: Annotated[str, Query(max_length=16)] = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_SEARCH_PAGES)] = 1,
) -> Response:
    """Full-text search (OR, "phrases") with source, topic and date filters, sort and paging; filters alone
    browse. A bad date is shown beside its field with what was typed kept."""
    errors: dict[str, str] = {}
    since, until = parse_day(since_text, "from", errors), parse_day(until_text, "to", errors)
    order: Sort = "date" if sort == "date" else "relevance"
    filters = SearchFilters(source or None, topic or None, day_start(since), day_start(until, 1))
    active = bool(q.strip() or filters.source or filters.topic or since or until)
    with request.app.state.engine.connect() as conn:
        results = (
            search_rows(conn, q, filters, order, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
            if active and not errors
            else []
        )
        sources = [s for s, _ in article_repo.popular_sources(conn, 100)]
        topics = [t for t, _ in topic_repo.popular_topics(conn, 100)]
    context = {
        "q": q,
        "source": source,
        "topic": topic,
        "since": since_text,
        "until": until_text,
        "sort": order,
        "active": active,
        "errors": errors,
        "results": results[:PAGE_SIZE],
        "first": (page - 1) * PAGE_SIZE + 1,
        "page": page,
        "has_more": len(results) > PAGE_SIZE and page < MAX_SEARCH_PAGES,
        "page_url": page_url(request),
        "sources": sorted(sources, key=str.casefold),
        "topics": sorted(topics, key=str.casefold),
    }
    return render(request, "search.html", context, status=422 if errors else 200)


def page_url(request: Request) -> str:
    """This page's URL without its page number, ready for "&page=N"."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode(kept)}"


def reading_mix(conn: Connection, user_id: int, days: int = MIX_DAYS, top: int = 6) -> dict[str, Any]:
    """Shares of the reader's reading (click/read/like/save) by topic and by source over recent days."""
    ids = user_repo.event_article_ids(conn, user_id, READING_KINDS, utcnow() - timedelta(days=days))
    rows = {r["id"]: r for r in article_repo.article_rows(conn, list(dict.fromkeys(ids)))}
    topics: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for row in (rows[i] for i in ids if i in rows):
        sources[row.get("source") or "unknown"] += 1
        topics.update(topics_of_row(row)[:1] or ["(no topic)"])
    shares = charts.shares
    return {"events": len(ids), "days": days, "topics": shares(topics, top), "sources": shares(sources, top)}


@router.get("/reading")
def reading_page(request: Request) -> Response:
    """The reader's reading mix over the last 30 days, as two bar charts."""
    user = require_user(request)
    with request.app.state.engine.connect() as conn:
        mix = reading_mix(conn, user.id)
    context = {
        "mix": mix,
        "topic_chart": charts.bar_chart(mix["topics"]),
        "source_chart": charts.bar_chart(mix["sources"]),
    }
    return render(request, "reading.html", context)
