"""Synthetic signatures for the stories tests (no models)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tidings.stories.signature import ArticleSignature

DIM = 16
BASE_TIME = datetime(2024, 3, 1, 12, tzinfo=UTC)


def direction(seed: int) -> np.ndarray:
    """Basis vector `seed` for small seeds (events are orthogonal), else a reproducible random unit vector."""
    if 0 <= seed < DIM:
        return np.eye(DIM, dtype=np.float32)[seed]
    vec = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vec / np.linalg.norm(vec)


def sig_about(
    aid: int,
    event: int,
    title: str,
    entities: dict[str, int],
    hours: float = 0.0,
    noise: float = 0.15,
    source: str = "a",
) -> ArticleSignature:
    """An article close to an event's direction, with given headline and entities."""
    vec = direction(event) + noise * direction(1000 + aid)
    return ArticleSignature(aid, title, vec, entities, BASE_TIME + timedelta(hours=hours), source=source)
