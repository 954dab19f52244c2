"""Re-ranking: one card per story, MMR over embeddings, soft per-page caps, exploration slots."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from tidings.rank.features import normalise_source, topic_slug


def collapse_stories(story_codes: npt.NDArray[np.int32], scores: npt.NDArray[np.float64]) -> list[int]:
    """Indices of the best-scoring item of each story, best first."""
    order = np.argsort(-scores, kind="stable")
    seen: set[int] = set()
    keep = []
    for i in order:
        code = int(story_codes[i])
        if code not in seen:
            seen.add(code)
            keep.append(int(i))
    return keep


def cap_count(share: float, limit: int, window: int) -> int:
    """How many items one source or topic may hold in a feed of `limit` items."""
    return max(1, math.floor(share * max(limit, window) + 1e-9))


FEW = 8  # items a pick checks one by one before it checks the rest against the caps all at once


@dataclass
class CapState:
    """Running per-source and per-topic counts on one page against their caps (keys are normalised)."""

    source_cap: int
    topic_cap: int
    source_caps: dict[str, int] = field(default_factory=dict)  # per-source overrides (followed sources)
    topic_caps: dict[str, int] = field(default_factory=dict)  # per-topic overrides (followed topics)
    page: int = 20
    sources: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    placed: int = 0

    def __post_init__(self) -> None:
        # A page checks only the sources and topics it already holds against their caps (CapIndex.fits).
        if min([self.source_cap, self.topic_cap, *self.source_caps.values(), *self.topic_caps.values()]) < 1:
            raise ValueError("every cap must allow at least one item")

    def fresh(self) -> CapState:
        """The same caps with no item counted (a new page)."""
        return CapState(self.source_cap, self.topic_cap, self.source_caps, self.topic_caps, self.page)

    def violation(self, source: str, topics: list[str]) -> tuple[str, str] | None:
        """("source"|"topic", name) of the cap that adding this item would break, else None.

        A source's cap also grows through the page (a source with 10 of 20 may hold 1 of the first 2, 2 of
        the first 4...), so that sources interleave rather than come in blocks."""
        key = normalise_source(source)
        if self.sources[key] >= self.source_limit(key):
            return "source", source
        for topic in topics:
            t = topic_slug(topic)
            if self.topics[t] >= self.topic_caps.get(t, self.topic_cap):
                return "topic", topic
        return None

    def source_limit(self, key: str) -> int:
        """How many items of the (normalised) source the page may hold once one more item is placed."""
        cap = self.source_caps.get(key, self.source_cap)
        return min(cap, math.ceil(cap * (self.placed + 1) / self.page - 1e-9))

    def topic_limit(self, slug: str) -> int:
        """How many items of the topic (slug) the page may hold."""
        return self.topic_caps.get(slug, self.topic_cap)

    def add(self, source: str, topics: list[str]) -> None:
        """Count one selected item."""
        self.placed += 1
        self.sources[normalise_source(source)] += 1
        for t in {topic_slug(topic) for topic in topics}:
            self.topics[t] += 1


@dataclass
class Slate:
    """Items to place: scores, embeddings (unit rows or None), and each item's source, topics and story."""

    scores: npt.NDArray[np.float64]
    embeddings: npt.NDArray[np.float32] | None
    sources: list[str]
    topics: list[list[str]]
    stories: list[int]

    @cached_property
    def story_codes(self) -> npt.NDArray[np.int64]:
        """`stories` as an array."""
        return np.array(self.stories, dtype=np.int64)

    @cached_property
    def cap_index(self) -> CapIndex:
        """The items' sources and topics as codes, for checking every item against the caps at once."""
        return CapIndex(self.sources, self.topics)


class CapIndex:
    """Each item's normalised source and topic slugs as codes. A pick that gets past its first few items
    checks the rest against the caps; one call per item folded the same names again and again (most of a
    feed's CPU when one source fills the page), so that check is done for all items at once, and once per
    state of the caps."""

    def __init__(self, sources: list[str], topics: list[list[str]]) -> None:
        source_of: dict[str, int] = {}
        topic_of: dict[str, int] = {}
        codes: list[int] = []
        lengths: list[int] = []
        for names in topics:
            slugs = {topic_of.setdefault(topic_slug(t), len(topic_of)) for t in names}
            codes.extend(slugs)
            lengths.append(len(slugs))
        self.source_codes = np.array(
            [source_of.setdefault(normalise_source(name), len(source_of)) for name in sources], dtype=np.int64
        )
        self.source_of, self.topic_of = source_of, topic_of
        self.topic_codes = np.array(codes, dtype=np.int64)
        self.topic_ends = np.cumsum(np.array(lengths, dtype=np.int64))
        self._seen: tuple[CapState, int] | None = None  # the caps (held, so never another's) and their count
        self._fits = np.ones(len(sources), dtype=bool)

    def fits(self, caps: CapState) -> npt.NDArray[np.bool_]:
        """Per item: whether adding it would break no cap (`caps.violation` is None)."""
        if self._seen is not None and self._seen[0] is caps and self._seen[1] == caps.placed:
            return self._fits  # caps change only when an item is added, which moves `placed`
        # Every cap allows one item at least, so only the sources and topics already on the page can be full.
        full = np.zeros(len(self.source_of), dtype=bool)
        for key, n in caps.sources.items():
            if key in self.source_of and n >= caps.source_limit(key):
                full[self.source_of[key]] = True
        ok = ~full[self.source_codes]
        over = np.zeros(len(self.topic_of), dtype=bool)
        for slug, n in caps.topics.items():
            if slug in self.topic_of and n >= caps.topic_limit(slug):
                over[self.topic_of[slug]] = True
        if over.any():
            hits = np.concatenate(([0], np.cumsum(over[self.topic_codes])))
            ok &= hits[self.topic_ends] == hits[np.concatenate(([0], self.topic_ends[:-1]))]
        self._seen, self._fits = (caps, caps.placed), ok
        return ok


@dataclass
class Placement:
    """The placed feed: (index, is_exploration) in order, main items a cap moved down, and whether any item
    had to go over a cap because nothing else was left."""

    order: list[tuple[int, bool]]
    moved: list[tuple[int, tuple[str, str]]]
    relaxed: bool


@dataclass
class _Greedy:
    """MMR state over the main slate."""

    slate: Slate
    lam: float
    relevance: npt.NDArray[np.float64]
    max_sim: npt.NDArray[np.float64]
    alive: npt.NDArray[np.bool_]
    recorded: npt.NDArray[np.bool_]  # items in skipped_on (and in the caller's record of them)
    page: int = 0  # the page being filled, for the record of items a cap moved down
    skipped_on: dict[int, int] = field(default_factory=dict)  # item -> page where a cap first skipped it

    @classmethod
    def of(cls, slate: Slate, lam: float) -> _Greedy:
        scores = slate.scores
        m = scores.shape[0]
        spread = float(scores.max() - scores.min()) if m else 0.0
        relevance = (scores - scores.min()) / spread if spread > 0 else np.ones(m)
        return cls(slate, lam, relevance, np.zeros(m), np.ones(m, dtype=bool), np.zeros(m, dtype=bool))

    def take(
        self, caps: CapState, used: set[int], over_cap: bool, skipped: dict[int, tuple[str, str]]
    ) -> int | None:
        """The best MMR item whose story is new and (unless `over_cap`) that breaks no cap."""
        s = self.slate
        value = np.where(self.alive, self.lam * self.relevance - (1.0 - self.lam) * self.max_sim, -np.inf)
        order = np.argsort(-value, kind="stable")[: int(self.alive.sum())]  # the dead sort last
        head = order[:FEW]  # usually the best item fits: checking a few one by one costs the least
        for i in (int(i) for i in head):
            if s.stories[i] in used:
                self.alive[i] = False
                continue
            broken = None if over_cap else caps.violation(s.sources[i], s.topics[i])
            if broken is None:
                return self._picked(i)
            self._record(i, broken, skipped)
        return self._take_rest(order[FEW:], caps, used, over_cap, skipped)

    def _take_rest(
        self,
        order: npt.NDArray[np.intp],
        caps: CapState,
        used: set[int],
        over_cap: bool,
        skipped: dict[int, tuple[str, str]],
    ) -> int | None:
        """`take` over the rest of the ranked items, checked against the caps all at once."""
        s = self.slate
        fresh = ~np.isin(s.story_codes[order], np.fromiter(used, dtype=np.int64, count=len(used)))
        self.alive[order[~fresh]] = False  # their story is on the feed already: never to be placed
        fits = fresh if over_cap else fresh & s.cap_index.fits(caps)[order]
        first = int(np.argmax(fits)) if fits.any() else order.size
        passed = order[:first][fresh[:first]]  # the better items a cap passed over, for the explanations
        for i in passed[~self.recorded[passed]]:
            broken = caps.violation(s.sources[int(i)], s.topics[int(i)])
            if broken is not None:
                self._record(int(i), broken, skipped)
        return None if first == order.size else self._picked(int(order[first]))

    def _record(self, i: int, broken: tuple[str, str], skipped: dict[int, tuple[str, str]]) -> None:
        """Note the first time a cap passed item i over (the page is told in the feed's explanations)."""
        if not self.recorded[i]:
            self.recorded[i] = True
            skipped[i] = broken
            self.skipped_on[i] = self.page

    def _picked(self, i: int) -> int:
        """Take item i off the slate; the rest are now scored against it too."""
        self.alive[i] = False
        if self.slate.embeddings is not None:
            self.max_sim = np.maximum(self.max_sim, self.slate.embeddings @ self.slate.embeddings[i])
        return i


def _take_explore(
    explore: Slate, left: list[int], caps: CapState, used: set[int], over_cap: bool
) -> int | None:
    """The next exploration item (in the slate's given order) with a new story that fits the caps."""
    checked = 0
    fits: npt.NDArray[np.bool_] | None = None
    for k, i in enumerate(left):
        if explore.stories[i] in used:
            continue
        if not over_cap:
            checked += 1
            if checked > FEW and fits is None:  # past the first few: check the rest at once
                fits = explore.cap_index.fits(caps)
            fit = (
                fits[i] if fits is not None else caps.violation(explore.sources[i], explore.topics[i]) is None
            )
            if not fit:
                continue
        del left[k]
        return i
    return None


def place_pages(
    main: Slate, explore: Slate, count: int, lam: float, caps: CapState, page: int, explore_per_page: int
) -> Placement:
    """Fill `count` positions page by page with greedy MMR; caps count per page and only ever move an item to
    a later page, so the feed holds every story there is. Exploration items take marked slots on each page."""
    greedy = _Greedy.of(main, lam)
    slots = set(exploration_positions(page - explore_per_page, explore_per_page))
    left = list(range(len(explore.stories)))
    used: set[int] = set()
    order: list[tuple[int, bool]] = []
    moved: dict[int, tuple[str, str]] = {}
    relaxed = False
    state = caps.fresh()
    while len(order) < count:
        pos = len(order) % page
        if pos == 0:
            state = caps.fresh()
            greedy.page = len(order) // page
        choice = _choose(greedy, explore, left, state, used, pos in slots, moved)
        if choice is None:
            break
        (i, is_exp), over = choice
        relaxed |= over
        s = explore if is_exp else main
        state.add(s.sources[i], s.topics[i])
        used.add(s.stories[i])
        order.append((i, is_exp))
    placed_on = {i: k // page for k, (i, e) in enumerate(order) if not e}
    moved_down = [(i, c) for i, c in moved.items() if placed_on.get(i, -1) != greedy.skipped_on[i]]
    return Placement(order, moved_down, relaxed)


def _choose(
    greedy: _Greedy,
    explore: Slate,
    left: list[int],
    caps: CapState,
    used: set[int],
    explore_slot: bool,
    moved: dict[int, tuple[str, str]],
) -> tuple[tuple[int, bool], bool] | None:
    """One pick: exploration in its slots, else the best main item within the caps, else an exploration
    item within the caps, else (nothing else left) the best item over a cap.

    Returns ((index, is_exploration), over_cap), or None when nothing is left."""
    if explore_slot and (e := _take_explore(explore, left, caps, used, False)) is not None:
        return (e, True), False
    if (i := greedy.take(caps, used, False, moved)) is not None:
        return (i, False), False
    if (e := _take_explore(explore, left, caps, used, False)) is not None:
        return (e, True), False
    if (i := greedy.take(caps, used, True, moved)) is not None:
        return (i, False), True
    if (e := _take_explore(explore, left, caps, used, True)) is not None:
        return (e, True), True
    return None


def exploration_positions(n_main: int, n_explore: int) -> list[int]:
    """Where exploration cards go: spread through the feed, never first."""
    total = n_main + n_explore
    if n_explore == 0:
        return []
    step = total / (n_explore + 1)
    return sorted({min(total - 1, max(1, round(step * (k + 1)))) for k in range(n_explore)})
