"""Full-text search: FTS5 on SQLite, tsvector on PostgreSQL; OR and quoted phrases, filters, sort, paging."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, DateTime, Float, Integer, Text, bindparam, text

from tidings.store.articles import article_rows
from tidings.vocabulary import tag_names, topic_key

# The stored, GIN-indexed tsvector that migration 0009 adds on PostgreSQL (title and body, 'simple' config).
PG_VECTOR = "a.search_vector"
_TOKEN = re.compile(r"\w+", re.UNICODE)
_PIECE = re.compile(r'"([^"]*)"?|(\S+)')
MAX_TERMS = 20  # words kept from one query: a bounded MATCH expression
MAX_OFFSET = 2000  # deepest result reachable by paging (bm25 top-k with a LIMIT stays cheap)
MAX_TAG_NAMES = 30  # variant tag names tried by a topic filter on articles not enriched yet
RANKED_MATCHES = 5000  # matches scored by relevance, the newest first: bounds a query that matches everything
Sort = Literal["relevance", "date"]
# A query: all groups must match; a group matches when any of its terms does; a term is a word or a phrase.
Groups = list[list[list[str]]]


@dataclass(frozen=True)
class SearchFilters:
    """Filters that also work without any words (browsing)."""

    source: str | None = None
    topic: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def parse_query(query: str) -> Groups:
    """Words, "quoted phrases" and OR between them; only \\w+ tokens survive, so nothing can inject syntax."""
    groups: Groups = []
    join_next = False
    budget = MAX_TERMS
    for phrase, word in _PIECE.findall(query):
        if word == "OR":
            join_next = bool(groups)
            continue
        words = _TOKEN.findall(phrase if phrase else word)[:budget]
        if not words:
            continue
        budget -= len(words)
        if join_next:
            groups[-1].append(words)
        else:
            groups.append([words])
        join_next = False
        if budget <= 0:
            break
    return groups


def fts_query(query: str) -> str:
    """An FTS5 MATCH expression: each word quoted, phrases kept together, OR groups in brackets."""
    return fts5_match(parse_query(query))


def fts5_match(groups: Groups) -> str:
    """The FTS5 form of parsed groups."""

    def term(words: list[str]) -> str:
        return '"' + " ".join(words) + '"'

    parts = [term(g[0]) if len(g) == 1 else "(" + " OR ".join(term(t) for t in g) + ")" for g in groups]
    return " ".join(parts)


def pg_tsquery(groups: Groups) -> str:
    """The to_tsquery('simple', ...) form of parsed groups (phrases with <->)."""

    def term(words: list[str]) -> str:
        return "(" + " <-> ".join(f"'{w.lower()}'" for w in words) + ")"

    return " & ".join("(" + " | ".join(term(t) for t in g) + ")" for g in groups)


def search_articles(conn: Connection, query: str, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Articles matching query, best first: [{"article_id", "title", "source", "score"}]."""
    if not parse_query(query):
        return []
    return search(conn, query, SearchFilters(), "relevance", limit, offset)


def search(
    conn: Connection,
    query: str,
    filters: SearchFilters,
    sort: Sort = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of hits for query (may be empty: then filters alone browse, newest first).

    Each hit is {"article_id", "title", "source", "sort_time", "score"}; the cost is bounded: relevance ranks
    at most the RANKED_MATCHES newest matches, and paging stops at MAX_OFFSET."""
    groups = parse_query(query)
    params: dict[str, Any] = {"limit": max(1, min(limit, 200)), "offset": max(0, min(offset, MAX_OFFSET))}
    where = ["a.duplicate_of IS NULL", *_filter_sql(filters, params)]
    sqlite = conn.dialect.name == "sqlite"
    if not groups:
        source, rank = "articles a", "0.0"
    elif sqlite:
        source = "articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        rank = "-bm25(articles_fts, 3.0, 1.0)"
        where.append("articles_fts MATCH :q")
        params["q"] = fts5_match(groups)
    else:
        # ts_rank reads the stored vector (no re-parse of the body), and the LIMIT keeps only the top k.
        source, rank = "articles a", f"ts_rank({PG_VECTOR}, to_tsquery('simple', :q))"
        where.append(f"{PG_VECTOR} @@ to_tsquery('simple', :q)")
        params["q"] = pg_tsquery(groups)
    conditions = " AND ".join(where)
    columns = f"SELECT a.id, a.title, a.source, a.sort_time, {rank} AS score FROM {source} WHERE {conditions}"
    if groups and sort == "relevance":
        # Rank only the newest RANKED_MATCHES matches (an index range in id order, stopped by the LIMIT), so
        # a word in every article costs no more than a rare one; ties go to the newer article.
        newest = "articles_fts.rowid" if sqlite else "a.id"
        params["scan"] = RANKED_MATCHES
        sql = (
            f"SELECT * FROM ({columns} ORDER BY {newest} DESC LIMIT :scan) AS hits "
            "ORDER BY score DESC, sort_time DESC, id DESC LIMIT :limit OFFSET :offset"
        )
    else:  # by date: a total order, so pages never repeat or skip a hit
        sql = f"{columns} ORDER BY a.sort_time DESC, a.id DESC LIMIT :limit OFFSET :offset"
    stamp = DateTime(timezone=True)
    clause = text(sql).columns(id=Integer, title=Text, source=Text, sort_time=stamp, score=Float)
    for name in ("since", "until"):
        if name in params:
            clause = clause.bindparams(bindparam(name, type_=stamp))
    rows = conn.execute(clause, params).mappings()
    return [
        {
            "article_id": r["id"],
            "title": r["title"],
            "source": r["source"],
            "sort_time": r["sort_time"],
            "score": round(float(r["score"] or 0.0), 4),
        }
        for r in rows
    ]


def _filter_sql(filters: SearchFilters, params: dict[str, Any]) -> list[str]:
    """WHERE fragments (fixed text, bound values) for the filters."""
    out = []
    if filters.source:
        out.append("lower(a.source) = lower(:source)")
        params["source"] = filters.source
    if filters.topic:
        # Articles not enriched yet match by their raw tags: the filter's own words, or any variant name
        # of its key (for a top level, of its second levels too: a tag "Elections" is under "Politics").
        names = list(dict.fromkeys([filters.topic.lower(), *tag_names(filters.topic)]))[:MAX_TAG_NAMES]
        tag_sql = " OR ".join(
            f"lower(CAST(a.tags AS TEXT)) LIKE :tag{i} ESCAPE '!'" for i in range(len(names))
        )
        out.append(
            "(EXISTS (SELECT 1 FROM article_topics t"
            f" WHERE t.article_id = a.id AND lower(t.topic) = lower(:topic)) OR {tag_sql})"
        )
        params["topic"] = topic_key(filters.topic)  # stored topics are keys: "politics" finds "Politics"
        for i, name in enumerate(names):
            escaped = json.dumps(name).replace("!", "!!").replace("%", "!%").replace("_", "!_")
            params[f"tag{i}"] = f"%{escaped}%"
    if filters.since:
        out.append("a.sort_time >= :since")
        params["since"] = filters.since
    if filters.until:
        out.append("a.sort_time < :until")
        params["until"] = filters.until
    return out


def search_rows(
    conn: Connection, query: str, filters: SearchFilters, sort: Sort, limit: int, offset: int
) -> list[dict[str, Any]]:
    """One page of search hits (or, without words, of filtered browsing) as listing rows with their score."""
    hits = search(conn, query, filters, sort, limit, offset)
    rows = {r["id"]: r for r in article_rows(conn, [int(h["article_id"]) for h in hits])}
    return [{**rows[int(h["article_id"])], "score": h["score"]} for h in hits if int(h["article_id"]) in rows]
