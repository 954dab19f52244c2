"""Reads behind the ranking stage's candidate pool: article rows with their enrichment and story, entity lists
and story timelines, for every article or for a bounded list of ids."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select

from tidings.store import articles as article_repo
from tidings.store import reading as state_repo
from tidings.store.tables import article_entities, articles, enrichments, stories
from tidings.store.util import as_utc, chunks

LEAD_CHARS = 400  # body characters kept for keyword matching
ID_CHUNK = 5000  # ids per IN (...) list: SQLite and PostgreSQL both cap the parameters of one statement


def id_chunks(ids: Collection[int] | None) -> list[list[int] | None]:
    """`ids` sorted, in bounded pieces for IN lists; [None] (no filter) when ids is None."""
    if ids is None:
        return [None]
    return list(chunks(sorted(ids), ID_CHUNK))


def candidate_rows(conn: Connection, article_ids: Sequence[int] | None = None) -> list[RowMapping]:
    """One row per article that is not a near-duplicate (only `article_ids` when given): its columns, the
    first LEAD_CHARS of its text as "lead", its enrichment's topics and embedding, and its story's
    source_count and state."""
    query = (
        select(
            articles.c.id,
            articles.c.story_id,
            articles.c.title,
            articles.c.source,
            articles.c.sort_time,
            articles.c.published_at,
            articles.c.standfirst,
            func.substr(articles.c.text, 1, LEAD_CHARS).label("lead"),
            enrichments.c.topics,
            enrichments.c.embedding,
            articles.c.tags,
            stories.c.source_count,
            stories.c.state,
        )
        .select_from(
            articles.outerjoin(enrichments, enrichments.c.article_id == articles.c.id).outerjoin(
                stories, stories.c.id == articles.c.story_id
            )
        )
        .where(articles.c.duplicate_of.is_(None))
    )
    if article_ids is None:
        return list(conn.execute(query).mappings().all())
    rows: list[RowMapping] = []
    for chunk in chunks(article_ids, ID_CHUNK):  # in the given order, chunk by chunk
        rows.extend(conn.execute(query.where(articles.c.id.in_(chunk))).mappings().all())
    return rows


def entity_lists(conn: Connection, ids: Collection[int] | None) -> dict[int, tuple[list[str], list[str]]]:
    """Article id -> (entity keys, display names), for `ids` or (None) every article."""
    query = select(article_entities.c.article_id, article_entities.c.entity_key, article_entities.c.name)
    out: dict[int, tuple[list[str], list[str]]] = {}
    for chunk in id_chunks(ids):
        part = query if chunk is None else query.where(article_entities.c.article_id.in_(chunk))
        for aid, key, name in conn.execute(part):
            keys, names = out.setdefault(aid, ([], []))
            keys.append(key)
            names.append(name)
    return out


def story_timelines(conn: Connection, story_ids: Collection[int] | None = None) -> list[Any]:
    """(story id, article sort_time, story last_updated) for each article of a story of two or more, only
    of `story_ids` when given (an index range per story)."""
    query = (
        select(articles.c.story_id, articles.c.sort_time, stories.c.last_updated)
        .join(stories, stories.c.id == articles.c.story_id)
        .where(stories.c.size > 1)
    )
    rows: list[Any] = []
    for chunk in id_chunks(story_ids):
        rows.extend(conn.execute(query if chunk is None else query.where(articles.c.story_id.in_(chunk))))
    return rows


def pool_marks(conn: Connection) -> tuple[tuple[int, int, datetime | None], tuple[int, datetime | None]]:
    """The articles' change marks (`articles.change_marks`) and the reading state's version
    (`reading.reader_version_columns`) in one round trip: a feed request checks both."""
    newest, revision, enriched, accounts, read_newest = conn.execute(
        select(*article_repo.change_mark_columns(), *state_repo.reader_version_columns())
    ).one()
    return (int(newest), int(revision), as_utc(enriched)), (int(accounts), as_utc(read_newest))
