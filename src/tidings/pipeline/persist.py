"""Write prepared, enriched articles in one transaction per batch, re-checking duplicates under the lock."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tidings.models import Enrichment
from tidings.pipeline.enrichment import pack_embedding
from tidings.pipeline.prepare import PreparedArticle
from tidings.store import articles as article_repo
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
    if is_update(existing, prepared):
        clash = article_repo.find_by_content_hash(conn, prepared.content_hash)
        return ("duplicate", existing) if clash and clash["id"] != existing["id"] else ("updated", existing)
    return "duplicate", existing


def is_update(existing: dict[str, Any], prepared: PreparedArticle) -> bool:
    """A changed article replaces the stored one when it brings full text to a teaser or is newer."""
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
        article_id = article_repo.insert_article(conn, {**values, "ingested_at": now})
    if enrichment is not None:
        article_repo.save_enrichment(conn, article_id, enrichment, pack_embedding(enrichment))
    return status, article_id
