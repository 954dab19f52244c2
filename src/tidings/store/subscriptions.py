"""A user's subscriptions (user_sources): linking, listing, folders, renames and unsubscribing.

A source (store/sources.py) is shared by every subscriber; each user's own title and folder for it live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from tidings.store import sources as source_repo
from tidings.store.tables import sources, user_sources

# The user's folder for a feed, else the feed's own (an empty user folder counts as none, as in the REST API).
CATEGORY = func.coalesce(func.nullif(user_sources.c.category, ""), sources.c.category)
FEED_TITLE = func.coalesce(func.nullif(user_sources.c.title, ""), sources.c.title, sources.c.url)

Link = tuple[int, str | None] | tuple[int, str | None, str | None]


@dataclass(frozen=True)
class FeedRef:
    """A feed as a reader app names it: by its row id, else by any of its URL spellings."""

    source_id: int | None = None
    urls: frozenset[str] = frozenset()

    def clause(self) -> ColumnElement[bool]:
        """The WHERE clause on sources that picks this feed."""
        if self.source_id is not None:
            return sources.c.id == self.source_id
        return sources.c.url.in_(self.urls)


def link_source(
    conn: Connection, user_id: int, source_id: int, category: str | None = None, title: str | None = None
) -> None:
    """Subscribe a user to a stored source (idempotent); a given folder or title replaces the user's own."""
    mine = user_sources.c.user_id == user_id, user_sources.c.source_id == source_id
    category, title = source_repo.clean_label(category), source_repo.clean_label(title)
    exists = conn.execute(select(user_sources.c.source_id).where(*mine)).first()
    if not exists:
        values = {"user_id": user_id, "source_id": source_id, "category": category, "title": title}
        conn.execute(insert(user_sources).values(**values))
        return
    changes = {k: v for k, v in {"category": category, "title": title}.items() if v}
    if changes:
        conn.execute(update(user_sources).where(*mine).values(**changes))


def link_sources(engine: Engine, user_id: int, linked: list[Link]) -> None:
    """Subscribe a user to several stored sources as (source id, folder[, title]) tuples."""
    with engine.begin() as conn:
        for source_id, category, *title in linked:
            link_source(conn, user_id, source_id, category, title[0] if title else None)


def list_user_sources(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The source rows a user subscribes to, oldest first, with the user's own title and folder."""
    rows = conn.execute(
        select(
            sources,
            user_sources.c.category.label("user_category"),
            user_sources.c.title.label("user_title"),
        )
        .join(user_sources, user_sources.c.source_id == sources.c.id)
        .where(user_sources.c.user_id == user_id)
        .order_by(sources.c.id)
    ).mappings()
    return [
        {**dict(r), "category": r["user_category"] or r["category"], "title": r["user_title"] or r["title"]}
        for r in rows
    ]


def user_source_json(conn: Connection, user_id: int, source_id: int) -> dict[str, Any] | None:
    """The contract's source object of one of the user's subscriptions, as the user names it."""
    return next((s for s in user_sources_json(conn, user_id) if s["id"] == source_id), None)


def user_sources_json(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """The contract's source objects for a user's subscriptions."""
    return [source_repo.to_contract(r) for r in list_user_sources(conn, user_id)]


def subscribed_source_id(conn: Connection, user_id: int, feed: FeedRef) -> int | None:
    """The id of the user's subscription to this feed, else None."""
    row = conn.execute(
        select(sources.c.id)
        .join(user_sources, user_sources.c.source_id == sources.c.id)
        .where(user_sources.c.user_id == user_id, feed.clause())
    ).first()
    return int(row[0]) if row else None


def unsubscribe(conn: Connection, user_id: int, source_id: int) -> bool:
    """Drop one subscription (the shared source and its articles stay); False when there was none."""
    result = conn.execute(
        delete(user_sources).where(user_sources.c.user_id == user_id, user_sources.c.source_id == source_id)
    )
    source_repo.stop_orphans(conn, [source_id])
    return bool(result.rowcount)


def set_folder(conn: Connection, user_id: int, source_id: int, folder: str | None) -> None:
    """Put one of the user's subscriptions in a folder (None: back to the feed's own)."""
    conn.execute(
        update(user_sources)
        .where(user_sources.c.user_id == user_id, user_sources.c.source_id == source_id)
        .values(category=source_repo.clean_label(folder))
    )


def rename_folder(conn: Connection, user_id: int, old: str, new: str | None) -> int:
    """Move every subscription of the user now in folder `old` to `new` (None: the feed's own)."""
    in_old = (
        select(user_sources.c.source_id)
        .select_from(user_sources.join(sources, sources.c.id == user_sources.c.source_id))
        .where(user_sources.c.user_id == user_id, CATEGORY.is_not_distinct_from(old))
    )
    ids = [int(r[0]) for r in conn.execute(in_old)]
    for source_id in ids:
        set_folder(conn, user_id, source_id, new)
    return len(ids)
