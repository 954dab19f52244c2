"""Subscribed sources (feeds) and their fetch health."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, or_, select, update

from tidings.store.tables import articles, sources, user_sources
from tidings.store.util import as_utc, first_row, iso, utcnow


def clean_label(text: str | None, limit: int = 500) -> str | None:
    """A title or folder name fit to store and export: control characters (which XML, and so OPML, cannot
    carry) become spaces, runs of whitespace one space; None when nothing is left."""
    if text is None:
        return None
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff" else c for c in text)
    return " ".join(kept.split())[:limit] or None


def get_or_create_source(
    conn: Connection, url: str, *, kind: str = "feed", title: str | None = None, category: str | None = None
) -> tuple[int, bool]:
    """The id of the source with this URL, creating it when new; returns (id, created).

    title and category name a new source only: a source is shared by every subscriber, so an existing
    one is never renamed or moved here (each user's own title and folder live in user_sources).
    """
    row = conn.execute(select(sources.c.id, sources.c.stopped_at).where(sources.c.url == url)).first()
    if row:
        if row.stopped_at is not None:  # a new subscriber brings a stopped feed back
            conn.execute(
                update(sources).where(sources.c.id == row.id).values(stopped_at=None, next_due=utcnow())
            )
        return int(row[0]), False
    result = conn.execute(
        insert(sources).values(
            url=url,
            kind=kind,
            title=clean_label(title),
            category=clean_label(category),
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


def is_page_source(conn: Connection, source_id: int | None) -> bool:
    """True when source_id is a publisher's "page" source (articles from no feed), not a feed."""
    if source_id is None:
        return False
    kind = conn.execute(select(sources.c.kind).where(sources.c.id == source_id)).scalar_one_or_none()
    return kind == "page"


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
    clean = " ".join((title or "").split())[:300] or None
    result = conn.execute(
        update(user_sources)
        .where(user_sources.c.user_id == user_id, user_sources.c.source_id == source_id)
        .values(title=clean)
    )
    return bool(result.rowcount)


def delete_source(conn: Connection, source_id: int) -> bool:
    """Delete a feed: every subscription to it goes; its stored articles stay, without a feed."""
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
    return first_row(conn, select(sources).where(sources.c.url == url))


def get_source(conn: Connection, source_id: int) -> dict[str, Any] | None:
    """One source row."""
    return first_row(conn, select(sources).where(sources.c.id == source_id))


def hold_until(conn: Connection, source_id: int, until: datetime) -> None:
    """Move a feed's next due time to `until` while a worker fetches it (the fetch then sets the real one)."""
    conn.execute(update(sources).where(sources.c.id == source_id).values(next_due=until))


def due_sources(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Feeds whose next fetch time has come."""
    query = (
        select(sources)
        .where(sources.c.kind == "feed", sources.c.stopped_at.is_(None))
        .where(or_(sources.c.next_due.is_(None), sources.c.next_due <= now))
        .order_by(sources.c.next_due)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def stop_orphans(conn: Connection, source_ids: list[int]) -> int:
    """Stop fetching those of source_ids that no user subscribes to any more; returns how many stopped.

    Feeds nobody ever subscribed to (the starter list, `tidings feeds add`) are site-wide and keep going;
    only the departure of a last subscriber stops a feed.
    """
    if not source_ids:
        return 0
    subscribed = exists().where(user_sources.c.source_id == sources.c.id)
    result = conn.execute(
        update(sources)
        .where(sources.c.id.in_(source_ids), sources.c.stopped_at.is_(None), ~subscribed)
        .values(stopped_at=utcnow())
    )
    return int(result.rowcount or 0)


def subscribed_ids(conn: Connection, user_id: int) -> list[int]:
    """The ids of the sources a user subscribes to."""
    rows = conn.execute(select(user_sources.c.source_id).where(user_sources.c.user_id == user_id))
    return [int(r[0]) for r in rows]


def record_fetch(conn: Connection, source_id: int, values: dict[str, Any]) -> None:
    """Store the outcome of one fetch (health, validators, next due time)."""
    if "title" in values:
        values = {**values, "title": clean_label(values["title"])}
    conn.execute(update(sources).where(sources.c.id == source_id).values(**values))


def to_contract(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's source object, with health fields."""
    failures = row.get("consecutive_failures") or 0
    status = "error" if failures else ("ok" if row.get("last_success") else "pending")
    if row.get("stopped_at"):
        status = "stopped"
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
