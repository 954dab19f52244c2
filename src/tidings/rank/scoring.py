"""The additive scoring model: named features computed column-wise over a pool slice, times weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from tidings.rank.controls import UserControls, compile_keyword
from tidings.rank.features import (
    CandidatePool,
    FloatArray,
    Rows,
    normalise_key,
    normalise_source,
    topic_slug,
)
from tidings.rank.profile import Profile, affinity_value

FEATURES: tuple[str, ...] = (
    "sim_long",
    "sim_short",
    "sim_item",
    "negative",
    "follow_topic",
    "follow_entity",
    "follow_source",
    "follow_story",
    "follow_keyword",
    "topic_affinity",
    "entity_affinity",
    "source_affinity",
    "freshness",
    "story_size",
    "story_velocity",
    "popularity",
    "story_size_new",
    "popularity_new",
    "seen",
    "read",
)
COL = {name: i for i, name in enumerate(FEATURES)}
# Defaults chosen so that a new install behaves: follows dominate, then content taste, then "popular now".
DEFAULT_WEIGHTS: dict[str, float] = {
    "sim_long": 2.0,
    "sim_short": 1.0,
    "sim_item": 1.0,
    "negative": -2.0,
    "follow_topic": 3.0,
    "follow_entity": 3.0,
    "follow_source": 2.0,
    "follow_story": 3.0,
    "follow_keyword": 2.5,
    "topic_affinity": 1.5,
    "entity_affinity": 1.0,
    "source_affinity": 0.5,
    "freshness": 0.4,
    "story_size": 0.6,
    "story_velocity": 0.3,
    "popularity": 0.4,
    # The crowd's signals again, scaled by how new the reader is (1 with no history, 1/2 after WARM_SIGNALS
    # positive signals): with one weight each, training learns how far to trust popularity against content
    # for each profile size.
    "story_size_new": 0.3,
    "popularity_new": 0.3,
    "seen": -0.3,
    "read": -1.5,
}
FRESHNESS_HALF_LIFE_H = 24.0
WARM_SIGNALS = 5.0  # positive signals after which a reader's own taste weighs as much as the crowd's
POSITIVE_KINDS = ("click", "read", "like", "save", "share", "more")


def newness(profile: Profile) -> float:
    """1 for a reader with no positive signal yet, falling as 1 / (1 + signals / WARM_SIGNALS)."""
    signals = sum(profile.counts.get(kind, 0) for kind in POSITIVE_KINDS)
    return 1.0 / (1.0 + signals / WARM_SIGNALS)


def resolve_weights(weights: Mapping[str, float] | None, controls: UserControls) -> npt.NDArray[np.float64]:
    """Instance weights (or defaults), overridden per reader, with switched-off signals at zero."""
    merged = dict(DEFAULT_WEIGHTS)
    for source in (weights or {}, controls.weights):
        for name, value in source.items():
            if name not in COL:
                raise ValueError(f"unknown signal {name!r}; known signals: {', '.join(FEATURES)}")
            merged[name] = float(value)
    for name in controls.disabled:
        if name not in COL:
            raise ValueError(f"unknown signal {name!r}; known signals: {', '.join(FEATURES)}")
        merged[name] = 0.0
    return np.array([merged[n] for n in FEATURES], dtype=np.float64)


def _unit(vec: FloatArray | None, dim: int) -> FloatArray:
    """Unit-length copy, or zeros when absent, empty or of another dimension."""
    if vec is None or vec.shape[0] != dim:
        return np.zeros(dim, dtype=np.float32)
    norm = float(np.linalg.norm(vec))
    return (vec / norm).astype(np.float32) if norm > 0 else np.zeros(dim, dtype=np.float32)


@dataclass
class Context:
    """Profile and controls resolved against one pool's vocabularies, once per request."""

    pool: CandidatePool
    profile: Profile
    controls: UserControls
    now_ts: float
    topic_cols: npt.NDArray[np.float32]  # (T, 3): follow, affinity, mute-any
    entity_cols: npt.NDArray[np.float32]  # (E, 3)
    source_cols: npt.NDArray[np.float32]  # (S, 3)
    followed_stories: npt.NDArray[np.int32]
    hidden_stories: npt.NDArray[np.int32]
    vectors: FloatArray | None  # (d, 3 + P): long, short, negative, recent positives
    mute_rules: list[str] = field(default_factory=list)
    mute_topic: npt.NDArray[np.float32] | None = None  # (T, R) one column per mute rule
    mute_entity: npt.NDArray[np.float32] | None = None
    mute_source: npt.NDArray[np.float32] | None = None
    mute_story: list[npt.NDArray[np.int32]] = field(default_factory=list)
    keyword_mutes: list[tuple[int, object]] = field(default_factory=list)


def build_context(pool: CandidatePool, profile: Profile, controls: UserControls, now_ts: float) -> Context:
    """Resolve follows, mutes, affinities and vectors to arrays over the pool's vocabularies."""
    t_cols = np.zeros((len(pool.topic_names) or 1, 3), dtype=np.float32)
    e_cols = np.zeros((len(pool.entity_keys) or 1, 3), dtype=np.float32)
    s_cols = np.zeros((len(pool.source_names) or 1, 3), dtype=np.float32)
    for value in controls.values("topic"):
        if (code := pool.topic_code_of.get(topic_slug(value))) is not None:
            t_cols[code, 0] = 1.0
    for value in controls.values("entity"):
        for code in _entity_codes(pool, value):
            e_cols[code, 0] = 1.0
    for value in controls.values("source"):
        if (code := pool.source_code_of.get(normalise_source(value))) is not None:
            s_cols[code, 0] = 1.0
    for key, pair in profile.topic_aff.items():
        if (code := pool.topic_code_of.get(key)) is not None:
            t_cols[code, 1] = affinity_value(pair)
    for key, pair in profile.entity_aff.items():
        for code in pool.entity_codes_of.get(key, []):
            e_cols[code, 1] = affinity_value(pair)
    for key, pair in profile.source_aff.items():
        if (code := pool.source_code_of.get(key)) is not None:
            s_cols[code, 1] = affinity_value(pair)
    ctx = Context(
        pool,
        profile,
        controls,
        now_ts,
        topic_cols=t_cols,
        entity_cols=e_cols,
        source_cols=s_cols,
        followed_stories=_story_codes(pool, controls.values("story")),
        hidden_stories=_story_codes(pool, profile.hidden_story_ids),
        vectors=_profile_vectors(pool, profile),
    )
    _resolve_mutes(ctx)
    return ctx


def _entity_codes(pool: CandidatePool, value: str) -> list[int]:
    """Entity codes named by a key ("person:kim-jong-un") or a name ("Kim Jong-un")."""
    return pool.entity_codes_of.get(value) or pool.entity_codes_of.get(normalise_key(value), [])


def _story_codes(pool: CandidatePool, ids: object) -> npt.NDArray[np.int32]:
    codes = [pool.story_code_of[str(s)] for s in ids if str(s) in pool.story_code_of]  # type: ignore[attr-defined]
    return np.array(sorted(codes), dtype=np.int32)


def _profile_vectors(pool: CandidatePool, profile: Profile) -> FloatArray | None:
    """Stack the unit profile vectors as matrix columns, or None when there is nothing to compare."""
    dim = pool.dim
    if dim == 0 or profile.dim != dim or (profile.long_vec is None and profile.neg_vec is None):
        return None
    cols = [_unit(profile.long_vec, dim), _unit(profile.short_vec, dim), _unit(profile.neg_vec, dim)]
    cols += [_unit(p.embedding, dim) for p in profile.positives]
    return np.stack(cols, axis=1)


def _resolve_mutes(ctx: Context) -> None:
    """One column per mute rule, so a single sparse product finds every muted row."""
    pool, mutes = ctx.pool, ctx.controls.mutes
    n = len(mutes)
    topic = np.zeros((len(pool.topic_names) or 1, n), dtype=np.float32)
    entity = np.zeros((len(pool.entity_keys) or 1, n), dtype=np.float32)
    source = np.zeros((len(pool.source_names) or 1, n), dtype=np.float32)
    for r, (kind, value) in enumerate(mutes):
        ctx.mute_rules.append(f"mute {kind}:{value}")
        ctx.mute_story.append(np.zeros(0, dtype=np.int32))
        if kind == "topic" and (code := pool.topic_code_of.get(topic_slug(value))) is not None:
            topic[code, r] = 1.0
        elif kind == "entity":
            entity[_entity_codes(pool, value), r] = 1.0
        elif kind == "source" and (code := pool.source_code_of.get(normalise_source(value))) is not None:
            source[code, r] = 1.0
        elif kind == "story":
            ctx.mute_story[r] = _story_codes(pool, [value])
        elif kind == "keyword":
            ctx.keyword_mutes.append((r, compile_keyword(value)))
    ctx.mute_topic, ctx.mute_entity, ctx.mute_source = topic, entity, source


def mute_rule_index(ctx: Context, rows: Rows) -> npt.NDArray[np.int64]:
    """Per row, the index of the first mute rule that removes it, or -1 (keyword rules excluded)."""
    pool = ctx.pool
    m = _row_count(pool, rows)
    out = np.full(m, -1, dtype=np.int64)
    if not ctx.controls.mutes:
        return out
    assert ctx.mute_topic is not None and ctx.mute_entity is not None and ctx.mute_source is not None
    hits = np.asarray(pool.topic_matrix[rows] @ ctx.mute_topic) + np.asarray(
        pool.entity_matrix[rows] @ ctx.mute_entity
    )
    hits += ctx.mute_source[pool.source_codes[rows]]
    for r, codes in enumerate(ctx.mute_story):
        if codes.size:
            hits[:, r] += np.isin(pool.story_codes[rows], codes)
    muted = hits > 0
    first = np.argmax(muted, axis=1)
    any_hit = muted.any(axis=1)
    out[any_hit] = first[any_hit]
    return out


def keyword_rule(ctx: Context, row: int) -> int:
    """Index of the first keyword mute matching one article, or -1 (run on the shortlist only)."""
    text = ctx.pool.keywords[row]
    for r, pattern in ctx.keyword_mutes:
        if pattern.search(text):  # type: ignore[attr-defined]
            return r
    return -1


def _row_count(pool: CandidatePool, rows: Rows) -> int:
    if isinstance(rows, slice):
        return len(range(*rows.indices(pool.size)))
    return int(rows.shape[0])


@dataclass
class FeatureBlock:
    """Feature values for some rows, plus what the explanations need."""

    rows: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]  # (m, len(FEATURES))
    best_positive: npt.NDArray[np.int64]  # index into profile.positives, -1 when none


def _similarities(ctx: Context, rows: Rows, approximate: bool) -> FloatArray:
    """Cosines of the rows with the profile vectors; from the pool's sketch when approximate."""
    pool = ctx.pool
    assert ctx.vectors is not None and pool.embeddings is not None
    if approximate and pool.sketch is not None and pool.projection is not None:
        vt = np.ascontiguousarray((pool.projection.T @ ctx.vectors).T)
        return np.asarray((vt @ pool.sketch[rows].T).T)
    vt = np.ascontiguousarray(ctx.vectors.T)
    # (V^T E^T)^T runs markedly faster in OpenBLAS than E V for a tall E and a thin V.
    return np.asarray((vt @ pool.embeddings[rows].T).T)


def compute_features(ctx: Context, rows: Rows, approximate: bool = False) -> FeatureBlock:
    """All features for the given rows, column by column (no per-article Python)."""
    pool = ctx.pool
    m = _row_count(pool, rows)
    if isinstance(rows, slice):
        start = rows.indices(pool.size)[0]
        index = np.arange(start, start + m, dtype=np.int64)
    else:
        index = rows
    f = np.zeros((m, len(FEATURES)), dtype=np.float32)
    best = np.full(m, -1, dtype=np.int64)
    if ctx.vectors is not None and pool.embeddings is not None and m:
        sims = _similarities(ctx, rows, approximate)
        f[:, COL["sim_long"]] = np.maximum(sims[:, 0], 0.0)
        f[:, COL["sim_short"]] = np.maximum(sims[:, 1], 0.0)
        f[:, COL["negative"]] = np.maximum(sims[:, 2], 0.0)
        if sims.shape[1] > 3:
            if not approximate:  # only the explanations need which item matched
                best = np.argmax(sims[:, 3:], axis=1).astype(np.int64)
            f[:, COL["sim_item"]] = np.maximum(np.max(sims[:, 3:], axis=1), 0.0)
    topic = np.asarray(pool.topic_matrix[rows] @ ctx.topic_cols[:, :2])
    entity_rows = pool.entity_matrix[rows]
    entity = np.asarray(entity_rows @ ctx.entity_cols[:, :1])
    src = ctx.source_cols[pool.source_codes[rows]]
    f[:, COL["follow_topic"]] = topic[:, 0] > 0
    f[:, COL["follow_entity"]] = entity[:, 0] > 0
    f[:, COL["follow_source"]] = src[:, 0]
    f[:, COL["topic_affinity"]] = np.clip(topic[:, 1], -1.0, 1.0)
    f[:, COL["entity_affinity"]] = _extreme_affinity(entity_rows, ctx.entity_cols[:, 1])
    f[:, COL["source_affinity"]] = src[:, 1]
    story = pool.story_codes[rows]
    if ctx.followed_stories.size:
        f[:, COL["follow_story"]] = np.isin(story, ctx.followed_stories)
    _keyword_follows(ctx, f, index)
    age_h = np.maximum(ctx.now_ts - pool.timestamps[rows], 0.0) / 3600.0
    f[:, COL["freshness"]] = np.power(0.5, age_h / FRESHNESS_HALF_LIFE_H)
    if pool.undated is not None:
        f[pool.undated[rows], COL["freshness"]] = 0.0  # an article without a date never counts as fresh
    f[:, COL["story_size"]] = np.minimum(np.log(np.maximum(pool.story_size[rows], 1.0)) / np.log(10.0), 1.0)
    f[:, COL["story_velocity"]] = np.minimum(np.log1p(pool.story_velocity[rows]) / np.log1p(10.0), 1.0)
    pop = pool.popularity[rows]
    scale = np.log1p(max(float(pop.max()) if m else 0.0, 10.0))
    f[:, COL["popularity"]] = np.log1p(np.maximum(pop, 0.0)) / scale
    new = newness(ctx.profile)
    f[:, COL["story_size_new"]] = f[:, COL["story_size"]] * new
    f[:, COL["popularity_new"]] = f[:, COL["popularity"]] * new
    _history_marks(ctx, f, rows, index)
    _no_self_echo(f, pop, scale)
    return FeatureBlock(rows=index, values=f, best_positive=best)


# Taste signals a read article owes to its own reading (it is "100% similar" to itself).
SELF_ECHO = ("sim_long", "sim_short", "sim_item", "topic_affinity", "entity_affinity", "source_affinity")


def _no_self_echo(f: npt.NDArray[np.float32], pop: FloatArray, scale: float) -> None:
    """A read article never rises for having been read: its taste signals may only count against it,
    and "read by others" leaves out the reader's own read."""
    read = np.flatnonzero(f[:, COL["read"]] > 0)
    if not read.size:
        return
    cols = np.array([COL[c] for c in SELF_ECHO], dtype=np.int64)
    block = f[np.ix_(read, cols)]
    f[np.ix_(read, cols)] = np.minimum(block, 0.0)
    own = np.log1p(np.maximum(pop[read] - 1.0, 0.0)) / scale
    f[read, COL["popularity"]] = own.astype(np.float32)


def read_rows(ctx: Context, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which of the rows the reader has read (for leaving them out of the feed)."""
    pool, profile = ctx.pool, ctx.profile
    marked = [pool.row_of_id[a] for a in profile.read_ids if a in pool.row_of_id]
    if not marked:
        return np.zeros(rows.shape[0], dtype=bool)
    return np.isin(rows, np.array(marked, dtype=np.int64))


def _extreme_affinity(rows: sparse.csr_array, affinity: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per article, its most liked entity's affinity plus its most disliked one's.

    A sum would saturate for articles naming many people; the extremes say "has someone you follow
    closely" or "has someone you avoid", which is also what the explanation names.
    """
    out = np.zeros(rows.shape[0], dtype=np.float32)
    if not affinity.any() or rows.nnz == 0:
        return out
    values = affinity[rows.indices]
    starts = rows.indptr[:-1]
    nonempty = np.diff(rows.indptr) > 0
    out[nonempty] = np.maximum.reduceat(np.maximum(values, 0.0), starts[nonempty])
    out[nonempty] += np.minimum.reduceat(np.minimum(values, 0.0), starts[nonempty])
    return out


def _keyword_follows(ctx: Context, f: npt.NDArray[np.float32], index: npt.NDArray[np.int64]) -> None:
    """Whole-word keyword follows; a text scan, so only when the reader has some."""
    patterns = [compile_keyword(v) for v in ctx.controls.values("keyword")]
    if not patterns:
        return
    texts = ctx.pool.keywords
    f[:, COL["follow_keyword"]] = [any(p.search(texts[i]) for p in patterns) for i in index]


def _history_marks(
    ctx: Context, f: npt.NDArray[np.float32], rows: Rows, index: npt.NDArray[np.int64]
) -> None:
    """Seen and read flags from the profile's (bounded) id sets, looked up through the pool's id map."""
    pool, profile = ctx.pool, ctx.profile
    found = [(pool.row_of_id[a], a in profile.read_ids) for a in profile.seen_ids if a in pool.row_of_id]
    if not found:
        return
    seen_rows = np.array([r for r, _ in found], dtype=np.int64)
    is_read = np.array([x for _, x in found], dtype=bool)
    if isinstance(rows, slice):
        start = rows.indices(pool.size)[0]
        local = seen_rows - start
        ok = (local >= 0) & (local < index.shape[0])
        local, is_read = local[ok], is_read[ok]
    else:
        where = {int(r): i for i, r in enumerate(index)}
        pairs = [(where[int(r)], x) for r, x in zip(seen_rows, is_read, strict=True) if int(r) in where]
        local = np.array([p for p, _ in pairs], dtype=np.int64)
        is_read = np.array([x for _, x in pairs], dtype=bool)
    f[local[is_read], COL["read"]] = 1.0
    f[local[~is_read], COL["seen"]] = 1.0


def score_rows(block: FeatureBlock, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Additive scores: the features times the weights, summed."""
    return block.values.astype(np.float64) @ weights
