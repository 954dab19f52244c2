"""Scored same-story comparison: embedding similarity, shared entities, headline overlap and time gap."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from tidings.stories.signature import ArticleSignature, StoryState

PROBABILITY_SLOPE = 8.0  # MatchScore.probability squashes 8 * score
_YEAR_RE = re.compile(r"(?:19[5-9]|20[0-4])\d")


@dataclass(frozen=True)
class Weights:
    """Coefficients of the linear same-story score; `bias` is the decision threshold (score > 0 joins).

    Chosen by `tidings eval stories --tune` (5-fold CV over events, ECB+ odd topics and a 1,483-article GVA
    sample): every fold picked entity 1.0 over 0.5 from a 12-point grid of bias, entity and time weights. The
    crowding bar was chosen in a denser store (see `crowd`).
    """

    cosine: float = 1.0
    entity: float = 1.0
    title: float = 0.30
    time: float = 0.15  # penalty at a full decay (gap >> TIME_SCALE_HOURS)
    bias: float = 0.76
    number: float = 0.0  # shared distinctive numbers (see number_overlap)
    conflict: float = 0.0  # penalty when both sides name entities and share none of them
    # Extra bar for a multi-member story, times 1 - 1/size: the centroid of a story holding several similar
    # events is close to every report of that kind, so without it one story swallows hundreds of shootings in
    # a dense store. 0.1 by 5-fold CV on ECB+ and all of GVA in one store (`bench/dense_stories.py`).
    crowd: float = 0.1
    short: float = 0.0  # lower bar for a brief article, times 1 - words/short_words (0 for unknown lengths)
    short_words: int = 150
    min_cosine: float = 0.30  # below this no amount of overlap joins two articles
    time_scale_hours: float = 36.0
    # Member check: a story is joined only if the pair model's probability against its most similar members
    # (the best of up to member_top of them) exceeds `members`; 0 turns the check off.
    members: float = 0.0
    member_top: int = 5
    # Penalty when an undated article's years and the years most of a story names differ: 0.4 by 5-fold CV on
    # the stories dev sets (ECB+ +0.018 ± 0.020 per fold; GVA, being dated, unchanged).
    year: float = 0.4
    # Member linkage for dated articles: among candidate stories within `linkage_window_hours` whose centroid
    # score is at least `linkage_floor`, join the one whose `linkage_top` members most like the article (the
    # mean of the pair model's probabilities against them, over its `member_top` closest members by
    # embedding), if that mean exceeds `linkage`; 0 keeps the centroid decision. Undated articles always use
    # the centroid. Off: 5-fold CV on the stories dev sets picks 0.5 over 720 hours in every fold (GVA
    # 0.909 ± 0.016 -> 0.941 ± 0.008; ECB+, undated, unchanged), but on general news (the demo corpus, the
    # same-day regression fixture) it joins different events that share a country or an institution.
    linkage: float = 0.0
    linkage_top: int = 2
    linkage_floor: float = -0.2
    linkage_window_hours: float = 720.0


DEFAULT_WEIGHTS = Weights()


@dataclass
class MatchScore:
    """One comparison, with the components that explain it."""

    cosine: float
    entity: float
    title: float
    time_decay: float  # 1 = same moment, -> 0 as the gap grows; 1 when a time is unknown
    gap_hours: float | None
    score: float  # linear combination minus the threshold: > 0 means same story
    number: float = 0.0  # share of distinctive numbers in common

    @property
    def probability(self) -> float:
        """A squashed score in (0, 1), monotone in `score` (what AUC is measured on)."""
        return 1.0 / (1.0 + math.exp(-PROBABILITY_SLOPE * self.score))

    @property
    def is_match(self) -> bool:
        """Whether this comparison says "same story"."""
        return self.score > 0.0

    def as_dict(self) -> dict[str, float | None]:
        """Components as a plain dict, for explanations."""
        return {**asdict(self), "probability": self.probability}


def idf_weight(key: str, idf: Mapping[str, float] | None) -> float:
    """An entity's weight: its IDF (scaled to at most 1) when known; unseen keys are rare, so weigh 1."""
    return 1.0 if idf is None else idf.get(key, 1.0)


def weighted_overlap(
    mine: Mapping[str, int] | set[str],
    theirs: Mapping[str, int],
    theirs_size: int,
    idf: Mapping[str, float] | None = None,
) -> float:
    """Share of my weighted keys the other side carries, each scaled by how many of its members carry it."""
    total = sum(idf_weight(k, idf) for k in mine)
    if total == 0.0 or theirs_size <= 0:
        return 0.0
    shared = sum(idf_weight(k, idf) * min(1.0, theirs.get(k, 0) / theirs_size * 2.0) for k in mine)
    # A story member counts fully once half the story mentions the key.
    return shared / total


def weighted_cosine(
    mine: Mapping[str, int],
    theirs: Mapping[str, int],
    theirs_size: int = 1,
    idf: Mapping[str, float] | None = None,
) -> float:
    """IDF-weighted cosine of two entity profiles (sub-linear counts; story counts are member shares)."""
    if not mine or not theirs:
        return 0.0
    a = {k: (1.0 + math.log(max(1, c))) * idf_weight(k, idf) for k, c in mine.items()}
    if theirs_size > 1:
        b = {k: c / theirs_size * idf_weight(k, idf) for k, c in theirs.items()}
    else:
        b = {k: (1.0 + math.log(max(1, c))) * idf_weight(k, idf) for k, c in theirs.items()}
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return 0.0 if norm == 0.0 else dot / norm


def time_decay(
    a: datetime | None, b_first: datetime | None, b_last: datetime | None, scale: float
) -> tuple[float, float | None]:
    """exp(-gap/scale) for the gap between a moment and an interval; (1, None) when either is unknown."""
    if a is None or b_first is None or b_last is None:
        return 1.0, None
    if b_first <= a <= b_last:
        gap = 0.0
    else:
        gap = min(abs((a - b_first).total_seconds()), abs((a - b_last).total_seconds())) / 3600.0
    return math.exp(-gap / scale), gap


def number_overlap(mine: frozenset[str] | set[str], theirs: Mapping[str, int], theirs_size: int = 1) -> float:
    """Shared numbers over the smaller side's count of them (0 when either side has none).

    A story member counts fully once half the story mentions the number; a story's count of numbers is its
    members' average, so for two articles this is |A & B| / min(|A|, |B|).
    """
    if not mine or not theirs or theirs_size <= 0:
        return 0.0
    shared = sum(min(1.0, theirs.get(k, 0) / theirs_size * 2.0) for k in mine)
    per_member = sum(theirs.values()) / theirs_size
    return min(1.0, shared / max(1.0, min(len(mine), per_member)))


def combine(
    cosine: float,
    entity: float,
    title: float,
    decay: float,
    w: Weights,
    number: float = 0.0,
    conflict: float = 0.0,
    size: int = 1,
    short: float = 0.0,
    year_clash: float = 0.0,
) -> float:
    """The linear same-story score minus the threshold."""
    if cosine < w.min_cosine:
        return min(-0.01, cosine - w.min_cosine)
    linear = w.cosine * cosine + w.entity * entity + w.title * title + w.number * number
    bar = w.bias + w.conflict * conflict + w.crowd * (1.0 - 1.0 / max(1, size)) - w.short * short
    bar += w.year * year_clash
    return linear - w.time * (1.0 - decay) - bar


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Dot product of two unit vectors (0 when either is missing)."""
    return 0.0 if a is None or b is None else float(np.dot(a, b))


def score_match(
    sig: ArticleSignature,
    story: StoryState,
    idf: Mapping[str, float] | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    exact: bool = True,
) -> MatchScore:
    """Score how well an article fits a story (centroid, entities, headline stems, time gap).

    With `exact=False` the entity and headline components are left at 0 when the cosine is below the floor:
    the score does not depend on them there (see `combine`), and skipping them spares most of the cost of
    ranking candidates. Only the components shown in explanations differ.
    """
    cos = cosine(sig.embedding, story.centroid)
    decay, gap = time_decay(sig.event_time, story.first_seen, story.last_updated, weights.time_scale_hours)
    if not exact and cos < weights.min_cosine:
        return MatchScore(cos, 0.0, 0.0, decay, gap, combine(cos, 0.0, 0.0, decay, weights))
    ent = weighted_cosine(sig.entity_keys, story.entity_counts, story.size, idf)
    ttl = weighted_overlap(sig.terms, story.term_counts, story.size)
    num = number_overlap(sig.numbers, story.number_counts, story.size)
    # Two reports that both name people, places or organisations but none in common are two events.
    clash = float(ent == 0.0 and bool(sig.entity_keys) and bool(story.entity_counts))
    brief = 0.0 if sig.word_count <= 0 else 1.0 - min(1.0, sig.word_count / weights.short_words)
    total = combine(cos, ent, ttl, decay, weights, num, clash, story.size, brief, year_clash(sig, story))
    return MatchScore(cos, ent, ttl, decay, gap, total, num)


def mentioned_years(numbers: frozenset[str] | set[str] | Mapping[str, int]) -> set[str]:
    """The numbers that read as years (1950-2049)."""
    return {n for n in numbers if _YEAR_RE.fullmatch(n)}


def year_clash(sig: ArticleSignature, story: StoryState) -> float:
    """1 when an undated article names years and none of them is one most of the story's members name.

    Without a date the time gap says nothing; the years a report mentions stand in for it (two similar events
    years apart). Dated articles are left to the time gap, as background years would only add noise.
    """
    if sig.published_at is not None:
        return 0.0
    mine = mentioned_years(sig.numbers)
    common = {y for y in mentioned_years(story.number_counts) if story.number_counts[y] * 2 >= story.size}
    return float(bool(mine) and bool(common) and not (mine & common))


def symmetric_overlap(
    a: Mapping[str, int] | set[str], b: Mapping[str, int] | set[str], idf: Mapping[str, float] | None
) -> float:
    """Mean of the two one-sided weighted overlaps of two key sets."""
    a_counts = {k: 1 for k in a}
    b_counts = {k: 1 for k in b}
    return 0.5 * (weighted_overlap(a, b_counts, 1, idf) + weighted_overlap(b, a_counts, 1, idf))


@dataclass(frozen=True)
class PairWeights:
    """Logistic coefficients of the article-pair decision, one per PairFeatures field.

    Fitted with `tidings eval pairs --fit` (logistic regression, C=1) on the stories dev sets, ECB+ odd topics
    (465 articles) and 1,483 GVA articles sampled by event, each learned from twice: as full texts and as a
    summary view (every text cut to 45 words, as feed items carry); 20,723 pairs. 5-fold CV over events: F1
    0.900 ± 0.019 on full-text pairs and 0.842 ± 0.009 on summary pairs (AUC 0.983 / 0.964); on the same folds
    the former fit without `terms` scores 0.897 ± 0.022 and 0.831 ± 0.009. A MiniLM cosine threshold chosen by
    CV: 0.659 ± 0.014 and 0.617 ± 0.017.
    A pair joins when the logit is above 0; `short` lowers the bar when either side is a brief summary.
    """

    cosine: float = 2.108
    entity: float = 0.723
    title: float = 0.463
    short: float = 1.795
    number: float = 2.269  # shared distinctive numbers (number_overlap)
    rare_entity: float = 1.926  # IDF of the rarest entity both name
    shared_mass: float = 5.7  # log(1 + summed IDF of the shared entities)
    shared_count: float = -3.846  # log(1 + shared entities): many common ones are weaker than a few rare ones
    days_apart: float = -0.648  # per log(1 + days between the two)
    terms: float = 6.792  # IDF-weighted cosine of the two bodies' content stems (body_terms)
    bias: float = 4.07
    min_cosine: float = 0.35  # below this no overlap joins two articles
    short_words: int = 150  # a side with fewer words counts as (partly) a summary
    time_scale_hours: float = 36.0  # only for the time decay shown in explanations


DEFAULT_PAIR_WEIGHTS = PairWeights()


class PairFeatures(NamedTuple):
    """The inputs of the pair decision, in PairWeights' order (see pair_features)."""

    cosine: float
    entity: float  # IDF-weighted entity cosine
    title: float  # headline stem overlap
    short: float  # 0 for two full articles, up to 1 when either is a summary
    number: float  # shared distinctive numbers
    rare_entity: float
    shared_mass: float
    shared_count: float
    days_apart: float  # log(1 + days between the two); 0 when a time is unknown
    terms: float  # IDF-weighted cosine of the body terms


def shortness(a: ArticleSignature, b: ArticleSignature, short_words: int) -> float:
    """0 for two full articles, up to 1 when either side is very short (unknown length counts as full)."""
    counts = [c for c in (a.word_count, b.word_count) if c > 0]
    if not counts:
        return 0.0
    return 1.0 - min(1.0, min(counts) / short_words)


def shared_entities(
    a: Mapping[str, int], b: Mapping[str, int], idf: Mapping[str, float] | None
) -> tuple[float, float, float]:
    """(IDF of the rarest shared entity, log(1 + their summed IDF), log(1 + how many)) of two entity sets.

    A victim's name or a small town named by both reports is strong evidence on its own, which a normalised
    entity cosine dilutes when either side names many other entities.
    """
    weights = [idf_weight(k, idf) for k in a if k in b]
    if not weights:
        return 0.0, 0.0, 0.0
    return max(weights), math.log1p(sum(weights)), math.log1p(len(weights))


def pair_features(
    a: ArticleSignature,
    b: ArticleSignature,
    idf: Mapping[str, float] | None = None,
    weights: PairWeights = DEFAULT_PAIR_WEIGHTS,
) -> PairFeatures:
    """The inputs of the pair decision for two articles."""
    _, gap = _time_apart(a, b, weights)
    return _features(a, b, idf, weights, gap)


def _time_apart(a: ArticleSignature, b: ArticleSignature, weights: PairWeights) -> tuple[float, float | None]:
    """The time decay and the gap in hours between two articles (None when a time is unknown)."""
    tb = b.event_time
    return time_decay(a.event_time, tb, tb, weights.time_scale_hours)


def _features(
    a: ArticleSignature,
    b: ArticleSignature,
    idf: Mapping[str, float] | None,
    weights: PairWeights,
    gap: float | None,
) -> PairFeatures:
    """Build the pair inputs from an already computed time gap, so callers read the times once."""
    rare, mass, count = shared_entities(a.entity_keys, b.entity_keys, idf)
    return PairFeatures(
        cosine(a.embedding, b.embedding),
        weighted_cosine(a.entity_keys, b.entity_keys, 1, idf),
        symmetric_overlap(a.terms, b.terms, None),
        shortness(a, b, weights.short_words),
        number_overlap(a.numbers, dict.fromkeys(b.numbers, 1)),
        rare,
        mass,
        count,
        math.log1p((gap or 0.0) / 24.0),
        weighted_cosine(a.body_terms, b.body_terms, 1, idf),
    )


def pair_match(
    a: ArticleSignature,
    b: ArticleSignature,
    idf: Mapping[str, float] | None = None,
    weights: PairWeights = DEFAULT_PAIR_WEIGHTS,
) -> MatchScore:
    """Score two articles against each other (pair calibration; clustering uses score_match)."""
    decay, gap = _time_apart(a, b, weights)
    f = _features(a, b, idf, weights, gap)
    return MatchScore(f.cosine, f.entity, f.title, decay, gap, pair_logit(f, weights), f.number)


def pair_logit(f: PairFeatures, w: PairWeights = DEFAULT_PAIR_WEIGHTS) -> float:
    """The pair decision score (logit / PROBABILITY_SLOPE, so MatchScore.probability is the fitted one)."""
    linear = sum(getattr(w, name) * value for name, value in zip(PairFeatures._fields, f, strict=True))
    logit = linear - w.bias
    if f.cosine < w.min_cosine:
        # Unrelated texts never join, however much they share; staying monotone in the logit keeps AUC honest.
        return min(-0.01, logit / PROBABILITY_SLOPE)
    return logit / PROBABILITY_SLOPE


def pair_score(a: ArticleSignature, b: ArticleSignature, idf: Mapping[str, float] | None = None) -> float:
    """Same-story probability-like score of two articles, in (0, 1)."""
    return pair_match(a, b, idf).probability


def same_story(a: ArticleSignature, b: ArticleSignature, idf: Mapping[str, float] | None = None) -> bool:
    """Whether two articles report the same event."""
    return pair_match(a, b, idf).is_match
