"""Subscribe feeds (from the CLI, OPML files or the starter list) and export them as OPML."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tidings.ingest.opml import OpmlFeed, export_opml
from tidings.ingest.urls import canonicalize_url
from tidings.store import sources as source_repo


def subscribe_opml_feeds(
    engine: Engine, feeds: list[OpmlFeed], shared_names: bool = True
) -> list[dict[str, Any]]:
    """Add each OPML feed as a source (idempotent); returns the contract's source objects.

    shared_names=False (a reader's own subscription) leaves the shared row's title to the feed itself
    and its folder empty; the reader's title and folder are stored with their subscription instead.
    """
    out = []
    with engine.begin() as conn:
        for feed in feeds:
            title, category = (feed.title, feed.category) if shared_names else (None, None)
            source_id, _ = source_repo.get_or_create_source(
                conn, canonicalize_url(feed.url), kind="feed", title=title, category=category
            )
            row = source_repo.get_source(conn, source_id)
            if row:
                out.append(source_repo.to_contract(row))
    return out


def subscribe_url(
    engine: Engine, url: str, title: str | None = None, shared_names: bool = True
) -> dict[str, Any]:
    """Subscribe one feed URL; returns its source object."""
    feed = OpmlFeed(url=url, title=title, html_url=None, category=None)
    return subscribe_opml_feeds(engine, [feed], shared_names)[0]


def export_sources_opml(engine: Engine) -> str:
    """Every subscribed feed as an OPML document, folders from categories."""
    with engine.connect() as conn:
        rows = source_repo.list_sources(conn)
    feeds = [
        OpmlFeed(url=r["url"], title=r.get("title"), html_url=r.get("site_url"), category=r.get("category"))
        for r in rows
    ]
    return export_opml(feeds)
