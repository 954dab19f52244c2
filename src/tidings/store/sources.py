"""Subscribed sources (feeds) and their fetch health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from tidings.store.tables import sources
from tidings.store.util import as_utc, iso, utcnow


def get_or_create_source(
    conn: Connection, url: str, *, kind: str = "feed", title: str | None = None, category: str | None = None
) -> tuple[int, bool]:
    """The id of the source with this URL, creating it when new; returns (id, created)."""
    row = conn.execute(select(sources.c.id).where(sources.c.url == url)).first()
    if row:
        if title or category:
            values = {k: v for k, v in {"title": title, "category": category}.items() if v}
            conn.execute(update(sources).where(sources.c.id == row[0]).values(**values))
        return int(row[0]), False
    result = conn.execute(
        insert(sources).values(
            url=url,
            kind=kind,
            title=title,
            category=category,
            consecutive_failures=0,
            article_count=0,
            created_at=utcnow(),
            next_due=utcnow(),
        )
    )
    return int(result.inserted_primary_key[0]), True  # type: ignore[index]


PUBLISHER_SCHEME = "tidings:publisher:"
PUBLISHERS_FOLDER = "Other sources"


def publisher_key(name: str) -> str:
    """The stored URL that names the publisher group of articles that came from no feed."""
    return PUBLISHER_SCHEME + " ".join(name.split()).casefold()[:500]


def publisher_source(conn: Connection, name: str | None, site_url: str | None) -> int:
    """The id of the "page" source grouping a publisher's articles from files, pasted URLs and seeds.

    Reader apps list one subscription per such source, so that these articles are not invisible there.
    """
    label = (name or "").strip() or "unknown"
    source_id, created = get_or_create_source(conn, publisher_key(label), kind="page", title=label)
    if created:
        values = {"category": PUBLISHERS_FOLDER, "next_due": None, "site_url": site_url}
        conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
    return source_id


def set_subscription_title(conn: Connection, user_id: int, source_id: int, title: str | None) -> bool:
    """Rename one user's subscription (only theirs; None restores the feed's own title)."""
    from tidings.store.tables import user_sources

    clean = " ".join((title or "").split())[:300] or None
    result = conn.execute(
        update(user_sources)
        .where(user_sources.c.user_id == user_id, user_sources.c.source_id == source_id)
        .values(title=clean)
    )
    return bool(result.rowcount)


def delete_source(conn: Connection, source_id: int) -> bool:
    """Delete a feed: every subscription to it goes; its stored articles stay, without a feed."""
    from sqlalchemy import delete

    from tidings.store.tables import articles, user_sources

    conn.execute(delete(user_sources).where(user_sources.c.source_id == source_id))
    conn.execute(update(articles).where(articles.c.source_id == source_id).values(source_id=None))
    return bool(conn.execute(delete(sources).where(sources.c.id == source_id)).rowcount)


def list_sources(conn: Connection, kind: str | None = "feed") -> list[dict[str, Any]]:
    """All sources (of one kind), oldest first."""
    query = select(sources).order_by(sources.c.id)
    if kind:
        query = query.where(sources.c.kind == kind)
    return [dict(r) for r in conn.execute(query).mappings()]


def find_source(conn: Connection, url: str) -> dict[str, Any] | None:
    """The source stored under this URL, or None."""
    row = conn.execute(select(sources).where(sources.c.url == url)).mappings().first()
    return dict(row) if row else None


def get_source(conn: Connection, source_id: int) -> dict[str, Any] | None:
    """One source row."""
    row = conn.execute(select(sources).where(sources.c.id == source_id)).mappings().first()
    return dict(row) if row else None


def due_sources(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Feeds whose next fetch time has come."""
    query = (
        select(sources)
        .where(sources.c.kind == "feed")
        .where(or_(sources.c.next_due.is_(None), sources.c.next_due <= now))
        .order_by(sources.c.next_due)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def record_fetch(conn: Connection, source_id: int, values: dict[str, Any]) -> None:
    """Store the outcome of one fetch (health, validators, next due time)."""
    conn.execute(update(sources).where(sources.c.id == source_id).values(**values))


def to_contract(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's source object, with health fields."""
    failures = row.get("consecutive_failures") or 0
    status = "error" if failures else ("ok" if row.get("last_success") else "pending")
    return {
        "id": row["id"],
        "url": row["url"],
        "title": row.get("title"),
        "category": row.get("category"),
        "status": status,
        "last_fetched": iso(as_utc(row.get("last_fetched"))),
        "last_success": iso(as_utc(row.get("last_success"))),
        "error": row.get("last_error"),
        "consecutive_failures": failures,
        "next_due": iso(as_utc(row.get("next_due"))),
        "articles": row.get("article_count") or 0,
    }
