"""MIND-format evaluation on a tiny hand-written sample with missing news."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tidings.eval.mind import Replay, build_pool, evaluate_mind, read_behaviors, read_news, tfidf_embedder

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "mind"


def _embedder() -> object:
    corpus = [n.title for n in read_news(SAMPLE / "train" / "news.tsv").values()]
    return tfidf_embedder(corpus + [n.title for n in read_news(SAMPLE / "dev" / "news.tsv").values()])


def test_reads_the_format() -> None:
    news = read_news(SAMPLE / "dev" / "news.tsv")
    assert news["N1"].category == "sports" and news["N1"].entities == [("Q901", "Harbour City")]
    rows = read_behaviors(SAMPLE / "dev" / "behaviors.tsv", is_eval=True)
    assert rows[0].history == ["N1", "N3"] and rows[0].shown[0] == ("N13", 1)
    assert rows[3].history == [] and rows[0].at == datetime(2019, 11, 11, 8, 0, tzinfo=UTC)


def test_bad_rows_raise_with_the_line_number(tmp_path: Path) -> None:
    (tmp_path / "behaviors.tsv").write_text("1\tU1\tyesterday\t\tN1-1\n")
    with pytest.raises(ValueError, match=r"behaviors\.tsv:1: bad time"):
        read_behaviors(tmp_path / "behaviors.tsv", is_eval=True)


@pytest.mark.parametrize("method", ["tidings", "popularity", "content"])
def test_every_method_runs_with_missing_news(method: str) -> None:
    result = evaluate_mind(SAMPLE / "dev", SAMPLE / "train", embedder=_embedder(), method=method)  # type: ignore[arg-type]
    assert result["impressions"] == 6 and result["missing_news"] == 2
    for key in ("auc", "mrr", "ndcg5", "ndcg10"):
        assert 0.0 <= result[key] <= 1.0


def test_tidings_beats_both_baselines_on_the_sample() -> None:
    emb = _embedder()
    scores = {
        m: evaluate_mind(SAMPLE / "dev", None, embedder=emb, method=m)["auc"]
        for m in ("tidings", "popularity", "content")
    }  # type: ignore[arg-type]
    assert scores["tidings"] > scores["popularity"] and scores["tidings"] > scores["content"]


def test_popularity_counts_only_earlier_clicks() -> None:
    impressions = read_behaviors(SAMPLE / "dev" / "behaviors.tsv", is_eval=True)
    news = read_news(SAMPLE / "dev" / "news.tsv")
    pool = build_pool(impressions, news, lambda texts: np.eye(len(texts), 8, dtype=np.float32))
    replay = Replay(pool)
    first = impressions[0]
    replay.features(first)
    assert pool.popularity.sum() == 0.0  # nothing is known before the first impression
    replay.learn(first)
    assert pool.popularity[pool.row_of_id["N13"]] == 1.0 and pool.popularity[pool.row_of_id["N14"]] == 0.0
