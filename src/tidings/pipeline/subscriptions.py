"""Subscribe feeds (from the CLI, OPML files or the starter list) and export them as OPML."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.ingest.feeds import parse_feed
from tidings.ingest.fetcher import Fetcher, FetchError
from tidings.ingest.opml import OpmlFeed, export_opml
from tidings.ingest.urls import canonicalize_url
from tidings.models import ParsedFeed
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


class NotAFeedError(ValueError):
    """A URL that could not be fetched or is not a feed."""


def validate_feed(settings: Settings, url: str) -> ParsedFeed:
    """Fetch url (with the fetcher's limits) and parse it; NotAFeedError unless it is a readable feed."""
    try:
        with Fetcher(settings) as fetcher:
            result = fetcher.fetch(url)
    except FetchError as exc:
        raise NotAFeedError(f"could not fetch {url}: {exc}") from None
    parsed = parse_feed(result.content, result.url)
    if not parsed.entries and not parsed.title:
        raise NotAFeedError(f"not a feed: {url} ({'; '.join(parsed.warnings)[:200] or 'no entries'})")
    return parsed


def subscribe_checked(engine: Engine, settings: Settings, url: str) -> dict[str, Any]:
    """Subscribe a feed URL after fetching and validating it; its title and website come from the feed."""
    parsed = validate_feed(settings, url)
    source = subscribe_url(engine, url)
    with engine.begin() as conn:
        values = {"site_url": parsed.site_url, "ttl_seconds": parsed.ttl_seconds}
        if not source.get("title") and parsed.title:
            values["title"] = parsed.title[:500]
        source_repo.record_fetch(conn, int(source["id"]), {k: v for k, v in values.items() if v})
        row = source_repo.get_source(conn, int(source["id"]))
    return source_repo.to_contract(row) if row else source


def export_sources_opml(engine: Engine) -> str:
    """Every subscribed feed as an OPML document, folders from categories."""
    with engine.connect() as conn:
        rows = source_repo.list_sources(conn)
    feeds = [
        OpmlFeed(url=r["url"], title=r.get("title"), html_url=r.get("site_url"), category=r.get("category"))
        for r in rows
    ]
    return export_opml(feeds)
