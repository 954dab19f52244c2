"""Full-text search: FTS5 on SQLite, tsvector on PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, text

# Must match the expression of the GIN index created by migration 0001.
PG_VECTOR = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(text, ''))"
_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(query: str) -> str:
    """An FTS5 MATCH expression from free text: each word quoted (no operator injection), all required."""
    words = _TOKEN.findall(query)
    return " ".join(f'"{w}"' for w in words[:20])


def search_articles(conn: Connection, query: str, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Articles matching query, best first: [{"article_id", "title", "score"}]."""
    match = fts_query(query)
    if not match:
        return []
    if conn.dialect.name == "sqlite":
        rows = conn.execute(
            text(
                "SELECT a.id, a.title, a.source, a.sort_time, bm25(articles_fts, 3.0, 1.0) AS rank "
                "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
                "WHERE articles_fts MATCH :q AND a.duplicate_of IS NULL "
                "ORDER BY rank LIMIT :limit OFFSET :offset"
            ),
            {"q": match, "limit": limit, "offset": offset},
        ).mappings()
        return [
            {
                "article_id": r["id"],
                "title": r["title"],
                "source": r["source"],
                "score": round(-float(r["rank"]), 4),
            }
            for r in rows
        ]
    rows = conn.execute(
        text(
            f"SELECT id, title, source, ts_rank({PG_VECTOR}, plainto_tsquery('simple', :q)) AS rank "
            f"FROM articles WHERE {PG_VECTOR} @@ plainto_tsquery('simple', :q) AND duplicate_of IS NULL "
            "ORDER BY rank DESC LIMIT :limit OFFSET :offset"
        ),
        {"q": " ".join(_TOKEN.findall(query)), "limit": limit, "offset": offset},
    ).mappings()
    return [
        {"article_id": r["id"], "title": r["title"], "source": r["source"], "score": float(r["rank"])}
        for r in rows
    ]
