"""Cross-document entity aliases at store time: look up the full names a short name may stand for (through
`store.entities`) and resolve it with the pure rules of `enrich.aliases`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine

from tidings.enrich import aliases
from tidings.models import Enrichment, Entity
from tidings.store import entities as entity_repo
from tidings.store.engine import write_lock

LOOKUP_TYPES = ("PERSON", "GPE", "LOC")


def _entity(row: dict[str, Any]) -> Entity:
    return Entity(
        key=str(row["key"]),
        name=str(row["name"]),
        type=str(row["type"]),
        count=int(row.get("count", 1)),
        salient=bool(row.get("salient", False)),
    )


def resolve_found(
    conn: Connection, found: list[Entity], topics: list[str]
) -> tuple[list[Entity], list[str], int]:
    """An article's entities and topics with short names resolved against the store, and how many changed."""
    words = aliases.probes(found)
    if not words:
        return found, topics, 0
    known = [aliases.KnownName(*row) for row in entity_repo.known_names(conn, words, LOOKUP_TYPES)]
    resolved, renames = aliases.resolve_aliases(found, known)
    if not renames:
        return found, topics, 0
    return resolved, aliases.rename_topics(topics, renames), len(renames)


def resolve_enrichment(conn: Connection, enrichment: Enrichment) -> Enrichment:
    """An enrichment about to be stored, with its short names resolved to the full names the store knows."""
    found, topics, changed = resolve_found(conn, enrichment.entities, enrichment.topics)
    if not changed:
        return enrichment
    return replace(enrichment, entities=found, topics=topics)


def realias_stored(engine: Engine) -> int:
    """Resolve short names again in every stored article, now that the store knows more full names (one
    stored before "Tony Blair" was first named keeps "Blair" until then); returns the names changed."""
    changed_total = 0
    with engine.connect() as conn:
        todo = [
            (aid, ents, topics)
            for aid, ents, topics in entity_repo.iter_enriched(conn)
            if aliases.probes(_entity(e) for e in ents)
        ]
    for aid, ents, topics in todo:
        with engine.begin() as conn, write_lock(conn):
            found, new_topics, changed = resolve_found(conn, [_entity(e) for e in ents], topics)
            if changed:
                entity_repo.replace_entities(conn, aid, found, new_topics)
                changed_total += changed
    return changed_total
