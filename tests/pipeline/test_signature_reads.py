"""Signatures read back from the store in batches: their order, their fields and a missing id."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.enrich.embeddings import pack_vector
from tidings.models import Enrichment, Entity
from tidings.pipeline.story_placement import ClusterCache, signatures_for, story_members, sync_cache
from tidings.store import articles as article_repo
from tidings.store import open_engine
from tidings.stories import EntityIdf, StoryState, Weights, add_to_story
from tidings.stories.signature import TERM_PREFIX

NOW = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)


def _store(tmp_path: Path) -> tuple[Engine, list[int]]:
    engine = open_engine(Settings(home=tmp_path, enrich=False))
    ids = []
    with engine.begin() as conn:
        for n in range(3):
            aid = article_repo.insert_article(
                conn,
                {
                    "content_hash": f"h{n}",
                    "title": f"Harbour fire {n}",
                    "text": f"Crews fought the fire for {n + 3} hours in 2024.",
                    "ingested_at": NOW,
                    "sort_time": NOW,
                    "published_at": NOW if n else None,
                    "source": f"s{n}",
                },
            )
            vector = np.eye(8, dtype=np.float32)[n]
            entity = Entity(key=f"gpe:harbour-{n % 2}", name="Harbour", type="GPE", count=n + 1)
            enrichment = Enrichment(entities=[entity], embedding=vector)
            article_repo.save_enrichment(conn, aid, enrichment, pack_vector(vector) if n < 2 else None)
            ids.append(aid)
    return engine, ids


def test_batched_signatures_match_and_keep_the_order(tmp_path: Path) -> None:
    engine, ids = _store(tmp_path)
    with engine.connect() as conn:
        batch = signatures_for(conn, list(reversed(ids)))
        assert [s.article_id for s in batch] == list(reversed(ids))
        first, second, third = reversed(batch)
        assert first.published_at is None and second.published_at == NOW
        assert first.entity_keys and first.entity_keys != second.entity_keys
        assert first.embedding is not None and second.embedding is not None
        assert float(first.embedding @ second.embedding) == pytest.approx(0, abs=0.02)
        assert third.embedding is None  # stored without one
        assert first.numbers >= {"2024"} and first.word_count > 5
        # "fire" is one of scikit-learn's English stop words.
        assert first.body_terms == {"~crews": 1, "~fought": 1, "~harbou": 1, "~hours": 1}
        with pytest.raises(KeyError):
            signatures_for(conn, [ids[0], 10_000])


def test_story_members_read_missing_members_back_and_cache_them(tmp_path: Path) -> None:
    engine, ids = _store(tmp_path)
    with engine.connect() as conn:
        story = StoryState(story_id=1)
        for sig in signatures_for(conn, ids):
            story = add_to_story(story, sig)
        cache = ClusterCache(weights=Weights(linkage=0.5))  # member linkage keeps member signatures
        members = story_members(conn, cache, story)
        assert [m.article_id for m in members] == ids and set(cache.members) == set(ids)
        partly = ClusterCache(weights=Weights(linkage=0.5))
        held = signatures_for(conn, [ids[1]])[0]
        partly.remember(held)
        again = story_members(conn, partly, story)
        assert again[1] is held and [m.article_id for m in again] == ids  # a cached member is not read again
        off = ClusterCache(weights=Weights(linkage=0.0))  # nothing is cached: still every member, in order
        assert [m.article_id for m in story_members(conn, off, story)] == ids and not off.members


def test_a_cache_syncs_only_the_newest_articles_into_the_idf_window(tmp_path: Path) -> None:
    engine, ids = _store(tmp_path)  # entity keys harbour-0, harbour-1, harbour-0
    with engine.connect() as conn:
        cache = ClusterCache(idf=EntityIdf(window=2))
        sync_cache(conn, cache)
        assert cache.max_article_id == ids[-1] and cache.idf.documents == 2
        assert _entities(cache) == {"harbour-0": 1, "harbour-1": 1}
        whole = ClusterCache()
        sync_cache(conn, whole)
        assert _entities(whole) == {"harbour-0": 2, "harbour-1": 1}
        # Body terms count in the same window: every text says "crews fought the fire".
        assert cache.idf.document_frequency["~fought"] == 2 and whole.idf.document_frequency["~fought"] == 3


def _entities(cache: ClusterCache) -> dict[str, int]:
    return {k: v for k, v in cache.idf.document_frequency.items() if not k.startswith(TERM_PREFIX)}
