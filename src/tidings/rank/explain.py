"""Human explanations: one `Reason` per non-zero feature contribution, whose sum is the item's score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tidings.rank.features import normalise_key, normalise_source, topic_slug
from tidings.rank.profile import affinity_value
from tidings.rank.scoring import COL, FEATURES, Context, FeatureBlock
from tidings.vocabulary import iptc_topic, topic_key

MAX_TITLE_CHARS = 40


@dataclass
class Reason:
    """Why an item is where it is: a named signal, its exact share of the score and a sentence."""

    signal: str
    contribution: float
    detail: str


def shorten(title: str, limit: int = MAX_TITLE_CHARS) -> str:
    """Cut a title to `limit` characters at a word boundary, with an ellipsis."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0] or title[:limit]
    return cut.rstrip(",;:-") + "…"


def _hours(seconds: float) -> str:
    hours = seconds / 3600.0
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


def _matching_topics(ctx: Context, names: list[str]) -> str:
    """The followed topics this article carries, by key: named topics ("North Korea") before IPTC levels."""
    have = {topic_slug(n) for n in names}
    matched = dict.fromkeys(topic_key(v) for v in ctx.controls.values("topic") if topic_slug(v) in have)
    ordered = sorted(matched, key=lambda k: iptc_topic(k) is not None)
    return " and ".join(ordered[:2]) or "a topic you follow"


def _matching_follow(ctx: Context, kind: str, names: list[str]) -> str:
    """The reader's own wording of the follow that matched one of `names` (never an unrelated follow)."""
    folded = {normalise_key(n) for n in names} | {n.lower() for n in names}
    for value in ctx.controls.values(kind):
        if normalise_key(value) in folded or value.lower() in folded:
            return value
        if kind == "entity":
            for code in ctx.pool.entity_codes_of.get(normalise_key(value), []):
                if ctx.pool.entity_keys[code] in names:
                    return value
    return f"a{'n' if kind[0] in 'aeiou' else ''} {kind} you follow"


def _strongest(ctx: Context, kind: str, names: list[str], sign: float) -> str:
    """The topic or entity of this article with the strongest affinity in the direction of `sign`."""
    table = ctx.profile.topic_aff if kind == "topic" else ctx.profile.entity_aff
    keyed = [(topic_slug(n) if kind == "topic" else n, n) for n in names]
    scored = [(affinity_value(table[k]) * sign, n) for k, n in keyed if k in table]
    if not scored:
        return names[0] if names else kind
    best = max(scored)[1]
    return ctx.pool.entity_label(best) if kind == "entity" else best


def describe(ctx: Context, row: int, signal: str, value: float, contribution: float, best_pos: int) -> str:
    """One sentence for one signal of one article."""
    pool, p = ctx.pool, ctx.profile
    source = pool.source_names[int(pool.source_codes[row])]
    up = contribution >= 0
    if signal == "follow_topic":
        return f"You follow {_matching_topics(ctx, pool.topics_of(row))}"
    if signal == "follow_entity":
        keys = pool.entities_of(row)
        named = _matching_follow(ctx, "entity", keys + [pool.entity_label(k) for k in keys])
        is_key = ":" in named and named in pool.entity_codes_of
        return f"You follow {pool.entity_label(named) if is_key else named}"
    if signal == "follow_source":
        return f"You follow {source}"
    if signal == "follow_story":
        return "You follow this story"
    if signal == "follow_keyword":
        words = [w for w in ctx.controls.values("keyword") if w.lower() in pool.keywords[row]]
        return f"Mentions “{(words or ['a keyword you follow'])[0]}”, which you follow"
    if signal == "sim_item" and 0 <= best_pos < len(p.positives):
        return f"Like ‘{shorten(p.positives[best_pos].title)}’ that you read"
    if signal in ("sim_long", "sim_short"):
        span = "lately" if signal == "sim_short" else "over time"
        return f"Close to what you read {span} ({value:.0%} similar)"
    if signal == "negative":
        return f"Resembles things you hid or asked for fewer of ({value:.0%} similar)"
    if signal == "topic_affinity":
        topic = _strongest(ctx, "topic", pool.topics_of(row), 1.0 if up else -1.0)
        return f"You often read about {topic}" if up else f"You tend to skip {topic}"
    if signal == "entity_affinity":
        name = _strongest(ctx, "entity", pool.entities_of(row), 1.0 if up else -1.0)
        return f"You often read about {name}" if up else f"You tend to skip stories on {name}"
    if signal == "source_affinity":
        return f"You often read {source}" if up else f"You tend to skip {source}"
    if signal == "freshness":
        return f"Published {_hours(max(ctx.now_ts - float(pool.timestamps[row]), 0.0))} ago"
    if signal == "story_size":
        return f"Popular now: {int(pool.story_size[row])} sources"
    if signal == "story_velocity":
        return f"Growing story: {int(pool.story_velocity[row])} new articles lately"
    if signal == "popularity":
        others = int(pool.popularity[row]) - int(str(pool.article_ids[row]) in p.read_ids)
        return f"Read by {max(others, 0)} other reader{'s' if others != 1 else ''}"
    if signal == "story_size_new":
        return f"Widely covered ({int(pool.story_size[row])} sources), a good start while you are new"
    if signal == "popularity_new":
        others = int(pool.popularity[row]) - int(str(pool.article_ids[row]) in p.read_ids)
        plural = "s" if others != 1 else ""
        return f"Read by {max(others, 0)} other reader{plural}, a good start while you are new"
    if signal == "seen":
        return "Already shown to you"
    if signal == "read":
        return "You already read this"
    return signal


def reasons_for(
    ctx: Context, block: FeatureBlock, i: int, weights: npt.NDArray[np.float64]
) -> tuple[float, list[Reason]]:
    """The reasons for item `i` of a feature block, largest first, and their exact sum as the score."""
    row = int(block.rows[i])
    values = block.values[i].astype(np.float64)
    reasons = []
    for name in FEATURES:
        contribution = float(values[COL[name]] * weights[COL[name]])
        if contribution != 0.0:
            detail = describe(
                ctx, row, name, float(values[COL[name]]), contribution, int(block.best_positive[i])
            )
            reasons.append(Reason(name, contribution, detail))
    reasons.sort(key=lambda r: -abs(r.contribution))
    return float(sum(r.contribution for r in reasons)), reasons


def hidden_rule_for_cap(kind: str, name: str, share: float) -> str:
    """The rule text for an item a diversity cap pushed out."""
    return f"cap: {kind} {normalise_source(name) if kind == 'source' else name} over {share:.0%}"
