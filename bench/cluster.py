"""Benchmark: place new articles against stories of 100,000 stored articles; prints p50/p95/p99 JSON.

Three decisions are timed in one run: the centroid score alone (the shipped default), the member check and
member linkage for dated articles, with its wider candidate window (both optional, off by default).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from tidings.pipeline.story_placement import candidate_window
from tidings.stories.centroid_index import CandidateIndex, EntityIdf
from tidings.stories.clusterer import RECENT_MEMBERS, add_to_story, assign, new_story
from tidings.stories.scoring import DEFAULT_WEIGHTS, Weights
from tidings.stories.signature import ArticleSignature, StoryState

DIM = 384
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 30


def make_topics(rng: np.random.Generator, topics: int) -> np.ndarray:
    """Random unit topic directions."""
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def make_signature(
    rng: np.random.Generator, aid: int, event: int, events: np.ndarray, when: datetime
) -> ArticleSignature:
    """A synthetic article about one event: noisy event vector, a few event entities plus common ones."""
    vec = events[event] + 0.8 * rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
    entities = {f"event{event}-e{k}": 1 for k in rng.choice(6, size=3, replace=False)}
    entities.update({f"common{c}": 1 for c in rng.integers(0, 200, size=3)})
    title = f"event {event} headline word{rng.integers(0, 50)} term{event % 997}"
    return ArticleSignature(aid, title, vec, entities, when, source=f"src{rng.integers(0, 40)}")


Built = tuple[CandidateIndex, EntityIdf, np.ndarray, int, dict[int, ArticleSignature]]


def build_index(rng: np.random.Generator, articles: int, per_story: int) -> Built:
    """Stories grouping `articles` synthetic articles (about `per_story` each), spread over DAYS days."""
    n_events = articles // per_story
    topics = make_topics(rng, 40)
    # Events sit near one of 40 topics, so neighbours are plausible near-misses.
    events = topics[rng.integers(0, 40, n_events)] + 0.8 * make_topics(rng, n_events)
    events /= np.linalg.norm(events, axis=1, keepdims=True)
    event_start = [START + timedelta(hours=float(h)) for h in rng.uniform(0, DAYS * 24, n_events)]
    index, idf = CandidateIndex(DIM), EntityIdf()
    stories: dict[int, StoryState] = {}
    sigs: dict[int, ArticleSignature] = {}
    for aid in range(articles):
        event = aid % n_events
        when = event_start[event] + timedelta(hours=float(rng.exponential(12)))
        sig = make_signature(rng, aid, event, events, when)
        idf.observe(set(sig.entity_keys))
        sigs[aid] = sig
        story = stories.get(event)
        stories[event] = new_story(event, sig) if story is None else add_to_story(story, sig)
    for story in stories.values():
        index.upsert(story)
    return index, idf, events, n_events, sigs


def run(
    articles: int, queries: int, per_story: int, seed: int, weights: Weights = DEFAULT_WEIGHTS
) -> dict[str, float | int]:
    """Time the per-article path: candidate search, scoring, member check or linkage, decision, story update,
    index (the candidate window is the one ingest uses for these weights)."""
    rng = np.random.default_rng(seed)
    index, idf, events, n_events, sigs = build_index(rng, articles, per_story)

    def members(story: StoryState) -> list[ArticleSignature]:
        return [sigs[a] for a in story.article_ids[-RECENT_MEMBERS:]]

    timings: list[float] = []
    joined = 0
    for q in range(queries):
        event = int(rng.integers(0, n_events))
        story = index.stories[event]
        when = (story.last_updated or START) + timedelta(hours=float(rng.uniform(0, 6)))
        sig = make_signature(rng, articles + q, event, events, when)
        t0 = time.perf_counter()
        idf.observe(set(sig.entity_keys))
        window = candidate_window(weights, sig)
        decision = assign(sig, index.candidates(sig, window_hours=window), idf, weights, members)
        if decision.story_id is None:
            target = new_story(10_000_000 + q, sig)
        else:
            target = add_to_story(index.stories[decision.story_id], sig)
            joined += decision.story_id == event
        index.upsert(target)
        sigs[sig.article_id] = sig
        timings.append((time.perf_counter() - t0) * 1000.0)
    arr = np.array(timings)
    return {
        "stored_articles": articles,
        "stories": n_events,
        "queries": queries,
        "joined_right_story": joined / queries,
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "p99_ms": float(np.percentile(arr, 99)),
        "max_ms": float(arr.max()),
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--per-story", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--member-check", type=float, default=0.5, help="pair-probability bar of the member check compared"
    )
    parser.add_argument(
        "--linkage", type=float, default=0.5, help="member linkage bar compared (the bar CV chose on dev)"
    )
    args = parser.parse_args()
    # Every variant in one run, so that a loaded machine slows them alike.
    centroid = replace(DEFAULT_WEIGHTS, members=0.0, linkage=0.0)
    variants = {
        "centroid_only": centroid,
        "member_check": replace(centroid, members=args.member_check),
        "member_linkage": replace(centroid, linkage=args.linkage),
    }
    sizes = (args.articles, args.queries, args.per_story, args.seed)
    out = {name: run(*sizes, weights) for name, weights in variants.items()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
