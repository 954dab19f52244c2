"""Simulated readers on the real BBC News articles: does the ranker learn hidden interests from clicks?

Each reader has hidden interests (one favourite section and a few favourite named entities), browses with
position bias and noise, and clicks. After 5, 20 and 50 clicks, each method ranks the unread articles and
we score its top 10 against the hidden relevance with nDCG@10. This checks the machinery, not real users.

Run: .venv/bin/python bench/readers.py [--readers 40] [--tfidf]   (prints JSON)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tidings.rank import (
    Candidate,
    CandidatePool,
    FeedbackEvent,
    Profile,
    UserControls,
    build_feed,
    update_profile,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bbc-news"
CACHE_DIR = Path("/tmp/tidings-bench-cache")
NOW = datetime(2005, 3, 1, 12, tzinfo=UTC)
CHECKPOINTS = (5, 20, 50)
N_SOURCES = 10
BACKGROUND_READERS = 150
METHODS = ("tidings", "tidings_no_exploration", "chronological", "popular", "content")
_NAME = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b")


@dataclass
class Corpus:
    """The BBC articles as ranking candidates, with their section and entities."""

    candidates: list[Candidate]
    sections: list[str]
    entities: list[set[str]]


def load_articles(root: Path) -> list[tuple[str, str, str]]:
    """(section, title, body) for every article under root/<section>/NNN.txt."""
    out = []
    for path in sorted(root.glob("*/*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace").strip()
        title, _, body = text.partition("\n")
        out.append((path.parent.name, title.strip(), body.strip()))
    return out


def find_entities(texts: list[str], min_docs: int = 5) -> list[set[str]]:
    """Capitalised multi-word names (people, firms, places) seen in at least `min_docs` articles."""
    found = [{m.lower() for m in _NAME.findall(t)} for t in texts]
    df = Counter(e for names in found for e in names)
    return [{e for e in names if df[e] >= min_docs} for names in found]


EMBEDDINGS_USED = {"name": "tfidf"}


def embed(texts: list[str], use_tfidf: bool) -> npt.NDArray[np.float32]:
    """Sentence embeddings from the enrichment stage (cached under /tmp), else TF-IDF + SVD."""
    if not use_tfidf:
        try:
            from tidings.config import Settings
            from tidings.enrich.embeddings import embed_texts, get_encoder

            settings = Settings()
            model = get_encoder(settings).name  # the cache must not outlive a change of model or backend
            digest = hashlib.sha1("\n".join([model, *texts]).encode()).hexdigest()[:12]
            cache = CACHE_DIR / f"bbc-{digest}.npy"
            EMBEDDINGS_USED["name"] = f"embed_texts ({model})"
            if cache.exists():
                return np.load(cache)
            vectors = np.asarray(embed_texts(texts, settings), dtype=np.float32)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors)
            return vectors
        except Exception as exc:
            print(f"embeddings unavailable ({exc}); using TF-IDF", file=sys.stderr)
    from tidings.eval.mind import tfidf_embedder

    return tfidf_embedder(texts)(texts)


def build_corpus(root: Path, use_tfidf: bool, seed: int = 0) -> Corpus:
    """Candidates dated over the last two days, spread over a few synthetic sources."""
    rng = np.random.default_rng(seed)
    rows = load_articles(root)
    texts = [f"{t}. {b[:600]}" for _, t, b in rows]
    vectors = embed(texts, use_tfidf)
    entities = find_entities([f"{t}. {b}" for _, t, b in rows])
    cands = []
    for i, ((section, title, body), names) in enumerate(zip(rows, entities, strict=True)):
        cands.append(
            Candidate(
                article_id=i,
                story_id=None,
                title=title,
                source=f"source{int(rng.integers(0, N_SOURCES))}.example",
                topics=[section],
                entity_keys=[f"name:{n.replace(' ', '-')}" for n in sorted(names)],
                keywords=f"{title} {body[:300]}".lower(),
                published_at=NOW - timedelta(hours=float(rng.uniform(0, 48))),
                embedding=vectors[i],
            )
        )
    return Corpus(cands, [r[0] for r in rows], entities)


@dataclass
class Reader:
    """Hidden interests: graded relevance 0-2 per article."""

    relevance: npt.NDArray[np.float64]


def make_reader(corpus: Corpus, rng: np.random.Generator) -> Reader:
    """A favourite section plus three favourite entities (often from other sections)."""
    section = str(rng.choice(sorted(set(corpus.sections))))
    common = Counter(e for names in corpus.entities for e in names)
    pool = [e for e, c in common.items() if 8 <= c <= 60] or sorted(common)
    favourites = set(rng.choice(sorted(pool), size=min(3, len(pool)), replace=False)) if pool else set()
    rel = np.array(
        [
            (s == section) + bool(names & favourites)
            for s, names in zip(corpus.sections, corpus.entities, strict=True)
        ],
        dtype=np.float64,
    )
    return Reader(rel)


def browse(reader: Reader, rng: np.random.Generator, clicks_wanted: int) -> tuple[list[int], list[int]]:
    """Clicks and skipped impressions from scanning shuffled pages of 10 with position bias and noise."""
    clicks: list[int] = []
    skipped: list[int] = []
    order = list(rng.permutation(reader.relevance.size))
    while len(clicks) < clicks_wanted and order:
        page, order = order[:10], order[10:]
        for pos, art in enumerate(page):
            examined = rng.uniform() < 1.0 / (1.0 + 0.25 * pos)
            p_click = 1.0 / (1.0 + np.exp(-3.0 * (reader.relevance[art] - 0.8)))
            if examined and (rng.uniform() < p_click or rng.uniform() < 0.03):
                clicks.append(int(art))
            elif examined:
                skipped.append(int(art))
    return clicks[:clicks_wanted], skipped


def popularity(corpus: Corpus, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Clicks from a background population of simulated readers."""
    counts = np.zeros(len(corpus.candidates), dtype=np.float32)
    for _ in range(BACKGROUND_READERS):
        for art in browse(make_reader(corpus, rng), rng, 20)[0]:
            counts[art] += 1
    return counts


def rank_tidings(
    pool: CandidatePool, clicks: list[int], skipped: list[int], explore: bool = True
) -> list[int]:
    """The top 10 of a Tidings feed for a profile built from the same events."""
    profile = Profile()
    for art in skipped:
        profile = update_profile(
            profile,
            FeedbackEvent("impression", art, NOW),
            pool.candidate_at(pool.row_of_id[str(art)]),
            NOW,
            in_place=True,
        )
    for art in clicks:
        profile = update_profile(
            profile,
            FeedbackEvent("click", art, NOW),
            pool.candidate_at(pool.row_of_id[str(art)]),
            NOW,
            in_place=True,
        )
    controls = UserControls() if explore else UserControls(exploration_share=0.0)
    feed = build_feed(profile, controls, pool, NOW, limit=10)
    return [int(i.article_id) for i in feed.items]


def evaluate(corpus: Corpus, readers: int, seed: int) -> dict[str, dict[str, float]]:
    """Mean nDCG@10 per method and checkpoint over the same simulated readers."""
    rng = np.random.default_rng(seed)
    pop = popularity(corpus, rng)
    for c, p in zip(corpus.candidates, pop, strict=True):
        c.popularity = float(p)
    pool = CandidatePool.from_candidates(corpus.candidates)
    emb = np.stack([c.embedding for c in corpus.candidates if c.embedding is not None])
    stamps = np.array([c.published_at.timestamp() for c in corpus.candidates if c.published_at])
    results: dict[str, dict[int, list[float]]] = {m: {k: [] for k in CHECKPOINTS} for m in METHODS}
    for _ in range(readers):
        reader = make_reader(corpus, rng)
        clicks_all, skipped_all = browse(reader, rng, max(CHECKPOINTS))
        for k in CHECKPOINTS:
            clicks = clicks_all[:k]
            last = set(clicks)
            skipped = [s for s in skipped_all if s not in last][: 3 * k]
            unread = np.ones(len(corpus.candidates), dtype=bool)
            unread[clicks] = False
            ideal = reader.relevance[unread]
            centroid = emb[clicks].mean(axis=0)
            orders = {
                "chronological": np.argsort(-stamps),
                "popular": np.argsort(-pop, kind="stable"),
                "content": np.argsort(-(emb @ centroid)),
            }
            tops = {m: [int(a) for a in o if unread[a]][:10] for m, o in orders.items()}
            tops["tidings"] = [a for a in rank_tidings(pool, clicks, skipped) if unread[a]][:10]
            tops["tidings_no_exploration"] = [
                a for a in rank_tidings(pool, clicks, skipped, False) if unread[a]
            ][:10]
            for method, top in tops.items():
                results[method][k].append(_ndcg10(reader.relevance, top, ideal))
    return {
        m: {f"after_{k}_clicks": round(float(np.mean(v)), 4) for k, v in by_k.items()}
        for m, by_k in results.items()
    }


def _ndcg10(relevance: npt.NDArray[np.float64], top: list[int], ideal_pool: npt.NDArray[np.float64]) -> float:
    """nDCG@10 of a top-10 list against the best 10 unread articles (gains 2^rel - 1)."""
    best = np.sort(ideal_pool)[::-1][:10]
    dcg = sum((2**r - 1) / np.log2(i + 2) for i, r in enumerate(relevance[top]))
    idcg = sum((2**r - 1) / np.log2(i + 2) for i, r in enumerate(best))
    return float(dcg / idcg) if idcg > 0 else 0.0


def main() -> None:
    """Run the simulation and print JSON (skips cleanly when the BBC data is absent)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tfidf", action="store_true", help="use TF-IDF instead of sentence embeddings")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        print(json.dumps({"skipped": f"BBC News data not found at {args.data}"}))
        return
    corpus = build_corpus(args.data, args.tfidf)
    results = evaluate(corpus, args.readers, args.seed)
    at20 = {m: r["after_20_clicks"] for m, r in results.items()}
    summary = {
        "articles": len(corpus.candidates),
        "readers": args.readers,
        "embeddings": EMBEDDINGS_USED["name"],
        "ndcg10": results,
        "tidings_vs_chronological_at_20": round(at20["tidings"] / max(at20["chronological"], 1e-9), 2),
        "meets_target": at20["tidings"] >= 1.5 * at20["chronological"] and at20["tidings"] > at20["content"],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
