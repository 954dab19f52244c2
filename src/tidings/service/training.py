"""Impression logging and `tidings train`: fit the instance's ranking weights on its own clicks."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tidings.config import Settings
from tidings.rank import FEATURES, FeedResult, train_weights
from tidings.rank.scoring import POSITIVE_KINDS
from tidings.store import users as user_repo
from tidings.store.util import as_utc, utcnow

WEIGHTS_FILE = "weights.json"


def weights_path(settings: Settings) -> Path:
    """Where the instance's trained weights live."""
    return settings.home / WEIGHTS_FILE


def instance_weights(settings: Settings) -> dict[str, float] | None:
    """The adopted trained weights, or None for the defaults (an unreadable file counts as none)."""
    path = weights_path(settings)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    weights = data.get("weights") if isinstance(data, dict) else None
    if not isinstance(weights, dict):
        return None
    return {k: float(v) for k, v in weights.items() if k in FEATURES and isinstance(v, int | float)}


def impression_features(result: FeedResult) -> list[dict[str, float]]:
    """Each shown item's raw feature values (the ranking stage reports them with every card)."""
    return [{k: float(v) for k, v in item.features.items() if k in FEATURES} for item in result.items]


def record_impressions(engine: Engine, user_id: int, result: FeedResult) -> int:
    """Log one impression per shown item, with its features, for later training."""
    rows = impression_features(result)
    now = utcnow()
    with engine.begin() as conn:
        for item, features in zip(result.items, rows, strict=True):
            user_repo.record_event(
                conn, user_id, int(item.article_id), None, "impression", None, features, at=now
            )
    return len(rows)


def impression_key(user_id: int, shown_at: datetime) -> tuple[int, str]:
    """Which impression a logged row belongs to: one reader's items shown within the same hour.

    A feed view logs all its items at one time; a client that posts its impressions one by one still has
    them compared with what the same reader was shown around then.
    """
    return user_id, (as_utc(shown_at) or shown_at).strftime("%Y-%m-%dT%H")


def logged_examples(engine: Engine) -> list[tuple[dict[str, float], bool, tuple[int, str]]]:
    """(features, clicked, impression) for each logged row: clicked when the reader engaged afterwards."""
    with engine.connect() as conn:
        shown = user_repo.logged_impressions(conn)
        engaged = user_repo.engagements(conn, POSITIVE_KINDS)
    first_engagement: dict[tuple[int, int], Any] = {}
    for user_id, article_id, engaged_at in engaged:
        key = (user_id, article_id)
        at = as_utc(engaged_at)
        if key not in first_engagement or at < first_engagement[key]:
            first_engagement[key] = at
    out = []
    for user_id, article_id, features, at in shown:
        clicked_at = first_engagement.get((user_id, article_id))
        clicked = bool(clicked_at and clicked_at >= as_utc(at))
        out.append((dict(features), clicked, impression_key(user_id, at)))
    return out


def train(engine: Engine, settings: Settings, dry_run: bool = False) -> dict[str, Any]:
    """Fit weights on logged impressions; adopt them (weights.json) only when the held-out check wins."""
    current = instance_weights(settings)
    examples = logged_examples(engine)
    weights, report = train_weights(
        [(features, clicked) for features, clicked, _ in examples],
        current=current,
        impressions=[key for _, _, key in examples],
    )
    if report.get("adopted") and not dry_run:
        settings.home.mkdir(parents=True, exist_ok=True)
        weights_path(settings).write_text(json.dumps({"weights": weights, "report": report}, indent=2))
    return {**report, "weights": weights, "path": str(weights_path(settings))}
