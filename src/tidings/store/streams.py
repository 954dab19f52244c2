"""A user's visible articles as the reader apps (and the web app's lists) see them: streams, state, counts.

An article is visible to a user when its source is one of the user's subscriptions (user_sources); every
query here starts from that join, so another user's feeds and read state never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, false, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from tidings.store.subscriptions import CATEGORY, FEED_TITLE, FeedRef, list_user_sources
from tidings.store.tables import article_topics, articles, read_state, sources, user_sources

PAGE_KIND = "page"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ITEM_COLUMNS = (
    articles.c.id,
    articles.c.title,
    articles.c.url,
    articles.c.byline,
    articles.c.source,
    articles.c.source_id,
    articles.c.sort_time,
    articles.c.ingested_at,
    articles.c.html,
    articles.c.text,
    articles.c.story_id,
    FEED_TITLE.label("feed_title"),
    sources.c.url.label("feed_url"),
    sources.c.site_url,
    CATEGORY.label("category"),
    func.coalesce(read_state.c.is_read, false()).label("is_read"),
    func.coalesce(read_state.c.is_starred, false()).label("is_starred"),
)


@dataclass(frozen=True)
class Selection:
    """Which visible articles a stream holds: kind is reading-list, starred, read, label, feed or for-you
    (ranked elsewhere, so not filtered here); label names a folder, feed a feed."""

    kind: str
    label: str = ""
    feed: FeedRef | None = None


@dataclass(frozen=True)
class Window:
    """Filters on top of a stream: unread only, starred only, and an ingest-time range."""

    unread_only: bool = False
    starred_only: bool = False
    newer_than: datetime | None = None
    older_than: datetime | None = None
    oldest_first: bool = False


def visible(user_id: int, *columns: Any) -> Select[Any]:
    """SELECT columns FROM the user's visible articles, with their feed and the user's state joined.

    Visible: the articles of the user's subscriptions, and those that came from no feed (files, pasted
    URLs, seeds), which every reader sees in the web app too, grouped in one "page" source per publisher.
    """
    joined = (
        articles.join(sources, sources.c.id == articles.c.source_id)
        .outerjoin(
            user_sources,
            and_(user_sources.c.source_id == articles.c.source_id, user_sources.c.user_id == user_id),
        )
        .outerjoin(
            read_state, and_(read_state.c.article_id == articles.c.id, read_state.c.user_id == user_id)
        )
    )
    shared = or_(user_sources.c.source_id.is_not(None), sources.c.kind == PAGE_KIND)
    return select(*columns).select_from(joined).where(shared)


def app_sources(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The subscriptions reader apps list: the user's feeds, then one per publisher of feed-less articles."""
    rows = list_user_sources(conn, user_id)
    mine = {int(r["id"]) for r in rows}
    has_articles = select(articles.c.id).where(articles.c.source_id == sources.c.id).exists()
    pages = conn.execute(
        select(sources).where(sources.c.kind == PAGE_KIND, has_articles).order_by(sources.c.id)
    ).mappings()
    return rows + [dict(r) for r in pages if int(r["id"]) not in mine]


def unread_clause() -> ColumnElement[bool]:
    """True for articles the user has not read (no state row counts as unread)."""
    return or_(read_state.c.is_read.is_(None), read_state.c.is_read == false())


def stream_clause(stream: Selection) -> ColumnElement[bool]:
    """The WHERE clause selecting a stream's articles (for-you is ranked elsewhere and not filtered here)."""
    if stream.kind == "starred":
        return read_state.c.is_starred == true()
    if stream.kind == "read":
        return read_state.c.is_read == true()
    if stream.kind == "label":
        return CATEGORY.is_not_distinct_from(stream.label)
    if stream.kind == "feed":
        feed = stream.feed or FeedRef()
        return articles.c.source_id == feed.source_id if feed.source_id is not None else feed.clause()
    return true()


def window_clauses(window: Window) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a window."""
    clauses: list[ColumnElement[bool]] = []
    if window.unread_only:
        clauses.append(unread_clause())
    if window.starred_only:
        clauses.append(read_state.c.is_starred == true())
    if window.newer_than is not None:
        clauses.append(articles.c.ingested_at >= window.newer_than)
    if window.older_than is not None:
        clauses.append(articles.c.ingested_at < window.older_than)
    return clauses


def list_stream_page(
    conn: Connection,
    user_id: int,
    stream: Selection,
    window: Window,
    limit: int,
    after: tuple[int, int] | None = None,
) -> list[tuple[int, datetime]]:
    """(id, sort time) of a stream's articles after a cursor (time in microseconds, id), one page."""
    order = (articles.c.sort_time, articles.c.id)
    ordering = [c.asc() for c in order] if window.oldest_first else [c.desc() for c in order]
    query = visible(user_id, articles.c.id, articles.c.sort_time).where(
        stream_clause(stream), *window_clauses(window)
    )
    if after is not None:
        when = EPOCH + timedelta(microseconds=after[0])
        if window.oldest_first:
            clause = or_(
                articles.c.sort_time > when, and_(articles.c.sort_time == when, articles.c.id > after[1])
            )
        else:
            clause = or_(
                articles.c.sort_time < when, and_(articles.c.sort_time == when, articles.c.id < after[1])
            )
        query = query.where(clause)
    return [(int(r[0]), r[1]) for r in conn.execute(query.order_by(*ordering).limit(limit))]


def filter_ids(conn: Connection, user_id: int, ids: list[int], window: Window) -> list[int]:
    """The ids (in the given order) that are visible to the user and pass the window."""
    if not ids:
        return []
    query = visible(user_id, articles.c.id).where(articles.c.id.in_(ids), *window_clauses(window))
    kept = {int(r[0]) for r in conn.execute(query)}
    return [i for i in ids if i in kept]


def load_items(conn: Connection, user_id: int, ids: list[int]) -> list[dict[str, Any]]:
    """Visible articles with their feed and state, in the order of ids (invisible ids are dropped)."""
    if not ids:
        return []
    rows = conn.execute(visible(user_id, *ITEM_COLUMNS).where(articles.c.id.in_(ids))).mappings()
    by_id = {int(r["id"]): dict(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


STATE_NAMES = {"is_read": "read", "is_starred": "saved"}


def stream_unread_ids(
    conn: Connection, user_id: int, stream: Selection, before: datetime | None
) -> list[int]:
    """The user's unread articles of a stream (only those ingested before `before`, if given)."""
    window = Window(unread_only=True, older_than=before)
    query = visible(user_id, articles.c.id).where(stream_clause(stream), *window_clauses(window))
    return [int(r[0]) for r in conn.execute(query)]


def unread_counts(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """Per subscribed feed: its category, unread count and newest time of an unread article."""
    query = (
        visible(
            user_id,
            articles.c.source_id,
            CATEGORY.label("category"),
            func.count().label("count"),
            func.max(articles.c.sort_time).label("newest"),
        )
        .where(unread_clause())
        .group_by(articles.c.source_id, CATEGORY)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def unread_topic_counts(conn: Connection, user_id: int, limit: int = 30) -> list[dict[str, Any]]:
    """The topics with the most unread articles among the user's visible ones: [{"topic", "count"}]."""
    query = (
        visible(user_id, article_topics.c.topic, func.count().label("count"))
        .join(article_topics, article_topics.c.article_id == articles.c.id)
        .where(unread_clause())
        .group_by(article_topics.c.topic)
        .order_by(func.count().desc(), article_topics.c.topic)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def topic_unread_ids(conn: Connection, user_id: int, topic: str) -> list[int]:
    """The user's visible unread articles on a topic."""
    query = (
        visible(user_id, articles.c.id)
        .join(article_topics, article_topics.c.article_id == articles.c.id)
        .where(unread_clause(), article_topics.c.topic == topic)
    )
    return [int(r[0]) for r in conn.execute(query)]


def state_ids(conn: Connection, user_id: int, field: str, value: bool) -> list[int]:
    """Ids of visible articles whose state field (is_read / is_starred, missing row = False) equals value."""
    column = func.coalesce(getattr(read_state.c, field), false())
    query = visible(user_id, articles.c.id).where(column == value).order_by(articles.c.id)
    return [int(r[0]) for r in conn.execute(query)]


def newest_ingest(conn: Connection, user_id: int) -> datetime | None:
    """When the newest visible article was stored (the reader apps' "last refreshed")."""
    # The highest id is the latest stored; walking the primary key backwards beats MAX() over a join.
    query = visible(user_id, articles.c.ingested_at).order_by(articles.c.id.desc()).limit(1)
    value = conn.execute(query).scalar()
    return value if isinstance(value, datetime) else None


@dataclass(frozen=True)
class IdPage:
    """A page of articles by id (Fever pages by id): after since_id, before max_id, in some feeds."""

    since_id: int | None = None
    max_id: int | None = None
    feeds: list[int] | None = None
    newest_first: bool = False


def item_page(conn: Connection, user_id: int, page: IdPage, limit: int) -> list[dict[str, Any]]:
    """Visible articles ordered by id, with their feed and state."""
    where: list[ColumnElement[bool]] = []
    if page.feeds is not None:
        where.append(articles.c.source_id.in_(page.feeds))
    if page.max_id is not None:
        where.append(articles.c.id < page.max_id)
    if page.since_id is not None:
        where.append(articles.c.id > page.since_id)
    order = articles.c.id.desc() if page.newest_first else articles.c.id.asc()
    query = visible(user_id, *ITEM_COLUMNS).where(*where).order_by(order).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def count_visible(conn: Connection, user_id: int) -> int:
    """How many articles the user can see."""
    return int(conn.execute(visible(user_id, func.count())).scalar_one())
