"""Write prepared, enriched articles in one transaction per batch, re-checking duplicates under the lock."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from tidings.ingest.urls import host_of
from tidings.models import Enrichment
from tidings.pipeline.enrichment import pack_embedding
from tidings.pipeline.prepare import PreparedArticle
from tidings.store import articles as article_repo
from tidings.store import sources as source_repo
from tidings.store.util import as_utc, utcnow


def classify(conn: Connection, prepared: PreparedArticle) -> tuple[str, dict[str, Any] | None]:
    """Decide new / duplicate / updated against what is stored; returns (status, existing row)."""
    existing = None
    if prepared.canonical_url:
        existing = article_repo.find_by_canonical_url(conn, prepared.canonical_url)
    if existing is None:
        same_content = article_repo.find_by_content_hash(conn, prepared.content_hash)
        return ("duplicate", same_content) if same_content else ("new", None)
    if existing["content_hash"] == prepared.content_hash:
        return "duplicate", existing
    feedless = prepared.raw.source_id is None and source_repo.is_page_source(conn, existing.get("source_id"))
    if is_update(existing, prepared, feedless):
        clash = article_repo.find_by_content_hash(conn, prepared.content_hash)
        return ("duplicate", existing) if clash and clash["id"] != existing["id"] else ("updated", existing)
    return "duplicate", existing


def same_origin(existing: dict[str, Any], prepared: PreparedArticle, feedless: bool = False) -> bool:
    """True when the incoming article comes from the stored one's source and host.

    Only the publisher may change its own article: another feed (or a page on another host) that names the
    same URL, say with a tracking parameter added, is at most a duplicate. `feedless` says that the stored
    article came from no feed either (it sits in a publisher's "page" source), so the host alone decides.
    """
    if existing.get("source_id") != prepared.raw.source_id and not feedless:
        return False
    return host_of(existing.get("url") or "") == host_of(prepared.article.url or "")


def is_update(existing: dict[str, Any], prepared: PreparedArticle, feedless: bool = False) -> bool:
    """A changed article from the same source and host replaces the stored one when it is fuller or newer."""
    if not same_origin(existing, prepared, feedless):
        return False
    if prepared.is_teaser and not existing["is_teaser"]:
        return False  # never downgrade full text to a feed teaser
    if existing["is_teaser"] and not prepared.is_teaser:
        return True
    stored = as_utc(existing.get("published_at"))
    incoming = as_utc(prepared.article.published_at)
    if not stored or not incoming or is_date_only(stored):
        return False  # a date without a time says nothing about which version is newer
    return incoming > stored


def is_date_only(moment: datetime) -> bool:
    """True for midnight-exact timestamps, which usually come from a bare date."""
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def article_values(prepared: PreparedArticle, now: datetime) -> dict[str, Any]:
    """Column values for one prepared article."""
    art = prepared.article
    published = art.published_at
    return {
        "url": art.url,
        "canonical_url": prepared.canonical_url,
        "content_hash": prepared.content_hash,
        "source_id": prepared.raw.source_id,
        "source": prepared.source_name,
        "title": art.title,
        "standfirst": art.standfirst,
        "byline": art.byline,
        "published_at": published,
        "language": art.language,
        "section": prepared.raw.section,
        "text": art.text,
        "html": art.html,
        "captions": list(art.captions),
        "related_links": [asdict(link) for link in art.related_links],
        "tags": list(art.tags),
        "lead_image": art.lead_image or prepared.raw.meta.get("lead_image"),
        "status": art.status,
        "is_teaser": prepared.is_teaser,
        "fulltext_next_try": now if prepared.is_teaser else None,
        "meta": {**prepared.raw.meta, **({"notes": art.notes} if art.notes else {})} or None,
        "sort_time": published if published and published <= now else now,
        "fingerprint": prepared.fingerprint,
        "updated_at": now,
    }


def art_url(values: dict[str, Any]) -> str:
    """The article's URL (canonical first)."""
    return str(values.get("canonical_url") or values.get("url") or "")


def site_of(url: str) -> str | None:
    """scheme://host/ of an http(s) URL, else None."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") and parts.netloc else None


def write_article(
    conn: Connection, prepared: PreparedArticle, enrichment: Enrichment | None
) -> tuple[str, int]:
    """Store one article (inside the caller's transaction); returns (status, article id)."""
    status, existing = classify(conn, prepared)
    now = utcnow()
    if status == "duplicate" and existing is not None:
        return status, int(existing["id"])
    values = article_values(prepared, now)
    if not values["language"] and enrichment is not None:
        values["language"] = enrichment.language
    if status == "updated" and existing is not None:
        article_id = int(existing["id"])
        values.pop("source_id", None)
        article_repo.update_article(conn, article_id, values)
    else:
        if not values["source_id"]:  # from a file, a pasted URL or a seed: group it under its publisher
            values["source_id"] = source_repo.publisher_source(
                conn, values["source"], site_of(art_url(values))
            )
        article_id = article_repo.insert_article(conn, {**values, "ingested_at": now})
    if enrichment is not None:
        article_repo.save_enrichment(conn, article_id, enrichment, pack_embedding(enrichment))
    return status, article_id
