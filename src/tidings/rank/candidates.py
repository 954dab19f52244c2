"""Candidate generation: the time window, hard filters, and the shortlist drawn from several generators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tidings.rank.features import CandidatePool, Rows
from tidings.rank.scoring import COL, Context, FeatureBlock

SHORTLIST_MIN = 300
NEIGHBOURS = 60
TRENDING = 60
EXPLORE_POOL = 100
QUICK_SOURCE_CHECK = 2000  # rows looked at first when checking a window's source count


@dataclass
class Window:
    """The rows in play and the clock the features use."""

    rows: Rows
    now_ts: float
    anchored: bool  # True when the window was moved back to the newest article
    extended: bool = False  # True when the window was widened to reach `min_items` articles


def newest_rows_with_sources(
    codes_newest_first: npt.NDArray[np.int32], at_least: int, min_sources: int
) -> int:
    """How many of the newest rows to take: at least `at_least`, and enough to hold `min_sources` distinct
    sources (or every source there is)."""
    at_least = min(at_least, len(codes_newest_first))
    if min_sources <= 1 or at_least == len(codes_newest_first):
        return at_least
    head = codes_newest_first[:at_least]
    if len(np.unique(head[:QUICK_SOURCE_CHECK])) >= min_sources or len(np.unique(head)) >= min_sources:
        return at_least  # the usual case, settled on a small prefix
    seen = set(np.unique(head).tolist())
    rest = codes_newest_first[at_least:]
    codes, first = np.unique(rest, return_index=True)
    new_first = np.sort(first[~np.isin(codes, list(seen))])
    needed = min_sources - len(seen)
    if new_first.size == 0:
        return at_least
    return at_least + int(new_first[min(needed, new_first.size) - 1]) + 1


def select_window(
    pool: CandidatePool, now_ts: float, window_hours: float, min_items: int = 0, min_sources: int = 0
) -> Window:
    """Rows published in the window before `now`.

    When the window is empty it anchors at the newest article (archive replays, the offline demo); when it
    holds fewer than `min_items` articles or `min_sources` sources it reaches further back, so that a quiet or
    old store still gives a full feed from several outlets (no diversity cap can hold in a one-outlet window).
    """
    if window_hours <= 0:
        raise ValueError(f"window_hours must be positive, got {window_hours}")
    if pool.size == 0:
        return Window(slice(0, 0), now_ts, False)
    span = window_hours * 3600.0
    stamps = pool.timestamps
    anchored = not bool(np.any((stamps <= now_ts) & (stamps >= now_ts - span)))
    anchor = now_ts
    if anchored:
        past = stamps[stamps <= now_ts]
        anchor = float(past.max()) if past.size else float(stamps.max())
    if pool.is_sorted:
        rows = pool.window(anchor - span, anchor)
        wanted = max(min_items, rows.stop - rows.start)
        take = newest_rows_with_sources(pool.source_codes[: rows.stop][::-1], wanted, min_sources)
        start = max(0, rows.stop - take)
        return Window(slice(start, rows.stop), anchor, anchored, extended=start < rows.start)
    eligible = np.flatnonzero(stamps <= anchor)
    newest = eligible[np.argsort(-stamps[eligible], kind="stable")]
    in_span = int(np.count_nonzero(stamps[eligible] >= anchor - span))
    take = newest_rows_with_sources(pool.source_codes[newest], max(min_items, in_span), min_sources)
    return Window(np.sort(newest[:take]), anchor, anchored, extended=take > in_span)


def with_followed_sources(pool: CandidatePool, window: Window, codes: list[int], per_source: int) -> Window:
    """The window plus the newest `per_source` rows of each followed source up to its clock: a followed
    outlet that publishes rarely (or an archive years older than the rest) still reaches the feed."""
    if not codes or per_source <= 0:
        return window
    rows = window.rows
    current = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
    inside = np.zeros(pool.size, dtype=bool)
    inside[current] = True
    extra = []
    for code in codes:
        own = np.flatnonzero((pool.source_codes == code) & (pool.timestamps <= window.now_ts))
        have = int(np.count_nonzero(inside[own]))
        if have >= per_source:
            continue
        outside = own[~inside[own]]
        newest = outside[np.argsort(-pool.timestamps[outside], kind="stable")[: per_source - have]]
        extra.append(newest)
    if not extra:
        return window
    merged = np.union1d(current, np.concatenate(extra)).astype(np.int64)
    return Window(merged, window.now_ts, window.anchored, extended=True)


def hidden_by_reader(ctx: Context, block: FeatureBlock) -> npt.NDArray[np.bool_]:
    """Rows the reader hid, directly or through a hidden story."""
    pool, profile = ctx.pool, ctx.profile
    out = np.zeros(block.rows.shape[0], dtype=bool)
    if ctx.hidden_stories.size:
        out |= np.isin(pool.story_codes[block.rows], ctx.hidden_stories)
    if profile.hidden_ids:
        hidden_rows = np.array([pool.row_of_id[a] for a in profile.hidden_ids if a in pool.row_of_id])
        if hidden_rows.size:
            out |= np.isin(block.rows, hidden_rows)
    return out


def _top(values: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int64]:
    """Indices of the k largest valid values (unordered)."""
    idx = np.flatnonzero(valid)
    if idx.size <= k:
        return idx
    part = np.argpartition(-values[idx], k - 1)[:k]
    return idx[part]


def shortlist(
    block: FeatureBlock,
    scores: npt.NDArray[np.float64],
    valid: npt.NDArray[np.bool_],
    limit: int,
) -> npt.NDArray[np.int64]:
    """Union of the generators: best scores (follows rank there), nearest neighbours and trending stories."""
    f = block.values
    size = max(SHORTLIST_MIN, 15 * limit)
    similar = f[:, COL["sim_long"]] + f[:, COL["sim_short"]] + f[:, COL["sim_item"]]
    trending = f[:, COL["story_size"]] + f[:, COL["story_velocity"]] + 0.5 * f[:, COL["freshness"]]
    parts = [_top(scores, valid, size)]
    if similar.any():
        parts.append(_top(similar.astype(np.float64), valid, NEIGHBOURS))
    parts.append(_top(trending.astype(np.float64), valid, TRENDING))
    return np.unique(np.concatenate(parts))


def followed_source_picks(
    pool: CandidatePool,
    block: FeatureBlock,
    scores: npt.NDArray[np.float64],
    valid: npt.NDArray[np.bool_],
    codes: list[int],
    per_source: int,
) -> npt.NDArray[np.int64]:
    """The best `per_source` valid items of each followed source: the shortlist's follow generator, so that
    one prolific followed outlet cannot crowd another out before the caps can interleave them."""
    if not codes:
        return np.zeros(0, dtype=np.int64)
    source_of = pool.source_codes[block.rows]
    parts = [_top(scores, valid & (source_of == code), per_source) for code in codes]
    return np.unique(np.concatenate(parts)).astype(np.int64)


def exploration_pool(
    block: FeatureBlock, valid: npt.NDArray[np.bool_], exclude: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Fresh, well-covered items the reader shows no sign of liking yet: material for exploration slots."""
    f = block.values
    ok = valid.copy()
    ok[exclude] = False
    unfamiliar = (f[:, COL["topic_affinity"]] <= 0) & (f[:, COL["sim_long"]] < 0.3)
    for col in ("follow_topic", "follow_entity", "follow_source", "seen", "read"):
        unfamiliar &= f[:, COL[col]] == 0
    if (ok & unfamiliar).any():
        ok &= unfamiliar
    prior = f[:, COL["freshness"]] + f[:, COL["story_size"]] + f[:, COL["popularity"]]
    return _top(prior.astype(np.float64), ok, EXPLORE_POOL)
