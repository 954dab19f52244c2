"""The readers' IDF window: it counts what ingest counts, follows new articles and scores related ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.enrich.embeddings import pack_vector
from tidings.models import Enrichment, Entity
from tidings.pipeline.story_placement import observe_newest, signatures_for
from tidings.service.stories import related_items
from tidings.service.story_idf import store_idf
from tidings.store import articles as article_repo
from tidings.store import open_engine, reset_engines
from tidings.stories import EntityIdf, pair_match

NOW = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)
DIM = 16


def _vector(n: int) -> np.ndarray:
    # Every article leans on one shared axis, so each is the others' near neighbour, plus one of its own.
    vector = np.zeros(DIM, dtype=np.float32)
    vector[0], vector[1 + n % (DIM - 1)] = 1.0, 0.6
    return vector / np.linalg.norm(vector)


def _add(engine: Engine, n: int, entities: list[str], text: str) -> int:
    with engine.begin() as conn:
        aid = article_repo.insert_article(
            conn,
            {
                "content_hash": f"h{n}",
                "title": f"Report {n}",
                "text": text,
                "ingested_at": NOW,
                "sort_time": NOW - timedelta(hours=n),
                "published_at": NOW - timedelta(hours=n),
                "source": f"s{n}",
            },
        )
        named = [Entity(key=key, name=key.split(":")[1], type="GPE", count=2) for key in entities]
        vector = _vector(n)
        enrichment = Enrichment(entities=named, embedding=vector)
        article_repo.save_enrichment(conn, aid, enrichment, pack_vector(vector))
    return aid


def _store(tmp_path: Path, count: int) -> tuple[Engine, list[int]]:
    engine = open_engine(Settings(home=tmp_path, enrich=False))
    ids = [
        _add(engine, n, ["gpe:europe", f"gpe:town-{n}"], f"Ministers met in Europe on harbour tariffs {n}.")
        for n in range(count)
    ]
    return engine, ids


def _as_ingest_counts(engine: Engine, ids: list[int]) -> EntityIdf:
    idf = EntityIdf()
    with engine.connect() as conn:
        for sig in signatures_for(conn, ids):
            idf.observe(sig.idf_keys)
    return idf


def test_the_window_counts_what_ingest_counts_and_follows_new_articles(tmp_path: Path) -> None:
    engine, ids = _store(tmp_path, 6)
    with engine.connect() as conn:
        first = store_idf(conn)
    assert first.document_frequency == _as_ingest_counts(engine, ids).document_frequency
    assert first.documents == 6 and first["europe"] < first["town-1"]  # keys are normalised
    ids.append(_add(engine, 6, ["gpe:lisbon"], "A ferry strike in Lisbon."))
    with engine.connect() as conn:
        second = store_idf(conn)
        assert store_idf(conn) is second  # nothing new: the same snapshot, no re-read
    assert second.documents == 7 and "lisbon" in second
    assert second.document_frequency == _as_ingest_counts(engine, ids).document_frequency
    assert first.documents == 6 and "lisbon" not in first  # a reader's snapshot never changes under it


def test_only_the_newest_articles_are_read_into_a_window(tmp_path: Path) -> None:
    engine, ids = _store(tmp_path, 5)
    small = EntityIdf(window=3)
    with engine.connect() as conn:
        assert article_repo.newest_ids_after(conn, ids[0], 3) == ids[2:]
        assert article_repo.newest_ids_after(conn, ids[-1], 3) == []
        observe_newest(conn, small, ids)
    assert small.documents == 3
    assert "town-1" not in small and "town-2" in small and "town-4" in small


@pytest.mark.sqlite_only  # it deletes the store's file
def test_a_store_emptied_and_filled_again_is_counted_afresh(tmp_path: Path) -> None:
    engine, _ = _store(tmp_path, 4)
    with engine.connect() as conn:
        assert store_idf(conn).documents == 4
    engine.dispose()
    reset_engines()
    (tmp_path / "tidings.db").unlink()
    again, _ = _store(tmp_path, 2)
    with again.connect() as conn:
        idf = store_idf(conn)
    assert idf.documents == 2 and "town-3" not in idf


def test_related_articles_are_scored_with_the_store_idf(tmp_path: Path) -> None:
    engine, ids = _store(tmp_path, 8)
    with engine.connect() as conn:
        items = related_items(conn, ids[0], limit=20)
        assert items is not None and {i["article_id"] for i in items} == set(ids[1:])
        sigs = {s.article_id: s for s in signatures_for(conn, ids)}
        idf = store_idf(conn)
    for item in items:
        weighed = pair_match(sigs[ids[0]], sigs[item["article_id"]], idf).probability
        unweighed = pair_match(sigs[ids[0]], sigs[item["article_id"]]).probability
        assert item["score"] == pytest.approx(weighed, abs=1e-4)
        # "Europe" is in every article: weighed by its rarity it counts for little.
        assert item["score"] < unweighed
