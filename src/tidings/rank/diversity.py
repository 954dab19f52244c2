"""Re-ranking: one card per story, MMR over embeddings, per-source and per-topic caps, exploration slots."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tidings.rank.features import normalise_source, topic_slug


def collapse_stories(story_codes: npt.NDArray[np.int32], scores: npt.NDArray[np.float64]) -> list[int]:
    """Indices of the best-scoring item of each story, best first."""
    order = np.argsort(-scores, kind="stable")
    seen: set[int] = set()
    keep = []
    for i in order:
        code = int(story_codes[i])
        if code not in seen:
            seen.add(code)
            keep.append(int(i))
    return keep


def cap_count(share: float, limit: int, window: int) -> int:
    """How many items one source or topic may hold in a feed of `limit` items."""
    return max(1, math.floor(share * max(limit, window) + 1e-9))


@dataclass
class CapState:
    """Running per-source and per-topic counts against their caps."""

    source_cap: int
    topic_cap: int
    exempt_source: str | None = None
    exempt_topic: str | None = None
    sources: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)

    def violation(self, source: str, topics: list[str]) -> tuple[str, str] | None:
        """("source"|"topic", name) of the cap that adding this item would break, else None."""
        if normalise_source(source) != self.exempt_source and self.sources[source] >= self.source_cap:
            return "source", source
        for topic in topics:
            if topic_slug(topic) != self.exempt_topic and self.topics[topic] >= self.topic_cap:
                return "topic", topic
        return None

    def add(self, source: str, topics: list[str]) -> None:
        """Count one selected item."""
        self.sources[source] += 1
        for topic in set(topics):
            self.topics[topic] += 1


def mmr_select(
    scores: npt.NDArray[np.float64],
    embeddings: npt.NDArray[np.float32] | None,
    sources: list[str],
    topics: list[list[str]],
    count: int,
    lam: float,
    caps: CapState,
) -> tuple[list[int], list[tuple[int, tuple[str, str]]]]:
    """Greedy MMR under caps: the chosen indices in order, and the items a cap pushed out (with the cap)."""
    m = scores.shape[0]
    if m == 0 or count <= 0:
        return [], []
    spread = float(scores.max() - scores.min())
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones(m)
    max_sim = np.zeros(m)
    alive = np.ones(m, dtype=bool)
    chosen: list[int] = []
    capped: list[tuple[int, tuple[str, str]]] = []
    while len(chosen) < count and alive.any():
        value = np.where(alive, lam * relevance - (1.0 - lam) * max_sim, -np.inf)
        i = int(np.argmax(value))
        alive[i] = False
        broken = caps.violation(sources[i], topics[i])
        if broken is not None:
            capped.append((i, broken))
            continue
        caps.add(sources[i], topics[i])
        chosen.append(i)
        if embeddings is not None:
            max_sim = np.maximum(max_sim, embeddings @ embeddings[i])
    return chosen, capped


def exploration_positions(n_main: int, n_explore: int) -> list[int]:
    """Where exploration cards go: spread through the feed, never first."""
    total = n_main + n_explore
    if n_explore == 0:
        return []
    step = total / (n_explore + 1)
    return sorted({min(total - 1, max(1, round(step * (k + 1)))) for k in range(n_explore)})


def interleave(main: list[int], explore: list[int]) -> list[tuple[int, bool]]:
    """Merge main and exploration picks; each entry is (index, is_exploration)."""
    positions = set(exploration_positions(len(main), len(explore)))
    out: list[tuple[int, bool]] = []
    m_iter, e_iter = iter(main), iter(explore)
    for pos in range(len(main) + len(explore)):
        nxt = next(e_iter, None) if pos in positions else None
        if nxt is not None:
            out.append((nxt, True))
            continue
        item = next(m_iter, None)
        if item is None:
            item_e = next(e_iter, None)
            if item_e is not None:
                out.append((item_e, True))
            continue
        out.append((item, False))
    return out
