"""Replace a stored teaser with the article page's full text, or schedule another try."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.extract import extract_html
from tidings.ingest.fetcher import Fetcher, FetchError, decode_body
from tidings.pipeline.enrichment import enrich_prepared, pack_embedding
from tidings.pipeline.prepare import TEASER_MAX_CHARS, PreparedArticle, content_hash, keep_http_urls
from tidings.store import articles as article_repo
from tidings.store.engine import write_lock
from tidings.store.util import utcnow
from tidings.stories import text_fingerprint


def upgrade_teaser(engine: Engine, settings: Settings, fetcher: Fetcher, row: dict[str, Any]) -> bool:
    """Fetch and extract one teaser's page; True when the article now has its full text."""
    from tidings.pipeline.refresh import backoff_after

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
    from tidings.ingest.documents import RawItem

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
        from tidings.pipeline.aliases import resolve_enrichment

        enrichment = resolve_enrichment(conn, enrichment)
        article_repo.save_enrichment(conn, row["id"], enrichment, pack_embedding(enrichment))
    return True
