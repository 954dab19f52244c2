"""Page placement under caps: the array-at-once cap check places exactly what the item-by-item rule places."""

from __future__ import annotations

import random

import numpy as np

from tidings.rank.diversity import (
    CapState,
    Placement,
    Slate,
    exploration_positions,
    place_pages,
)

SOURCES = ["www.Alpha.org", "alpha.org", "beta.com", "Gamma.net", "delta.io", "epsilon.fm"]
TOPICS = ["Politics", "politics", "Sport", "Science", "Business", "Health", "World"]


def _slate(rng: random.Random, n: int, sources: list[str], with_vectors: bool) -> Slate:
    vectors = None
    if with_vectors:
        raw = np.array([[rng.gauss(0, 1) for _ in range(8)] for _ in range(n)], dtype=np.float32).reshape(
            n, 8
        )
        vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    return Slate(
        scores=np.array([rng.random() for _ in range(n)]),
        embeddings=vectors,
        sources=[rng.choice(sources) for _ in range(n)],
        topics=[rng.sample(TOPICS, rng.randint(0, 3)) for _ in range(n)],
        stories=[rng.randrange(n) for _ in range(n)],  # some stories have several items
    )


def _reference(
    main: Slate, explore: Slate, count: int, lam: float, caps: CapState, page: int, per_page: int
) -> Placement:
    """The placement rule spelled out one item and one `CapState.violation` call at a time."""
    m = main.scores.shape[0]
    spread = float(main.scores.max() - main.scores.min()) if m else 0.0
    relevance = (main.scores - main.scores.min()) / spread if spread > 0 else np.ones(m)
    max_sim, alive = np.zeros(m), np.ones(m, dtype=bool)
    skipped_on: dict[int, int] = {}
    moved: dict[int, tuple[str, str]] = {}
    on_page = 0

    def take(state: CapState, used: set[int], over: bool) -> int | None:
        nonlocal max_sim
        value = np.where(alive, lam * relevance - (1.0 - lam) * max_sim, -np.inf)
        for i in (int(i) for i in np.argsort(-value, kind="stable")):
            if not alive[i]:
                return None
            if main.stories[i] in used:
                alive[i] = False
                continue
            broken = state.violation(main.sources[i], main.topics[i])
            if broken is None or over:
                alive[i] = False
                if main.embeddings is not None:
                    max_sim = np.maximum(max_sim, main.embeddings @ main.embeddings[i])
                return i
            if i not in moved:
                moved[i], skipped_on[i] = broken, on_page
        return None

    def take_explore(state: CapState, used: set[int], over: bool) -> int | None:
        for k, i in enumerate(left):
            if explore.stories[i] not in used and (
                over or state.violation(explore.sources[i], explore.topics[i]) is None
            ):
                del left[k]
                return i
        return None

    slots = set(exploration_positions(page - per_page, per_page))
    left = list(range(len(explore.stories)))
    used: set[int] = set()
    order: list[tuple[int, bool]] = []
    relaxed = False
    state = caps.fresh()
    while len(order) < count:
        if len(order) % page == 0:
            state, on_page = caps.fresh(), len(order) // page
        choice: tuple[int, bool, bool] | None = None
        if len(order) % page in slots and (e := take_explore(state, used, False)) is not None:
            choice = (e, True, False)
        elif (i := take(state, used, False)) is not None:
            choice = (i, False, False)
        elif (e := take_explore(state, used, False)) is not None:
            choice = (e, True, False)
        elif (i := take(state, used, True)) is not None:
            choice = (i, False, True)
        elif (e := take_explore(state, used, True)) is not None:
            choice = (e, True, True)
        if choice is None:
            break
        i, is_exp, over = choice
        relaxed |= over
        s = explore if is_exp else main
        state.add(s.sources[i], s.topics[i])
        used.add(s.stories[i])
        order.append((i, is_exp))
    placed_on = {i: k // page for k, (i, e) in enumerate(order) if not e}
    return Placement(
        order, [(i, c) for i, c in moved.items() if placed_on.get(i, -1) != skipped_on[i]], relaxed
    )


def _case(seed: int) -> tuple[Slate, Slate, int, float, CapState, int, int]:
    rng = random.Random(seed)
    sources = SOURCES[: rng.randint(1, len(SOURCES))]  # one source fills the page at once; six share it
    main = _slate(rng, rng.randint(0, 120), sources, with_vectors=seed % 3 != 0)
    explore = _slate(rng, rng.randint(0, 30), sources, with_vectors=False)
    page = rng.choice([5, 10, 20])
    caps = CapState(
        source_cap=rng.randint(1, 6),
        topic_cap=rng.randint(1, 8),
        source_caps={"alpha.org": rng.randint(1, 10)} if rng.random() < 0.5 else {},
        topic_caps={"sport": rng.randint(1, 10)} if rng.random() < 0.5 else {},
        page=page,
    )
    return main, explore, rng.randint(1, 60), rng.choice([0.0, 0.5, 0.8, 1.0]), caps, page, rng.randint(0, 2)


def test_placement_matches_the_item_by_item_rule() -> None:
    """300 random slates (1 to 6 sources, names that fold together, followed caps, exploration, stories with
    several items): the same order, the same items moved down with the same rule, the same relaxation."""
    moved = relaxed = 0
    for seed in range(300):
        case = _case(seed)
        expected = _reference(*case)
        assert place_pages(*case) == expected, seed
        moved += bool(expected.moved)
        relaxed += expected.relaxed
    assert moved > 100 and relaxed > 50, (moved, relaxed)  # the cases do exercise the caps
