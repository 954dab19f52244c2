"""Incremental event clustering: assign an article to a story or start one; update and split stories."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from tidings.stories.scoring import DEFAULT_WEIGHTS, MatchScore, Weights, pair_match, score_match
from tidings.stories.signature import ArticleSignature, StoryState, unit_vector

UNKNOWN_SOURCE = "unknown"

MAX_STORY_SIZE = 80  # larger stories are re-examined for a split
TIGHT_COHESION = 0.85  # mean member-to-centroid cosine above which a story cannot hold two events
SPLIT_DISTANCE = 0.62  # average-linkage cosine distance that separates sub-stories
MEMBER_ALTERNATIVES = 3  # stories above threshold, best first, whose members are checked before starting one
RECENT_MEMBERS = 40  # the member check looks at most at a story's latest this many members (bounded cost)

MemberLookup = Callable[[StoryState], Sequence[ArticleSignature]]


@dataclass
class Decision:
    """Where an article goes: story_id of the story to join, or None to start a new story."""

    story_id: int | None
    score: MatchScore | None = None
    runner_up: int | None = None
    considered: int = 0
    reason: str = ""

    @property
    def is_new(self) -> bool:
        """Whether the article starts a story."""
        return self.story_id is None


def assign(
    sig: ArticleSignature,
    candidates: Sequence[StoryState],
    idf: Mapping[str, float] | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    members: MemberLookup | None = None,
) -> Decision:
    """Pick the best-scoring candidate story above threshold, else decide to start a new story.

    With `members` (a story's member signatures, oldest first) and `weights.members` set, a story is joined
    only when its members agree (see member_support). With `weights.linkage` set, a dated article joins by its
    agreement with the members of each story instead (see _assign_by_linkage).
    """
    live = {story.story_id: story for story in candidates if story.size > 0}
    scored = sorted(
        ((score_match(sig, story, idf, weights, exact=False), sid) for sid, story in live.items()),
        key=lambda pair: -pair[0].score,
    )
    if not scored:
        return Decision(None, reason="no candidate stories", considered=0)
    if members is not None and weights.linkage > 0.0 and sig.published_at is not None:
        return _assign_by_linkage(sig, scored, live, idf, weights, members)
    best_id = scored[0][1]
    best = score_match(sig, live[best_id], idf, weights)  # every component, for the explanation
    runner = scored[1][1] if len(scored) > 1 else None
    if not best.is_match:
        return Decision(None, best, best_id, len(scored), "no story scored above threshold")
    if members is None or weights.members <= 0.0:
        return Decision(best_id, best, runner, len(scored), "joined best-scoring story")
    # A centroid blurs two similar events once one story holds both; the article must also read as the same
    # event as the story's own members, else the next story above threshold is tried, then a new story.
    for rank, (score, sid) in enumerate(scored[:MEMBER_ALTERNATIVES]):
        if not score.is_match:
            break
        if member_support(sig, members(live[sid]), idf, weights.member_top) > weights.members:
            chosen = best if rank == 0 else score_match(sig, live[sid], idf, weights)
            reason = "joined best-scoring story" if rank == 0 else "joined a story whose members agree"
            return Decision(sid, chosen, best_id if rank else runner, len(scored), reason)
    return Decision(None, best, best_id, len(scored), "the stories' members read as another event")


def _assign_by_linkage(
    sig: ArticleSignature,
    scored: Sequence[tuple[MatchScore, int]],
    live: Mapping[int, StoryState],
    idf: Mapping[str, float] | None,
    weights: Weights,
    members: MemberLookup,
) -> Decision:
    """Join the candidate story whose members read most like the article, if they agree enough.

    A centroid blurs the small differences between two events of one kind (two shootings, two quakes) and
    drifts as a story grows over weeks; the pair model compares the article with actual reports, with days
    apart, shared names and numbers as inputs. The centroid score only prunes the candidates.
    """
    best_id, agreement = None, 0.0
    for score, sid in scored:
        if score.score < weights.linkage_floor:
            continue
        value = member_support(sig, members(live[sid]), idf, weights.member_top, weights.linkage_top)
        if value > agreement:
            best_id, agreement = sid, value
    runner = next((sid for _, sid in scored if sid != best_id), None)  # the best-scoring story not chosen
    if best_id is None or agreement <= weights.linkage:
        return Decision(
            None,
            score_match(sig, live[scored[0][1]], idf, weights),
            scored[0][1],
            len(scored),
            "no story's members read as the same event",
        )
    chosen = score_match(sig, live[best_id], idf, weights)
    return Decision(
        best_id, chosen, runner, len(scored), "joined the story whose members read as the same event"
    )


def member_support(
    sig: ArticleSignature,
    members: Sequence[ArticleSignature],
    idf: Mapping[str, float] | None = None,
    top: int = 5,
    k: int = 1,
) -> float:
    """The mean of the `k` highest pair-model probabilities of the article against its `top` closest members.

    Closest is by embedding. 1 when no member can be compared (no embeddings): the centroid decision stands.
    """
    latest = members[-RECENT_MEMBERS:]
    recent = [m for m in latest if m.embedding is not None and m.article_id != sig.article_id]
    if not recent or sig.embedding is None:
        return 1.0
    sims = np.vstack([m.embedding for m in recent if m.embedding is not None]) @ sig.embedding
    closest = np.argsort(-sims)[:top]
    probabilities = sorted((pair_match(sig, recent[int(i)], idf).probability for i in closest), reverse=True)
    return float(np.mean(probabilities[:k]))


def new_story(story_id: int, sig: ArticleSignature) -> StoryState:
    """A one-article story."""
    return add_to_story(StoryState(story_id=story_id), sig)


def _bump(counts: dict[str, int], keys: Iterable[str], delta: int) -> None:
    for key in keys:
        value = counts.get(key, 0) + delta
        if value > 0:
            counts[key] = value
        else:
            counts.pop(key, None)


def add_to_story(story: StoryState, sig: ArticleSignature) -> StoryState:
    """Add an article, updating centroid, entity, headline, source and time aggregates (mutates story).

    An article already in the story must be taken out first with its old signature (see remove_from_story).
    """
    if sig.article_id in story.member_titles:
        raise ValueError(
            f"article {sig.article_id} is already in story {story.story_id}; remove its old version"
        )
    if sig.embedding is not None:
        base = story.vector_sum if story.vector_sum is not None else np.zeros_like(sig.embedding)
        story.vector_sum = (base + sig.embedding).astype(np.float32)
        story.embedded_count += 1
    _bump(story.entity_counts, set(sig.entity_keys), 1)
    _bump(story.term_counts, sig.terms, 1)
    _bump(story.number_counts, sig.numbers, 1)
    _bump(story.source_counts, [sig.source or UNKNOWN_SOURCE], 1)
    story.member_times[sig.article_id] = sig.event_time
    story.member_titles[sig.article_id] = sig.title
    return story


def remove_from_story(story: StoryState, old: ArticleSignature) -> StoryState:
    """Undo an article's contribution, given the signature it was added with; mutates and returns the story.

    A story left with size 0 must be deleted by the caller (no orphans).
    """
    if old.article_id not in story.member_titles:
        return story
    if old.embedding is not None and story.vector_sum is not None:
        story.embedded_count = max(0, story.embedded_count - 1)
        # Rounding would leave a tiny non-zero vector: reset exactly when the last embedding leaves.
        story.vector_sum = (
            None if story.embedded_count == 0 else (story.vector_sum - old.embedding).astype(np.float32)
        )
    _bump(story.entity_counts, set(old.entity_keys), -1)
    _bump(story.term_counts, old.terms, -1)
    _bump(story.number_counts, old.numbers, -1)
    _bump(story.source_counts, [old.source or UNKNOWN_SOURCE], -1)
    story.member_times.pop(old.article_id, None)
    story.member_titles.pop(old.article_id, None)
    return story


def replace_member(
    story: StoryState,
    old: ArticleSignature,
    new: ArticleSignature,
    candidates: Sequence[StoryState],
    idf: Mapping[str, float] | None = None,
) -> Decision:
    """Handle changed content: take the old version out of its story, then assign the new one afresh.

    The returned decision may name the same story, another one or a new one; `story` is mutated.
    """
    remove_from_story(story, old)
    pool = [c for c in candidates if c.story_id != story.story_id]
    if story.size > 0:
        pool.append(story)
    return assign(new, pool, idf)


def cohesion(member_sigs: Sequence[ArticleSignature]) -> float:
    """Mean cosine of member embeddings to their centroid (1 for tight stories)."""
    vectors = [s.embedding for s in member_sigs if s.embedding is not None]
    if len(vectors) < 2:
        return 1.0
    matrix = np.vstack(vectors)
    centroid = unit_vector(matrix.sum(axis=0))
    return 1.0 if centroid is None else float((matrix @ centroid).mean())


def maybe_split(story: StoryState, member_sigs: Sequence[ArticleSignature]) -> list[list[int]]:
    """Article-id groups the story should become: one when it holds together, several if it drifted."""
    ids = [s.article_id for s in member_sigs if s.article_id in story.member_titles]
    embedded = [s for s in member_sigs if s.article_id in story.member_titles and s.embedding is not None]
    if len(embedded) < 4 or (story.size <= MAX_STORY_SIZE and cohesion(embedded) >= TIGHT_COHESION):
        return [ids]
    matrix = np.vstack([s.embedding for s in embedded if s.embedding is not None])
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=SPLIT_DISTANCE
    ).fit_predict(matrix)
    groups: dict[int, list[int]] = {}
    for sig, label in zip(embedded, labels, strict=True):
        groups.setdefault(int(label), []).append(sig.article_id)
    ordered = sorted(groups.values(), key=len, reverse=True)
    if sum(len(g) >= 2 for g in ordered) < 2:
        return [ids]  # one body plus stray outliers: not worth breaking a story for
    # Singletons rejoin the main part rather than becoming one-article stories.
    ordered = [ordered[0] + [i for g in ordered[1:] if len(g) == 1 for i in g]] + [
        g for g in ordered[1:] if len(g) > 1
    ]
    # Members without an embedding stay with the largest part.
    leftovers = [i for i in ids if all(i not in g for g in ordered)]
    ordered[0].extend(leftovers)
    return ordered
