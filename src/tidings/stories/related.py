"""Related articles: the same story first, then nearest neighbours in a recent window."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

from tidings.stories.scoring import pair_match
from tidings.stories.signature import ArticleSignature

RelatedItem = tuple[int, float, bool]  # (article_id, score, same_story)
DEFAULT_WINDOW_HOURS = 24.0 * 14


def is_in_window(a: ArticleSignature, b: ArticleSignature, window_hours: float) -> bool:
    """Whether two articles are close enough in time (unknown times always are)."""
    t0, t1 = a.event_time, b.event_time
    return t0 is None or t1 is None or abs(t0 - t1) <= timedelta(hours=window_hours)


def related(
    sig: ArticleSignature,
    same_story_ids: Collection[int],
    candidates: Sequence[ArticleSignature],
    limit: int = 10,
    window_hours: float = DEFAULT_WINDOW_HOURS,
    idf: Mapping[str, float] | None = None,
) -> list[RelatedItem]:
    """Rank related articles: same-story members by score, then other candidates in the window by score.

    `candidates` should hold the story's members plus nearest neighbours (e.g. by embedding) from storage.
    """
    same: list[RelatedItem] = []
    near: list[RelatedItem] = []
    seen: set[int] = {sig.article_id}
    for cand in candidates:
        if cand.article_id in seen:
            continue
        seen.add(cand.article_id)
        in_story = cand.article_id in same_story_ids
        if not in_story and not is_in_window(sig, cand, window_hours):
            continue
        score = pair_match(sig, cand, idf).probability
        (same if in_story else near).append((cand.article_id, score, in_story))
    same.sort(key=lambda item: (-item[1], item[0]))
    near.sort(key=lambda item: (-item[1], item[0]))
    return (same + near)[:limit]
