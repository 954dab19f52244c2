"""Candidate search over recent story centroids, with the live entity IDF clustering weighs entities by."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

import numpy as np

from tidings.stories.signature import ArticleSignature, StoryState

DEFAULT_WINDOW_HOURS = 96.0
DEFAULT_LIMIT = 12
IDF_WINDOW = 1500  # articles the entity IDF counts (see EntityIdf)
RARE_STORY_KEY = 40  # an entity shared by more stories than this is too common to pull candidates
_INITIAL_ROWS = 1024


class EntityIdf(Mapping[str, float]):
    """Live entity IDF over the most recent `window` articles observed (unseen keys are absent: callers weigh
    them 1). Body terms are counted here too, under signature.TERM_PREFIX (see ArticleSignature.idf_keys).

    Counting a fixed number of recent articles keeps the weights on the scale the pair model was fitted at:
    over a whole store, a name in the same share of articles weighs less as the store grows (1 % of the store
    weighs 0.74 at 500 articles and 0.40 at 100,000), so the pair decision would drift as an install ages.
    It also lets a name that filled last month's news count as rare again.
    """

    def __init__(self, window: int = IDF_WINDOW) -> None:
        self.document_frequency: dict[str, int] = {}
        self.window = max(1, window)
        self._recent: deque[frozenset[str]] = deque()

    @property
    def documents(self) -> int:
        """How many articles the weights count (at most `window`)."""
        return len(self._recent)

    def observe(self, keys: Iterable[str]) -> None:
        """Count one article's entity keys in; past the window, the oldest article's keys go out."""
        article = frozenset(keys)
        self._recent.append(article)
        self._count(article, 1)
        while len(self._recent) > self.window:
            self._count(self._recent.popleft(), -1)

    def copy(self) -> EntityIdf:
        """An independent copy (the article key sets are shared: they are never changed)."""
        twin = EntityIdf(self.window)
        twin.document_frequency = dict(self.document_frequency)
        twin._recent = deque(self._recent)
        return twin

    def _count(self, keys: frozenset[str], delta: int) -> None:
        for key in keys:
            value = self.document_frequency.get(key, 0) + delta
            if value > 0:
                self.document_frequency[key] = value
            else:
                self.document_frequency.pop(key, None)

    def __getitem__(self, key: str) -> float:
        df = self.document_frequency[key]
        n = max(1, self.documents)
        return max(0.2, math.log(1.0 + n / df) / math.log(1.0 + n))

    def __iter__(self) -> Iterator[str]:
        return iter(self.document_frequency)

    def __len__(self) -> int:
        return len(self.document_frequency)


def _epoch(moment: datetime | None) -> float:
    return math.nan if moment is None else moment.timestamp()


class CandidateIndex:
    """Story centroids in one float32 matrix plus time and entity look-ups, for fast candidate retrieval."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.stories: dict[int, StoryState] = {}
        self._matrix = np.zeros((_INITIAL_ROWS, dim), dtype=np.float32)
        self._first = np.full(_INITIAL_ROWS, np.nan)
        self._last = np.full(_INITIAL_ROWS, np.nan)
        self._row_of: dict[int, int] = {}
        self._story_at: list[int | None] = []
        self._free: list[int] = []
        self._keys_of: dict[int, set[str]] = {}
        self._stories_with: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.stories)

    def _grow(self) -> None:
        rows = self._matrix.shape[0] * 2
        self._matrix = np.resize(self._matrix, (rows, self.dim))
        self._first = np.concatenate([self._first, np.full(rows - len(self._first), np.nan)])
        self._last = np.concatenate([self._last, np.full(rows - len(self._last), np.nan)])

    def _row_for(self, story_id: int) -> int:
        if story_id in self._row_of:
            return self._row_of[story_id]
        if self._free:
            row = self._free.pop()
            self._story_at[row] = story_id
        else:
            row = len(self._story_at)
            if row >= self._matrix.shape[0]:
                self._grow()
            self._story_at.append(story_id)
        self._row_of[story_id] = row
        return row

    def upsert(self, story: StoryState) -> None:
        """Add or refresh one story (call after every change to it)."""
        if story.size == 0:
            self.remove(story.story_id)
            return
        row = self._row_for(story.story_id)
        centroid = story.centroid
        self._matrix[row] = 0.0 if centroid is None else centroid
        self._first[row] = _epoch(story.first_seen)
        self._last[row] = _epoch(story.last_updated)
        self.stories[story.story_id] = story
        keys = set(story.entity_counts)
        old = self._keys_of.get(story.story_id, set())
        for key in old - keys:
            self._stories_with.get(key, set()).discard(story.story_id)
        for key in keys - old:
            self._stories_with.setdefault(key, set()).add(story.story_id)
        self._keys_of[story.story_id] = keys

    def remove(self, story_id: int) -> None:
        """Drop one story."""
        row = self._row_of.pop(story_id, None)
        if row is None:
            return
        self._matrix[row] = 0.0
        self._first[row] = self._last[row] = np.nan
        self._story_at[row] = None
        self._free.append(row)
        self.stories.pop(story_id, None)
        for key in self._keys_of.pop(story_id, set()):
            self._stories_with.get(key, set()).discard(story_id)

    def _in_window(self, when: datetime | None, window_hours: float) -> np.ndarray:
        used = len(self._story_at)
        first, last = self._first[:used], self._last[:used]
        if when is None:
            return np.ones(used, dtype=bool)
        t, slack = when.timestamp(), window_hours * 3600.0
        # Unknown story times stay eligible; otherwise the article must fall near the story's span.
        return np.isnan(last) | ((first - slack <= t) & (t <= last + slack))

    def candidates(
        self, sig: ArticleSignature, limit: int = DEFAULT_LIMIT, window_hours: float = DEFAULT_WINDOW_HOURS
    ) -> list[StoryState]:
        """Stories worth scoring: nearest centroids in the time window, plus stories sharing rare entities."""
        ids: list[int] = []
        used = len(self._story_at)
        if not used:
            return []
        eligible = self._in_window(sig.event_time, window_hours)
        if sig.embedding is not None:
            sims = self._matrix[:used] @ sig.embedding
            sims[~eligible] = -2.0
            top = np.argpartition(-sims, limit)[:limit] if used > limit else np.arange(used)
            ids = [s for r in top if sims[r] > -2.0 and (s := self._story_at[r]) is not None]
        for key in sig.entity_keys:
            holders = self._stories_with.get(key, ())
            if 0 < len(holders) <= RARE_STORY_KEY:
                ids.extend(h for h in holders if eligible[self._row_of[h]])
        # dict.fromkeys keeps first-seen order while dropping repeats.
        return [self.stories[i] for i in dict.fromkeys(ids) if i in self.stories]
