"""`build_feed`: window, features, filters, shortlist, reasons, one card per story, MMR and caps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from tidings.config import Settings
from tidings.rank.candidates import (
    Window,
    exploration_pool,
    followed_source_picks,
    hidden_by_reader,
    select_window,
    shortlist,
    with_followed_sources,
)
from tidings.rank.controls import UserControls
from tidings.rank.diversity import CapState, Slate, cap_count, collapse_stories, place_pages
from tidings.rank.explain import Reason, hidden_rule_for_cap, reasons_for
from tidings.rank.features import (
    Candidate,
    CandidatePool,
    normalise_source,
    to_timestamp,
    topic_slug,
)
from tidings.rank.profile import Profile
from tidings.rank.scoring import (
    FEATURES,
    Context,
    FeatureBlock,
    build_context,
    compute_features,
    keyword_rule,
    mute_rule_index,
    read_rows,
    resolve_weights,
    score_rows,
)

MIN_WINDOW_FACTOR = 10  # a window with fewer than 10 x depth articles reaches further back
DEPTH = 200  # window, shortlist and exploration are sized for this many cards whatever the limit, so that a
# feed of 20 is exactly the first 20 of a feed of 40: pages never repeat or skip a story
MIN_WINDOW_SOURCES = 4  # ... and so does one with fewer sources than this (or than the store has)
EXPLORATION_DETAIL = "Exploring: something outside your usual reading, to learn what else you like"


@dataclass
class FeedItem:
    """One card of the feed."""

    article_id: str | int
    story_id: str | int | None
    title: str
    source: str
    score: float  # exactly sum(r.contribution for r in reasons)
    reasons: list[Reason]
    other_sources: int = 0  # "+N sources"
    is_exploration: bool = False
    features: dict[str, float] = field(default_factory=dict)  # raw non-zero feature values, for training logs


@dataclass
class HiddenItem:
    """Something a mute, a hide or a cap removed, with the rule that removed it."""

    article_id: str | int
    title: str
    rule: str


@dataclass
class FeedResult:
    """A feed, what was hidden from it, and whether the window had to be anchored at the newest article."""

    items: list[FeedItem]
    hidden: list[HiddenItem] = field(default_factory=list)  # every item mutes and hides removed
    moved: list[HiddenItem] = field(default_factory=list)  # items a diversity cap moved to a later page
    window_anchored: bool = False
    window_extended: bool = False  # the window reached back past window_hours to fill the feed
    caps_relaxed: bool = False  # some card went over a cap because nothing else was left to show
    as_of: datetime | None = None  # the clock the features used (the anchor when anchored)
    window_hours: float = 0.0  # how far back from as_of the window reached
    candidates_considered: int = 0


def window_span_hours(pool: CandidatePool, window: Window, base_hours: float) -> float:
    """How many hours back from the window's clock its oldest row lies (at least the base window)."""
    stamps = pool.timestamps[window.rows]
    if not stamps.size:
        return base_hours
    return max(base_hours, (window.now_ts - float(stamps.min())) / 3600.0)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def as_pool(candidates: Sequence[Candidate] | CandidatePool) -> CandidatePool:
    """Accept either candidate records or an already built columnar pool."""
    return candidates if isinstance(candidates, CandidatePool) else CandidatePool.from_candidates(candidates)


def build_feed(
    profile: Profile,
    controls: UserControls,
    candidates: Sequence[Candidate] | CandidatePool,
    now: datetime,
    limit: int = 20,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    window_hours: float | None = None,
) -> FeedResult:
    """Rank the candidates for one reader; every item explains itself and obeys the reader's controls."""
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    # One BLAS thread: a feed's products are thin, and threads spinning against a busy server lose time.
    with _blas().limit(limits=1, user_api="blas"):
        return _build_feed(profile, controls, candidates, now, limit, weights, seed, settings, window_hours)


def _build_feed(
    profile: Profile,
    controls: UserControls,
    candidates: Sequence[Candidate] | CandidatePool,
    now: datetime,
    limit: int,
    weights: Mapping[str, float] | None,
    seed: int,
    settings: Settings | None,
    window_hours: float | None,
) -> FeedResult:
    pool = as_pool(candidates)
    depth = max(limit, DEPTH)
    hours = window_hours or (settings.window_hours if settings is not None else 72.0)
    window = select_window(
        pool, to_timestamp(now), hours, min_items=MIN_WINDOW_FACTOR * depth, min_sources=MIN_WINDOW_SOURCES
    )
    found = [pool.source_code_of.get(normalise_source(v)) for v in controls.values("source")]
    followed = [c for c in found if c is not None]
    window = with_followed_sources(pool, window, followed, depth)
    ctx = build_context(pool, profile, controls, window.now_ts)
    w = resolve_weights(weights, controls)
    pool.ensure_sketch()
    # Stage 1: cheap features for the whole window pick a shortlist; stage 2: exact features for it.
    coarse = compute_features(ctx, window.rows, approximate=True)
    coarse_scores = score_rows(coarse, w)
    rules = mute_rule_index(ctx, window.rows)
    by_reader = hidden_by_reader(ctx, coarse)
    valid = (rules < 0) & ~by_reader
    if controls.hide_read:
        valid &= ~read_rows(ctx, coarse.rows)
    picked = shortlist(coarse, coarse_scores, valid, depth)
    picked = np.union1d(picked, followed_source_picks(pool, coarse, coarse_scores, valid, followed, depth))
    hidden = _report_filtered(ctx, coarse, coarse_scores, rules, by_reader)
    picked, keyword_hidden = _apply_keyword_mutes(ctx, coarse, picked)
    hidden += keyword_hidden
    explore = exploration_pool(coarse, valid, picked)
    chosen_rows = np.concatenate([coarse.rows[picked], coarse.rows[explore]])
    block = compute_features(ctx, chosen_rows)
    scores = score_rows(block, w)
    items, moved, relaxed = _rerank(ctx, block, scores, picked.size, w, limit, seed, depth)
    return FeedResult(
        items=items,
        hidden=hidden,
        moved=moved,
        window_anchored=window.anchored,
        window_extended=window.extended,
        caps_relaxed=relaxed,
        as_of=_as_datetime(window.now_ts, now),
        window_hours=window_span_hours(pool, window, hours),
        candidates_considered=int(coarse.rows.shape[0]),
    )


def _as_datetime(stamp: float, like: datetime) -> datetime:
    """A timestamp as a datetime in the caller's convention (naive UTC stays naive)."""
    when = datetime.fromtimestamp(stamp, tz=UTC)
    return when.astimezone(like.tzinfo) if like.tzinfo else when.replace(tzinfo=None)


def _report_filtered(
    ctx: Context,
    block: FeatureBlock,
    scores: npt.NDArray[np.float64],
    rules: npt.NDArray[np.int64],
    by_reader: npt.NDArray[np.bool_],
) -> list[HiddenItem]:
    """Every item that mutes and hides removed from the window, best-scoring first."""
    removed = np.flatnonzero((rules >= 0) | by_reader)
    if removed.size == 0:
        return []
    top = removed[np.argsort(-scores[removed], kind="stable")]
    out = []
    for i in top:
        row = int(block.rows[i])
        rule = ctx.mute_rules[int(rules[i])] if rules[i] >= 0 else "hidden by you"
        out.append(HiddenItem(ctx.pool.article_ids[row], ctx.pool.titles[row], rule))
    return out


def _apply_keyword_mutes(
    ctx: Context, block: FeatureBlock, picked: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], list[HiddenItem]]:
    """Whole-word keyword mutes, checked on the shortlist only (a text scan)."""
    if not ctx.keyword_mutes:
        return picked, []
    keep, hidden = [], []
    for i in picked:
        row = int(block.rows[i])
        r = keyword_rule(ctx, row)
        if r < 0:
            keep.append(int(i))
        else:
            hidden.append(HiddenItem(ctx.pool.article_ids[row], ctx.pool.titles[row], ctx.mute_rules[r]))
    return np.array(keep, dtype=np.int64), hidden


def _caps(ctx: Context, main: Slate) -> CapState:
    """Caps relative to the reader's own follows.

    k followed sources (or topics) with enough stories may each hold 1/k of a page when that is more than the
    base share, so a reader of two outlets sees both, interleaved."""
    c = ctx.controls
    page = c.cap_window
    source_cap, topic_cap = cap_count(c.source_cap, page, page), cap_count(c.topic_cap, page, page)
    src_counts = Counter(normalise_source(s) for s in main.sources)
    topic_counts = Counter(topic_slug(t) for ts in main.topics for t in set(ts))
    return CapState(
        page=page,
        source_cap=source_cap,
        topic_cap=topic_cap,
        source_caps=_followed_caps(
            {normalise_source(v) for v in c.values("source")}, src_counts, c.source_cap, source_cap, page
        ),
        topic_caps=_followed_caps(
            {topic_slug(v) for v in c.values("topic")}, topic_counts, c.topic_cap, topic_cap, page
        ),
    )


def _followed_caps(
    followed: set[str], counts: Counter[str], share: float, enough: int, page: int
) -> dict[str, int]:
    """Per-key caps for followed keys: a page shared evenly among those with at least `enough` stories."""
    k = sum(1 for key in followed if counts[key] >= enough)
    cap = cap_count(max(share, 1.0 / max(k, 1)), page, page)
    return {key: cap for key in followed}


def _slate(
    ctx: Context, block: FeatureBlock, idx: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]
) -> Slate:
    """The block items `idx` as a slate to place."""
    pool = ctx.pool
    rows = block.rows[idx]
    return Slate(
        scores=scores,
        embeddings=None if pool.embeddings is None else pool.embeddings[rows],
        sources=[_source(ctx, int(r)) for r in rows],
        topics=[pool.topics_of(int(r)) for r in rows],
        stories=[int(pool.story_codes[r]) for r in rows],
    )


def _rerank(
    ctx: Context,
    block: FeatureBlock,
    scores: npt.NDArray[np.float64],
    shortlisted: int,
    w: npt.NDArray[np.float64],
    limit: int,
    seed: int,
    depth: int,
) -> tuple[list[FeedItem], list[HiddenItem], bool]:
    """One card per story, placed page by page with MMR under soft caps and exploration slots; the cards, the
    items a cap moved down, and whether any card had to go over a cap. The block's first `shortlisted` rows
    are the shortlist, the rest exploration candidates."""
    pool = ctx.pool
    picked = np.arange(shortlisted, dtype=np.int64)
    valid = np.ones(block.rows.size, bool)  # mutes and hides were applied before the block was built
    exact = scores[picked]
    best = np.array(collapse_stories(pool.story_codes[block.rows[picked]], exact), dtype=np.int64)
    main_idx = picked[best] if best.size else np.zeros(0, dtype=np.int64)
    main = _slate(ctx, block, main_idx, exact[best] if best.size else np.zeros(0))
    explore_idx = exploration_pool(block, valid, main_idx[:depth])
    explore_idx = np.array(
        [
            i
            for i in np.random.default_rng(seed).permutation(explore_idx)
            if keyword_rule(ctx, int(block.rows[i])) < 0
        ],
        dtype=np.int64,
    )
    explore = _slate(ctx, block, explore_idx, scores[explore_idx])
    c = ctx.controls
    per_page = round(c.exploration_share * c.cap_window)
    placed = place_pages(main, explore, limit, c.mmr_lambda, _caps(ctx, main), c.cap_window, per_page)
    cards = [
        _card(ctx, block, int(explore_idx[k] if is_exp else main_idx[k]), w, exploration=is_exp)
        for k, is_exp in placed.order
    ]
    moved = [_cap_moved(ctx, int(block.rows[main_idx[k]]), kind, name) for k, (kind, name) in placed.moved]
    return cards, moved, placed.relaxed


def _source(ctx: Context, row: int) -> str:
    return ctx.pool.source_names[int(ctx.pool.source_codes[row])]


def _cap_moved(ctx: Context, row: int, kind: str, name: str) -> HiddenItem:
    share = ctx.controls.source_cap if kind == "source" else ctx.controls.topic_cap
    return HiddenItem(ctx.pool.article_ids[row], ctx.pool.titles[row], hidden_rule_for_cap(kind, name, share))


def _card(
    ctx: Context, block: FeatureBlock, i: int, w: npt.NDArray[np.float64], exploration: bool
) -> FeedItem:
    score, reasons = reasons_for(ctx, block, i, w)
    if exploration:
        reasons.append(Reason("exploration", 0.0, EXPLORATION_DETAIL))
    item = _make_item(ctx, int(block.rows[i]), score, reasons, exploration)
    item.features = {n: float(v) for n, v in zip(FEATURES, block.values[i], strict=True) if v != 0.0}
    return item


def _make_item(ctx: Context, row: int, score: float, reasons: list[Reason], exploration: bool) -> FeedItem:
    pool = ctx.pool
    return FeedItem(
        article_id=pool.article_ids[row],
        story_id=pool.story_ids[int(pool.story_codes[row])],
        title=pool.titles[row],
        source=pool.source_names[int(pool.source_codes[row])],
        score=score,
        reasons=reasons,
        other_sources=max(0, int(pool.story_size[row]) - 1),
        is_exploration=exploration,
    )
