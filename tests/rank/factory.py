"""Synthetic candidates for ranking tests: clustered embeddings, several sources, topics and stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tidings.rank import Candidate

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
TOPICS = ["politics", "sport", "science", "business", "culture", "North Korea"]
DIM = 32


def make_candidates(n: int = 300, seed: int = 0, n_sources: int = 12, hours: float = 70.0) -> list[Candidate]:
    """`n` articles in stories of 1-4, each story on one topic with embeddings near that topic's centroid."""
    rng = np.random.default_rng(seed)
    centroids = rng.standard_normal((len(TOPICS), DIM)).astype(np.float32)
    out: list[Candidate] = []
    story = 0
    while len(out) < n:
        size = int(rng.integers(1, 5))
        topic = int(rng.integers(0, len(TOPICS)))
        base = centroids[topic] + 0.3 * rng.standard_normal(DIM).astype(np.float32)
        published = NOW - timedelta(hours=float(rng.uniform(0.5, hours)))
        size = min(size, n_sources)
        sources = rng.choice(n_sources, size=size, replace=False)
        for k in range(size):
            i = len(out)
            vec = base + 0.2 * rng.standard_normal(DIM).astype(np.float32)
            vec /= np.linalg.norm(vec)
            word = ["budget", "match", "telescope", "merger", "festival", "missile"][topic]
            title = f"Item {i} on {TOPICS[topic]} {word}"
            out.append(
                Candidate(
                    article_id=i,
                    story_id=f"s{story}",
                    title=title,
                    source=f"site{int(sources[k])}.example",
                    topics=[TOPICS[topic]],
                    entity_keys=[f"person:figure-{story % 17}"],
                    entity_names=[f"Figure {story % 17}"],
                    keywords=title.lower(),
                    published_at=published + timedelta(minutes=10 * k),
                    embedding=vec.astype(np.float32),
                    story_size=size,
                    story_velocity=float(rng.integers(0, 5)),
                    popularity=float(rng.poisson(3)),
                )
            )
            if len(out) >= n:
                break
        story += 1
    return out
