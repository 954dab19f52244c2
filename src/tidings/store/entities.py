"""Entity index rows: the full names the store knows (for cross-document aliases) and in-place updates of
an article's resolved entities and topics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from tidings.models import Entity
from tidings.store.tables import article_entities, article_topics, enrichments
from tidings.store.util import utcnow

MAX_PROBES = 50  # words looked up at once; an article has few short names


def known_names(
    conn: Connection, words: Iterable[str], types: Iterable[str], exclude_article: int | None = None
) -> list[tuple[str, str, str, int]]:
    """(key, name, type, articles) of stored entities of these types whose name contains any of the words
    (case-insensitive), with the number of articles naming each; the caller checks whole words."""
    probes = sorted({w.casefold() for w in words if w.strip()})[:MAX_PROBES]
    if not probes:
        return []
    name = func.lower(article_entities.c.name)
    query = (
        select(
            article_entities.c.entity_key,
            func.max(article_entities.c.name),
            article_entities.c.type,
            func.count(func.distinct(article_entities.c.article_id)),
        )
        .where(article_entities.c.type.in_(list(types)))
        .where(or_(*(name.contains(w, autoescape=True) for w in probes)))
        .group_by(article_entities.c.entity_key, article_entities.c.type)
    )
    if exclude_article is not None:
        query = query.where(article_entities.c.article_id != exclude_article)
    return [(str(k), str(n), str(t), int(c)) for k, n, t, c in conn.execute(query).all()]


def iter_enriched(
    conn: Connection, batch: int = 500
) -> Iterator[tuple[int, list[dict[str, Any]], list[str]]]:
    """(article id, stored entities, stored topics) of every enriched article, in id order, read in pages."""
    last = 0
    while True:
        rows = conn.execute(
            select(enrichments.c.article_id, enrichments.c.entities, enrichments.c.topics)
            .where(enrichments.c.article_id > last)
            .order_by(enrichments.c.article_id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for aid, ents, topics in rows:
            yield int(aid), list(ents or []), [str(t) for t in topics or []]
        last = int(rows[-1][0])


def replace_entities(conn: Connection, article_id: int, found: list[Entity], topics: list[str]) -> None:
    """Store an article's re-resolved entities and topics, with their index rows (marks it changed)."""
    conn.execute(
        update(enrichments)
        .where(enrichments.c.article_id == article_id)
        .values(entities=[asdict(e) for e in found], topics=list(topics), updated_at=utcnow())
    )
    conn.execute(delete(article_entities).where(article_entities.c.article_id == article_id))
    conn.execute(delete(article_topics).where(article_topics.c.article_id == article_id))
    rows: dict[str, dict[str, Any]] = {}
    for e in found:
        rows.setdefault(
            e.key,
            {"article_id": article_id, "entity_key": e.key, "name": e.name, "type": e.type, "count": e.count},
        )
    if rows:
        conn.execute(insert(article_entities), list(rows.values()))
    if topics:
        conn.execute(
            insert(article_topics), [{"article_id": article_id, "topic": t} for t in dict.fromkeys(topics)]
        )
