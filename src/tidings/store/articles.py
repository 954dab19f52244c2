"""Article and enrichment rows: lookups, inserts, updates and the contract's article object."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, delete, func, insert, select, update

from tidings.models import Enrichment, entity_chips, entity_type_label
from tidings.store.engine import is_sqlite
from tidings.store.tables import article_entities, article_topics, articles, enrichments, sources, stories
from tidings.store.util import as_utc, chunks, first_row, iso, utcnow
from tidings.vocabulary import topic_key, with_parents


def find_by_canonical_url(conn: Connection, canonical_url: str) -> dict[str, Any] | None:
    """The article stored under this canonical URL, if any."""
    return first_row(conn, select(articles).where(articles.c.canonical_url == canonical_url))


def find_by_content_hash(conn: Connection, content_hash: str) -> dict[str, Any] | None:
    """The article whose normalised content hashes to this value, if any."""
    return first_row(conn, select(articles).where(articles.c.content_hash == content_hash))


def insert_article(conn: Connection, values: dict[str, Any]) -> int:
    """Insert one article row and return its id."""
    result = conn.execute(insert(articles).values(**values))
    article_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    if values.get("source_id"):
        conn.execute(
            update(sources)
            .where(sources.c.id == values["source_id"])
            .values(article_count=sources.c.article_count + 1)
        )
    return article_id


def update_article(conn: Connection, article_id: int, values: dict[str, Any]) -> None:
    """Update columns of one article."""
    conn.execute(update(articles).where(articles.c.id == article_id).values(**values))


def save_enrichment(conn: Connection, article_id: int, enrichment: Enrichment, packed: bytes | None) -> None:
    """Replace the enrichment of one article, with its entity and topic index rows."""
    conn.execute(delete(enrichments).where(enrichments.c.article_id == article_id))
    conn.execute(delete(article_entities).where(article_entities.c.article_id == article_id))
    conn.execute(delete(article_topics).where(article_topics.c.article_id == article_id))
    conn.execute(
        insert(enrichments).values(
            article_id=article_id,
            language=enrichment.language,
            entities=[asdict(e) for e in enrichment.entities],
            topics=list(enrichment.topics),
            iptc_topic=enrichment.iptc_topic,
            key_points=list(enrichment.key_points),
            embedding=packed,
            embedding_model=enrichment.embedding_model,
            versions=dict(enrichment.versions),
            skipped=list(enrichment.skipped),
            updated_at=utcnow(),
        )
    )
    rows: dict[str, dict[str, Any]] = {}
    for entity in enrichment.entities:
        rows.setdefault(
            entity.key,
            {
                "article_id": article_id,
                "entity_key": entity.key,
                "name": entity.name,
                "type": entity.type,
                "count": entity.count,
            },
        )
    if rows:  # one executemany per table: an article has dozens of entities
        conn.execute(insert(article_entities), list(rows.values()))
    topics = [{"article_id": article_id, "topic": t} for t in dict.fromkeys(enrichment.topics)]
    if topics:
        conn.execute(insert(article_topics), topics)


def story_of(conn: Connection, article_id: int) -> int | None:
    """The story an article belongs to, or None."""
    story_id = conn.execute(select(articles.c.story_id).where(articles.c.id == article_id)).scalar()
    return None if story_id is None else int(story_id)


def articles_after(conn: Connection, after_id: int) -> list[tuple[int, bytes | None, int | None]]:
    """(id, fingerprint, story id) of every article with an id above after_id, in id order."""
    rows = conn.execute(
        select(articles.c.id, articles.c.fingerprint, articles.c.story_id)
        .where(articles.c.id > after_id)
        .order_by(articles.c.id)
    ).all()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def newest_ids_after(conn: Connection, after_id: int, limit: int) -> list[int]:
    """Ids of the newest `limit` articles with an id above after_id, oldest first."""
    rows = conn.execute(
        select(articles.c.id).where(articles.c.id > after_id).order_by(articles.c.id.desc()).limit(limit)
    ).scalars()
    return sorted(int(i) for i in rows)


def newest_id(conn: Connection) -> int:
    """The highest article id (0 in an empty store)."""
    return int(conn.execute(select(func.coalesce(func.max(articles.c.id), 0))).scalar_one())


IN_CHUNK = 500  # ids per IN (...) list of the by-id reads below


def entity_counts(conn: Connection, ids: list[int]) -> dict[int, dict[str, int]]:
    """Each article's stored entity keys with their mention counts (articles with none left out)."""
    grouped: dict[int, dict[str, int]] = {}
    for chunk in chunks(ids, IN_CHUNK):
        rows = conn.execute(
            select(
                article_entities.c.article_id, article_entities.c.entity_key, article_entities.c.count
            ).where(article_entities.c.article_id.in_(chunk))
        ).all()
        for aid, key, count in rows:
            grouped.setdefault(aid, {})[key] = count
    return grouped


_SIGNATURE_COLUMNS = (
    articles.c.title,
    articles.c.text,
    articles.c.published_at,
    articles.c.source,
    articles.c.ingested_at,
    articles.c.fingerprint,
)


def signature_fields(conn: Connection, article_id: int) -> RowMapping:
    """The columns the stories stage's signature is built from (title, text, published_at, source,
    ingested_at, fingerprint); raises when the article does not exist."""
    return conn.execute(select(*_SIGNATURE_COLUMNS).where(articles.c.id == article_id)).mappings().one()


def signature_rows(conn: Connection, ids: list[int]) -> dict[int, RowMapping]:
    """signature_fields of many articles, by id, one query per IN_CHUNK ids (ids with no article left out)."""
    found: dict[int, RowMapping] = {}
    for chunk in chunks(ids, IN_CHUNK):
        query = select(articles.c.id, *_SIGNATURE_COLUMNS).where(articles.c.id.in_(chunk))
        for row in conn.execute(query).mappings():
            found[int(row["id"])] = row
    return found


def stored_embeddings(conn: Connection, ids: list[int]) -> dict[int, bytes]:
    """The packed embeddings of many articles, by id (articles without one left out)."""
    found: dict[int, bytes] = {}
    for chunk in chunks(ids, IN_CHUNK):
        query = select(enrichments.c.article_id, enrichments.c.embedding).where(
            enrichments.c.article_id.in_(chunk)
        )
        found.update((int(aid), blob) for aid, blob in conn.execute(query) if blob)
    return found


def with_enrichment(*columns: Any) -> Select[Any]:
    """A select of columns from articles left-joined to their enrichments (None where not enriched)."""
    return select(*columns).select_from(
        articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id)
    )


def story_and_time(conn: Connection, article_id: int) -> RowMapping | None:
    """An article's story id, sort time and published time, or None when there is no such article."""
    return (
        conn.execute(
            select(articles.c.story_id, articles.c.sort_time, articles.c.published_at).where(
                articles.c.id == article_id
            )
        )
        .mappings()
        .first()
    )


def titles_of(conn: Connection, ids: list[int]) -> dict[int, str]:
    """The titles of the articles with these ids."""
    rows = conn.execute(select(articles.c.id, articles.c.title).where(articles.c.id.in_(ids))).all()
    return {int(aid): title for aid, title in rows}


def enrichment_versions(conn: Connection) -> list[tuple[int, dict[str, str] | None]]:
    """(id, enricher versions) of every article in id order; None where it has no enrichment."""
    rows = conn.execute(with_enrichment(articles.c.id, enrichments.c.versions).order_by(articles.c.id)).all()
    return [(int(aid), versions) for aid, versions in rows]


def enrich_fields(conn: Connection, ids: list[int]) -> list[RowMapping]:
    """What the enricher reads of each article (id, title, text, standfirst, tags, language, source)."""
    query = select(
        articles.c.id,
        articles.c.title,
        articles.c.text,
        articles.c.standfirst,
        articles.c.tags,
        articles.c.language,
        articles.c.source,
    ).where(articles.c.id.in_(ids))
    return list(conn.execute(query).mappings().all())


def teasers_due(conn: Connection, now: datetime, max_attempts: int, limit: int) -> list[dict[str, Any]]:
    """Teasers whose next full-text try has come and that have tries left (id, url, fulltext_attempts),
    the longest-waiting first."""
    query = (
        select(articles.c.id, articles.c.url, articles.c.fulltext_attempts)
        .where(
            articles.c.is_teaser.is_(True),
            articles.c.fulltext_next_try <= now,
            articles.c.fulltext_attempts < max_attempts,
        )
        .order_by(articles.c.fulltext_next_try)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def count_teasers_pending(conn: Connection, max_attempts: int) -> int:
    """Teasers still waiting for their page (with tries left)."""
    query = (
        select(func.count())
        .select_from(articles)
        .where(articles.c.is_teaser.is_(True), articles.c.fulltext_attempts < max_attempts)
    )
    return int(conn.execute(query).scalar_one())


def get_article(conn: Connection, article_id: int) -> dict[str, Any] | None:
    """One article row merged with its enrichment columns, or None."""
    query = with_enrichment(
        articles,
        enrichments.c.entities,
        enrichments.c.topics,
        enrichments.c.key_points,
        enrichments.c.iptc_topic,
        enrichments.c.skipped,
        enrichments.c.versions,
    ).where(articles.c.id == article_id)
    return first_row(conn, query)


def list_latest(conn: Connection, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The newest articles (by published time, else ingest time), duplicates left out."""
    query = (
        select(
            articles.c.id,
            articles.c.title,
            articles.c.source,
            articles.c.url,
            articles.c.sort_time,
            articles.c.published_at,
            articles.c.standfirst,
            articles.c.story_id,
            articles.c.is_teaser,
            articles.c.text,
            articles.c.lead_image,
            articles.c.meta,
        )
        .where(articles.c.duplicate_of.is_(None))
        .order_by(articles.c.sort_time.desc(), articles.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


LISTING_COLUMNS = (
    articles.c.id,
    articles.c.title,
    articles.c.source,
    articles.c.sort_time,
    articles.c.published_at,
    articles.c.standfirst,
    articles.c.tags,
    articles.c.story_id,
    enrichments.c.topics,
)


def _listing(conn: Connection, ids: list[int], *extra: Any) -> dict[int, dict[str, Any]]:
    """Article id -> the listing columns (and extra ones) of those ids, with the sort time in UTC."""
    if not ids:
        return {}
    query = (
        select(*LISTING_COLUMNS, *extra)
        .select_from(articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id))
        .where(articles.c.id.in_(ids))
    )
    rows = conn.execute(query).mappings()
    return {int(r["id"]): {**dict(r), "sort_time": as_utc(r["sort_time"])} for r in rows}


def article_rows(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    """List rows (id, title, source, time, standfirst, tags, topics) for ids, in the given order."""
    by_id = _listing(conn, ids)
    return [by_id[i] for i in ids if i in by_id]


def card_details(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Article id -> what a card shows beyond the ranking: listing fields, key points, topic keys, image."""
    rows = _listing(conn, ids, articles.c.lead_image, articles.c.meta, enrichments.c.key_points)
    return {i: {**r, "topics": topics_of_row(r)} for i, r in rows.items()}


def popular_sources(conn: Connection, limit: int = 24) -> list[tuple[str, int]]:
    """Publisher names by how many articles they have."""
    rows = conn.execute(
        select(articles.c.source, func.count())
        .where(articles.c.source.is_not(None))
        .group_by(articles.c.source)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [(str(s), int(n)) for s, n in rows]


def entity_name(conn: Connection, key: str) -> str | None:
    """The most common display name of an entity key, or None when unknown."""
    row = conn.execute(
        select(article_entities.c.name, func.count())
        .where(article_entities.c.entity_key == key)
        .group_by(article_entities.c.name)
        .order_by(func.count().desc())
        .limit(1)
    ).first()
    return str(row[0]) if row else None


def entity_article_ids(conn: Connection, key: str, limit: int = 50, offset: int = 0) -> list[int]:
    """Newest articles mentioning an entity."""
    query = (
        select(articles.c.id)
        .join(article_entities, article_entities.c.article_id == articles.c.id)
        .where(article_entities.c.entity_key == key, articles.c.duplicate_of.is_(None))
        .order_by(articles.c.sort_time.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(i) for i in conn.execute(query).scalars()]


# On PostgreSQL, writers run concurrently, so an enrichment stamped earlier may commit after a later one;
# it is still caught within this margin. SQLite writers hold the write lock for the whole transaction, so
# stamps follow commit order there.
CHANGE_LOOKBACK = timedelta(seconds=10)


def change_mark_columns() -> tuple[Any, Any, Any]:
    """The three scalar subqueries of `change_marks`, for callers that read them with other marks at once."""
    return (
        select(func.coalesce(func.max(articles.c.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(stories.c.revision), 0)).scalar_subquery(),
        select(func.max(enrichments.c.updated_at)).scalar_subquery(),
    )


def change_marks(conn: Connection) -> tuple[int, int, datetime | None]:
    """Newest article id, story revision and enrichment time: three index lookups that change whenever an
    article is added, re-clustered or (re-)enriched, in this process or another."""
    newest, revision, enriched = conn.execute(select(*change_mark_columns())).one()
    return int(newest), int(revision), as_utc(enriched)


def database_clock(conn: Connection) -> datetime | None:
    """The server's clock on PostgreSQL, where writers commit out of stamp order (None on SQLite)."""
    return None if is_sqlite(conn) else as_utc(conn.execute(select(func.now())).scalar_one())


def enriched_since(
    enriched_after: datetime | None, seen: datetime | None, margin: timedelta
) -> datetime | None:
    """Where to start re-reading enrichments for a pool whose newest enrichment was `enriched_after` and
    whose rows were read after the database's clock showed `seen` (None: not known). A writer commits within
    `margin` of its stamp, so what was stamped before `seen - margin` was visible to that read: re-read from
    there, or from `enriched_after` when that is later. Counting back from `enriched_after` alone re-read a
    bulk load whose rows share one stamp (a restore, a re-enrichment, the synthetic benchmark store) in
    full, a rebuild, at the next change after every start."""
    if enriched_after is None:
        return None
    if seen is None:
        return enriched_after - margin
    return min(enriched_after, seen - margin)


def changed_article_ids(
    conn: Connection,
    after_id: int,
    after_revision: int,
    enriched_after: datetime | None,
    seen: datetime | None = None,
) -> set[int]:
    """Articles added after `after_id`, in stories changed after `after_revision`, or enriched after
    `enriched_after` (less a small margin, see `enriched_since`); each part is an index range scan."""
    out = {int(i) for i in conn.execute(select(articles.c.id).where(articles.c.id > after_id)).scalars()}
    changed_stories = select(stories.c.id).where(stories.c.revision > after_revision)
    out.update(
        int(i)
        for i in conn.execute(select(articles.c.id).where(articles.c.story_id.in_(changed_stories))).scalars()
    )
    enriched = select(enrichments.c.article_id)
    since = enriched_since(enriched_after, seen, timedelta(0) if is_sqlite(conn) else CHANGE_LOOKBACK)
    if since is not None:
        enriched = enriched.where(enrichments.c.updated_at > since)
    out.update(int(i) for i in conn.execute(enriched).scalars())
    return out


def count_articles(conn: Connection) -> int:
    """How many articles are stored."""
    return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())


def topics_of_row(row: dict[str, Any]) -> list[str]:
    """An article's topic keys: the enrichment's, else (not enriched) its tags under their keys."""
    names = [str(t) for t in row.get("topics") or row.get("tags") or [] if str(t).strip()]
    return with_parents(list(dict.fromkeys(topic_key(t) for t in names)))


def to_contract(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's article object for a row from get_article."""
    entities = row.get("entities") or []
    chips = {e["key"] for e in entity_chips(entities)}
    return {
        "id": row["id"],
        "url": row.get("url"),
        "canonical_url": row.get("canonical_url"),
        "title": row["title"],
        "standfirst": row.get("standfirst"),
        "byline": row.get("byline"),
        "published_at": iso(as_utc(row.get("published_at"))),
        "source": row.get("source"),
        "language": row.get("language"),
        "text": row.get("text") or "",
        "captions": list(row.get("captions") or []),
        "related_links": list(row.get("related_links") or []),
        "topics": topics_of_row(row),
        "tags": list(row.get("tags") or []),
        "entities": [
            {
                "name": e["name"],
                "type": e["type"],
                "label": entity_type_label(e["type"]),
                "count": e["count"],
                "key": e["key"],
                "salient": e["key"] in chips,
            }
            for e in entities
        ],
        "key_points": list(row.get("key_points") or []),
        "story_id": row.get("story_id"),
        "status": row.get("status"),
        "is_teaser": bool(row.get("is_teaser")),
        "duplicate_of": row.get("duplicate_of"),
        "enrichment_skipped": list(row.get("skipped") or []),
    }
