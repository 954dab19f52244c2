"""`build_feed`: window, features, filters, shortlist, reasons, one card per story, MMR and caps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from tidings.config import Settings
from tidings.rank.candidates import Window, exploration_pool, hidden_by_reader, select_window, shortlist
from tidings.rank.controls import UserControls
from tidings.rank.diversity import CapState, cap_count, collapse_stories, interleave, mmr_select
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
    resolve_weights,
    score_rows,
)

MAX_HIDDEN_REPORTED = 50
MIN_WINDOW_FACTOR = 10  # a window with fewer than 10 x limit articles reaches further back
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
    hidden: list[HiddenItem] = field(default_factory=list)
    window_anchored: bool = False
    window_extended: bool = False  # the window reached back past window_hours to fill the feed
    caps_relaxed: bool = False  # too few sources to fill the feed within the caps (fill_short_feed)
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
    hours = window_hours or (settings.window_hours if settings is not None else 72.0)
    window = select_window(
        pool, to_timestamp(now), hours, min_items=MIN_WINDOW_FACTOR * limit, min_sources=MIN_WINDOW_SOURCES
    )
    ctx = build_context(pool, profile, controls, window.now_ts)
    w = resolve_weights(weights, controls)
    pool.ensure_sketch()
    # Stage 1: cheap features for the whole window pick a shortlist; stage 2: exact features for it.
    coarse = compute_features(ctx, window.rows, approximate=True)
    coarse_scores = score_rows(coarse, w)
    rules = mute_rule_index(ctx, window.rows)
    by_reader = hidden_by_reader(ctx, coarse)
    valid = (rules < 0) & ~by_reader
    picked = shortlist(coarse, coarse_scores, valid, limit)
    hidden = _report_filtered(ctx, coarse, coarse_scores, rules, by_reader)
    picked, keyword_hidden = _apply_keyword_mutes(ctx, coarse, picked)
    hidden += keyword_hidden
    explore = exploration_pool(coarse, valid, picked)
    chosen_rows = np.concatenate([coarse.rows[picked], coarse.rows[explore]])
    block = compute_features(ctx, chosen_rows)
    scores = score_rows(block, w)
    in_shortlist = np.arange(picked.size, dtype=np.int64)
    items, cap_hidden, relaxed = _rerank(
        ctx, block, scores, in_shortlist, np.ones(chosen_rows.size, bool), w, limit, seed
    )
    hidden += cap_hidden
    return FeedResult(
        items=items,
        hidden=hidden[:MAX_HIDDEN_REPORTED],
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
    """The best-scoring items that mutes and hides removed (the ones the reader would have seen)."""
    removed = np.flatnonzero((rules >= 0) | by_reader)
    if removed.size == 0:
        return []
    top = removed[np.argsort(-scores[removed], kind="stable")[:MAX_HIDDEN_REPORTED]]
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


def _caps(ctx: Context, limit: int) -> CapState:
    c = ctx.controls
    sole_source, sole_topic = c.sole_followed_source(), c.sole_followed_topic()
    return CapState(
        source_cap=cap_count(c.source_cap, limit, c.cap_window),
        topic_cap=cap_count(c.topic_cap, limit, c.cap_window),
        exempt_source=normalise_source(sole_source) if sole_source else None,
        exempt_topic=topic_slug(sole_topic) if sole_topic else None,
    )


def _rerank(
    ctx: Context,
    block: FeatureBlock,
    scores: npt.NDArray[np.float64],
    picked: npt.NDArray[np.int64],
    valid: npt.NDArray[np.bool_],
    w: npt.NDArray[np.float64],
    limit: int,
    seed: int,
) -> tuple[list[FeedItem], list[HiddenItem], bool]:
    """One card per story, MMR under caps, exploration cards in marked slots; True if caps were relaxed."""
    pool = ctx.pool
    # Vectorised scores order the shortlist; full reasons are built only for the cards shown.
    exact = scores[picked]
    rows = block.rows[picked]
    best = collapse_stories(pool.story_codes[rows], exact)
    sources = [_source(ctx, int(rows[i])) for i in best]
    topics = [pool.topics_of(int(rows[i])) for i in best]
    emb = None if pool.embeddings is None else pool.embeddings[rows[best]]
    lam = ctx.controls.mmr_lambda
    chosen, capped = mmr_select(exact[best], emb, sources, topics, limit, lam, _caps(ctx, limit))
    hidden = [_cap_hidden(ctx, int(rows[best[k]]), kind, name) for k, (kind, name) in capped]
    ranked = [best[k] for k in chosen]  # indices into `picked`, in MMR order
    n_explore = round(ctx.controls.exploration_share * limit)
    head, reserve = ranked[: limit - n_explore], ranked[limit - n_explore :]
    caps = _caps(ctx, limit)
    for i in head:
        caps.add(_source(ctx, int(rows[i])), pool.topics_of(int(rows[i])))
    stories = {int(pool.story_codes[rows[i]]) for i in head}
    explore = exploration_pool(block, valid, picked[head])
    extra = _pick_exploration(ctx, block, explore, stories, caps, n_explore, seed)
    for i in reserve[: max(0, limit - len(head) - len(extra))]:
        row = int(rows[i])
        if (
            int(pool.story_codes[row]) not in stories
            and caps.violation(_source(ctx, row), pool.topics_of(row)) is None
        ):
            caps.add(_source(ctx, row), pool.topics_of(row))
            stories.add(int(pool.story_codes[row]))
            head.append(i)
    if len(head) + len(extra) < limit:
        # Caps left the feed short: widen it with other sources from the window before relaxing caps.
        extra += _pick_exploration(
            ctx, block, explore, stories, caps, limit - len(head) - len(extra), seed + 1
        )
    cards: list[FeedItem] = []
    for idx, is_exp in interleave(head, list(range(len(extra)))):
        block_index = int(extra[idx]) if is_exp else int(picked[idx])
        cards.append(_card(ctx, block, block_index, w, exploration=is_exp))
    relaxed = False
    if ctx.controls.fill_short_feed and len(cards) < limit:
        filled = _fill(ctx, block, picked, exact, w, cards, limit)
        relaxed, cards = bool(filled), cards + filled
        shown = {str(c.article_id) for c in cards}
        hidden = [h for h in hidden if str(h.article_id) not in shown]
    return cards[:limit], hidden, relaxed


def _source(ctx: Context, row: int) -> str:
    return ctx.pool.source_names[int(ctx.pool.source_codes[row])]


def _cap_hidden(ctx: Context, row: int, kind: str, name: str) -> HiddenItem:
    share = ctx.controls.source_cap if kind == "source" else ctx.controls.topic_cap
    return HiddenItem(ctx.pool.article_ids[row], ctx.pool.titles[row], hidden_rule_for_cap(kind, name, share))


def _pick_exploration(
    ctx: Context,
    block: FeatureBlock,
    explore: npt.NDArray[np.int64],
    used_stories: set[int],
    caps: CapState,
    count: int,
    seed: int,
) -> list[int]:
    """Random picks (seeded) from the exploration pool that respect story uniqueness and caps."""
    pool = ctx.pool
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for i in rng.permutation(explore):
        if len(out) >= count:
            break
        row = int(block.rows[i])
        story = int(pool.story_codes[row])
        source = pool.source_names[int(pool.source_codes[row])]
        topics = pool.topics_of(row)
        if story in used_stories or caps.violation(source, topics) is not None or keyword_rule(ctx, row) >= 0:
            continue
        used_stories.add(story)
        caps.add(source, topics)
        out.append(int(i))
    return out


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


def _fill(
    ctx: Context,
    block: FeatureBlock,
    picked: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    cards: list[FeedItem],
    limit: int,
) -> list[FeedItem]:
    """Capped items appended when the reader chose a full feed over strict caps."""
    have_stories = {str(c.story_id) for c in cards}
    order = np.argsort(-scores, kind="stable")
    extra: list[FeedItem] = []
    for k in order:
        row = int(block.rows[picked[k]])
        story = str(ctx.pool.story_ids[int(ctx.pool.story_codes[row])])
        if story in have_stories:
            continue
        have_stories.add(story)
        extra.append(_card(ctx, block, int(picked[k]), w, exploration=False))
        if len(cards) + len(extra) >= limit:
            break
    return extra
