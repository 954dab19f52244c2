"""Teasers' full text: retry those whose time has come, replacing each with its page's text or scheduling
another try."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from tidings.config import Settings
from tidings.extract import extract_html
from tidings.ingest.documents import RawItem
from tidings.ingest.fetcher import Fetcher, FetchError, decode_body
from tidings.pipeline.aliases import resolve_enrichment
from tidings.pipeline.enrichment import enrich_prepared, pack_embedding
from tidings.pipeline.prepare import TEASER_MAX_CHARS, PreparedArticle, content_hash, keep_http_urls
from tidings.store import articles as article_repo
from tidings.store.engine import write_lock
from tidings.store.util import utcnow
from tidings.stories import text_fingerprint

FULLTEXT_BATCH = 20
FULLTEXT_MAX_ATTEMPTS = 6


def upgrade_teaser(engine: Engine, settings: Settings, fetcher: Fetcher, row: dict[str, Any]) -> bool:
    """Fetch and extract one teaser's page; True when the article now has its full text."""
    attempts = int(row.get("fulltext_attempts") or 0) + 1
    try:
        result = fetcher.fetch(row["url"])
        page = extract_html(decode_body(result), result.url)
        keep_http_urls(page)
        if page.status != "ok" or len(page.text) < TEASER_MAX_CHARS:
            raise ValueError(f"page gave no article text ({page.status})")
    except (FetchError, ValueError) as exc:
        with engine.begin() as conn:
            article_repo.update_article(
                conn,
                row["id"],
                {
                    "fulltext_attempts": attempts,
                    "fulltext_error": str(exc)[:500],
                    "fulltext_next_try": utcnow() + backoff_after(attempts),
                },
            )
        return False
    with engine.connect() as conn:
        stored = article_repo.get_article(conn, row["id"])
    if stored is None:
        return False
    prepared = PreparedArticle(
        raw=RawItem(origin=row["url"], url=row["url"]),
        article=page,
        canonical_url=None,
        content_hash=content_hash(stored["title"], page.text),
        is_teaser=False,
        source_name=stored.get("source"),
    )
    page.title = stored["title"]
    enrichment = enrich_prepared([prepared], settings)[0]
    with engine.begin() as conn, write_lock(conn):
        if article_repo.find_by_content_hash(conn, prepared.content_hash):
            article_repo.update_article(conn, row["id"], {"is_teaser": False, "fulltext_attempts": attempts})
            return False
        article_repo.update_article(
            conn,
            row["id"],
            {
                "text": page.text,
                "html": page.html,
                "standfirst": page.standfirst or stored.get("standfirst"),
                "byline": stored.get("byline") or page.byline,
                "captions": list(page.captions),
                "related_links": [{"title": r.title, "url": r.url} for r in page.related_links],
                "content_hash": prepared.content_hash,
                "fingerprint": text_fingerprint(page.text),
                "is_teaser": False,
                "fulltext_attempts": attempts,
                "fulltext_error": None,
                "updated_at": utcnow(),
            },
        )
        enrichment = resolve_enrichment(conn, enrichment)
        article_repo.save_enrichment(conn, row["id"], enrichment, pack_embedding(enrichment))
    return True


def retry_full_text(engine: Engine, settings: Settings, fetcher: Fetcher, limit: int = FULLTEXT_BATCH) -> int:
    """Fetch the pages of teaser articles whose retry time has come; returns how many got full text."""
    now = utcnow()
    with engine.connect() as conn:
        rows = article_repo.teasers_due(conn, now, FULLTEXT_MAX_ATTEMPTS, limit)
    done = 0
    for row in rows:
        if upgrade_teaser(engine, settings, fetcher, row):
            done += 1
    return done


def count_pending_full_text(conn: Connection) -> int:
    """Teasers still waiting for their page."""
    return article_repo.count_teasers_pending(conn, FULLTEXT_MAX_ATTEMPTS)


def backoff_after(attempts: int) -> timedelta:
    """Wait before the next full-text try: 10 min doubling per attempt, at most a day."""
    return min(timedelta(minutes=10 * 2 ** max(attempts - 1, 0)), timedelta(days=1))
