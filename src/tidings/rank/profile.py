"""A reader's profile, updated incrementally from each feedback event."""

from __future__ import annotations

import base64
import copy
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tidings.rank.features import (
    Candidate,
    FloatArray,
    normalise_source,
    to_timestamp,
    topic_slug,
)

EVENT_KINDS = ("impression", "click", "read", "like", "dislike", "hide", "save", "share", "more", "fewer")
# Signed strength of each signal; "read" adds a dwell bonus on top.
SIGNAL_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "click": 1.0,
    "read": 1.0,
    "like": 2.0,
    "save": 2.0,
    "share": 2.5,
    "more": 3.0,
    "dislike": -2.0,
    "hide": -2.0,
    "fewer": -3.0,
}
IMPRESSION_SKIP = 0.1  # an unclicked impression is a faint "not for me"
MAX_DWELL_SECONDS = 1800.0
LONG_HALF_LIFE_H = 21 * 24.0
SHORT_HALF_LIFE_H = 24.0
NEGATIVE_HALF_LIFE_H = 30 * 24.0
AFFINITY_HALF_LIFE_H = 30 * 24.0
AFFINITY_PRIOR = 3.0  # pseudo-count that keeps a single click from making a topic a passion
MAX_AFFINITY_KEYS = 400
MAX_POSITIVES = 20
MAX_SEEN = 5000


@dataclass
class FeedbackEvent:
    """One signal from a reader about one article."""

    kind: str
    article_id: str | int
    at: datetime
    dwell_seconds: float | None = None


@dataclass
class PositiveItem:
    """A recently liked or read article, kept to explain "like X that you read"."""

    article_id: str
    title: str
    embedding: FloatArray


@dataclass
class Profile:
    """Everything the ranker knows about one reader."""

    user: str = ""
    dim: int = 0
    long_vec: FloatArray | None = None  # unnormalised decayed sums
    short_vec: FloatArray | None = None
    neg_vec: FloatArray | None = None
    topic_aff: dict[str, list[float]] = field(default_factory=dict)  # normalised topic -> [pos, neg]
    entity_aff: dict[str, list[float]] = field(default_factory=dict)  # entity key -> [pos, neg]
    source_aff: dict[str, list[float]] = field(default_factory=dict)  # normalised source -> [pos, neg]
    topic_labels: dict[str, str] = field(default_factory=dict)  # normalised topic -> display name
    positives: list[PositiveItem] = field(default_factory=list)
    seen_ids: dict[str, float] = field(default_factory=dict)  # article id -> last seen timestamp
    read_ids: set[str] = field(default_factory=set)
    hidden_ids: set[str] = field(default_factory=set)
    hidden_story_ids: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def is_empty(self) -> bool:
        """True for a reader who has given no signal yet."""
        return not any(self.counts.values())

    def to_json(self) -> str:
        """Serialise (vectors as base64 float32) so the store can persist it."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form of `to_json` (for a JSON column, which encodes it once itself)."""
        return _profile_to_dict(self)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        """Load a profile written by `to_json`; raises ValueError on malformed input."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed profile JSON: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Any) -> Profile:
        """Load a profile from the form `to_dict` returns; raises ValueError on malformed input."""
        try:
            return _profile_from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed profile JSON: {exc}") from exc


def affinity_value(pos_neg: list[float]) -> float:
    """A smoothed affinity in (-1, 1) from decayed positive and negative evidence."""
    pos, neg = pos_neg[0], pos_neg[1]
    return (pos - neg) / (pos + neg + AFFINITY_PRIOR)


def _decay(half_life_h: float, hours: float) -> float:
    """Multiplier for evidence `hours` old."""
    return math.pow(0.5, max(hours, 0.0) / half_life_h)


def validate_event(event: FeedbackEvent, item: Candidate | None) -> float:
    """Check an event before it touches a profile; returns the clamped dwell in seconds."""
    if event.kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {event.kind!r}; expected one of {', '.join(EVENT_KINDS)}")
    if item is None:
        raise ValueError(f"unknown or deleted article {event.article_id!r}")
    if str(item.article_id) != str(event.article_id):
        raise ValueError(f"event is for article {event.article_id!r} but the item is {item.article_id!r}")
    dwell = event.dwell_seconds
    if dwell is None:
        return 0.0
    if not math.isfinite(dwell) or dwell < 0:
        raise ValueError(f"dwell must be a finite number of seconds >= 0, got {dwell!r}")
    return min(float(dwell), MAX_DWELL_SECONDS)


def signal_strength(kind: str, dwell: float) -> float:
    """Signed weight of one event; reads gain up to +2 for a long dwell (saturating)."""
    weight = SIGNAL_WEIGHTS[kind]
    if kind == "read":
        weight += 2.0 * dwell / (dwell + 90.0)
    return weight


def update_profile(
    profile: Profile, event: FeedbackEvent, item: Candidate | None, now: datetime, in_place: bool = False
) -> Profile:
    """Return the profile with one event folded in (incremental; the input is untouched unless in_place).

    The event is validated before anything changes, so a bad event never leaves a half-updated profile.
    """
    dwell = validate_event(event, item)
    assert item is not None  # validate_event raised otherwise
    new = profile if in_place else copy.deepcopy(profile)
    _decay_all(new, now)
    aid = str(item.article_id)
    new.counts[event.kind] = new.counts.get(event.kind, 0) + 1
    new.seen_ids.pop(aid, None)
    new.seen_ids[aid] = to_timestamp(event.at)
    while len(new.seen_ids) > MAX_SEEN:
        new.seen_ids.pop(next(iter(new.seen_ids)))
    weight = signal_strength(event.kind, dwell)
    if event.kind in ("click", "read"):
        new.read_ids.add(aid)
    if event.kind == "hide":
        new.hidden_ids.add(aid)
        if item.story_id is not None:
            new.hidden_story_ids.add(str(item.story_id))
    _update_affinities(new, item, weight if event.kind != "impression" else -IMPRESSION_SKIP)
    if weight != 0.0 and item.embedding is not None:
        _update_vectors(new, item, weight)
    return new


def _decay_all(profile: Profile, now: datetime) -> None:
    """Age every decayed quantity from the last update to `now`."""
    if profile.updated_at is not None:
        hours = (to_timestamp(now) - to_timestamp(profile.updated_at)) / 3600.0
        if hours > 0:
            for vec_name, half_life in (
                ("long_vec", LONG_HALF_LIFE_H),
                ("short_vec", SHORT_HALF_LIFE_H),
                ("neg_vec", NEGATIVE_HALF_LIFE_H),
            ):
                vec = getattr(profile, vec_name)
                if vec is not None:
                    setattr(profile, vec_name, (vec * _decay(half_life, hours)).astype(np.float32))
            factor = _decay(AFFINITY_HALF_LIFE_H, hours)
            for table in (profile.topic_aff, profile.entity_aff, profile.source_aff):
                for pair in table.values():
                    pair[0] *= factor
                    pair[1] *= factor
    if profile.updated_at is None or to_timestamp(now) > to_timestamp(profile.updated_at):
        profile.updated_at = now if now.tzinfo else now.replace(tzinfo=UTC)


def _bump(table: dict[str, list[float]], key: str, weight: float) -> None:
    """Add signed evidence to one affinity entry, pruning the weakest entries past the cap."""
    pair = table.setdefault(key, [0.0, 0.0])
    if weight >= 0:
        pair[0] += weight
    else:
        pair[1] -= weight
    if len(table) > MAX_AFFINITY_KEYS:
        weakest = min(table, key=lambda k: table[k][0] + table[k][1])
        del table[weakest]


def _update_affinities(profile: Profile, item: Candidate, weight: float) -> None:
    """Fold one event into the topic, entity and source affinities."""
    if weight == 0.0:
        return
    for topic in item.topics:
        key = topic_slug(topic)
        profile.topic_labels.setdefault(key, topic)
        _bump(profile.topic_aff, key, weight)
    for entity in item.entity_keys:
        _bump(profile.entity_aff, entity, weight)
    if item.source:
        _bump(profile.source_aff, normalise_source(item.source), weight)


def _update_vectors(profile: Profile, item: Candidate, weight: float) -> None:
    """Fold one event into the interest vectors (positive) or the negative vector."""
    vec = np.asarray(item.embedding, dtype=np.float32)
    if profile.dim != vec.shape[0]:
        # A new embedding model: old vectors are meaningless in the new space.
        profile.dim = int(vec.shape[0])
        profile.long_vec = profile.short_vec = profile.neg_vec = None
        profile.positives = []
    zeros = np.zeros(profile.dim, dtype=np.float32)
    if weight > 0:
        profile.long_vec = (profile.long_vec if profile.long_vec is not None else zeros) + weight * vec
        profile.short_vec = (profile.short_vec if profile.short_vec is not None else zeros) + weight * vec
        profile.positives = [p for p in profile.positives if p.article_id != str(item.article_id)]
        profile.positives.append(PositiveItem(str(item.article_id), item.title, vec.copy()))
        profile.positives = profile.positives[-MAX_POSITIVES:]
    else:
        profile.neg_vec = (profile.neg_vec if profile.neg_vec is not None else zeros) - weight * vec
        profile.positives = [p for p in profile.positives if p.article_id != str(item.article_id)]


def _encode(vec: FloatArray | None) -> str | None:
    return None if vec is None else base64.b64encode(np.asarray(vec, np.float32).tobytes()).decode()


def _decode(text: str | None) -> FloatArray | None:
    return None if text is None else np.frombuffer(base64.b64decode(text), dtype=np.float32).copy()


def _profile_to_dict(p: Profile) -> dict[str, Any]:
    return {
        "version": 1,
        "user": p.user,
        "dim": p.dim,
        "long_vec": _encode(p.long_vec),
        "short_vec": _encode(p.short_vec),
        "neg_vec": _encode(p.neg_vec),
        "topic_aff": p.topic_aff,
        "entity_aff": p.entity_aff,
        "source_aff": p.source_aff,
        "topic_labels": p.topic_labels,
        "positives": [[x.article_id, x.title, _encode(x.embedding)] for x in p.positives],
        "seen_ids": p.seen_ids,
        "read_ids": sorted(p.read_ids),
        "hidden_ids": sorted(p.hidden_ids),
        "hidden_story_ids": sorted(p.hidden_story_ids),
        "counts": p.counts,
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
    }


def _profile_from_dict(d: dict[str, Any]) -> Profile:
    positives = []
    for aid, title, emb in d["positives"]:
        vec = _decode(emb)
        if vec is not None:
            positives.append(PositiveItem(str(aid), str(title), vec))
    return Profile(
        user=str(d.get("user", "")),
        dim=int(d["dim"]),
        long_vec=_decode(d["long_vec"]),
        short_vec=_decode(d["short_vec"]),
        neg_vec=_decode(d["neg_vec"]),
        topic_aff={k: [float(a), float(b)] for k, (a, b) in d["topic_aff"].items()},
        entity_aff={k: [float(a), float(b)] for k, (a, b) in d["entity_aff"].items()},
        source_aff={k: [float(a), float(b)] for k, (a, b) in d["source_aff"].items()},
        topic_labels=dict(d.get("topic_labels", {})),
        positives=positives,
        seen_ids={str(k): float(v) for k, v in d["seen_ids"].items()},
        read_ids={str(x) for x in d["read_ids"]},
        hidden_ids={str(x) for x in d["hidden_ids"]},
        hidden_story_ids={str(x) for x in d["hidden_story_ids"]},
        counts={str(k): int(v) for k, v in d["counts"].items()},
        updated_at=datetime.fromisoformat(d["updated_at"]) if d.get("updated_at") else None,
    )
