"""Choose one candidate body per page with a small learned model (gradient-boosted trees, stored as JSON).

The model is trained by `bench/extraction_chooser.py` on the development sets only, with k-fold
cross-validation; it predicts each candidate's page F1 from the features below, and the best candidate wins.
Without a model file the hand rule (`body.rule_choice`) decides.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from tidings.extract.blocks import Block, render_text
from tidings.extract.body import rule_choice, shingle_containment
from tidings.extract.shingles import count_shingles, tokenize

MODEL_PATH = Path(__file__).with_name("chooser_model.json")
CANDIDATES = ("trafilatura_recall", "trafilatura_full", "readability")
SHORT_BLOCK_WORDS = 6
FEATURES = (
    *(f"is_{name}" for name in CANDIDATES),
    "log_words",
    "words_to_max",
    "words_to_median",
    "in_others",
    "others_in",
    "in_full",
    "full_in",
    "in_readability",
    "readability_in",
    "link_share",
    "log_blocks",
    "p_share",
    "heading_share",
    "li_share",
    "short_share",
    "log_block_words",
    "rule_pick",
)

Shingles = Counter[tuple[str, ...]]


def _shape(blocks: list[Block], words: int) -> list[float]:
    n = len(blocks) or 1
    linked = sum(len(tokenize(anchor)) for b in blocks for anchor, _ in b.links)
    return [
        linked / words if words else 0.0,
        math.log1p(len(blocks)),
        sum(b.kind == "p" for b in blocks) / n,
        sum(b.is_heading for b in blocks) / n,
        sum(b.kind == "li" for b in blocks) / n,
        sum(len(tokenize(b.text)) < SHORT_BLOCK_WORDS for b in blocks) / n,
        math.log1p(words / n),
    ]


def _overlaps(name: str, shingles: dict[str, Shingles]) -> list[float]:
    mine = shingles[name]
    others = [n for n in CANDIDATES if n != name]
    return [
        statistics.mean(shingle_containment(mine, shingles[o]) for o in others),
        statistics.mean(shingle_containment(shingles[o], mine) for o in others),
        shingle_containment(mine, shingles["trafilatura_full"]),
        shingle_containment(shingles["trafilatura_full"], mine),
        shingle_containment(mine, shingles["readability"]),
        shingle_containment(shingles["readability"], mine),
    ]


def page_features(candidates: dict[str, list[Block]]) -> dict[str, list[float]]:
    """One feature row per candidate body (in FEATURES order)."""
    texts = {name: render_text(candidates.get(name, [])) for name in CANDIDATES}
    words = {name: len(tokenize(text)) for name, text in texts.items()}
    shingles = {name: count_shingles(text) for name, text in texts.items()}
    most, median = max(words.values()) or 1, statistics.median(words.values()) + 1
    picked = rule_choice(candidates.get("trafilatura_recall", []), candidates.get("readability", []))
    rows = {}
    for name in CANDIDATES:
        rows[name] = [
            *(float(name == other) for other in CANDIDATES),
            math.log1p(words[name]),
            words[name] / most,
            words[name] / median,
            *_overlaps(name, shingles),
            *_shape(candidates.get(name, []), words[name]),
            float(name == picked),
        ]
    return rows


def _tree_value(tree: dict[str, list[Any]], row: list[float]) -> float:
    node = 0
    while tree["left"][node] != -1:
        branch = "left" if row[tree["feature"][node]] <= tree["threshold"][node] else "right"
        node = tree[branch][node]
    return float(tree["value"][node])


def predict(model: dict[str, Any], row: list[float]) -> float:
    """The model's predicted page F1 of one candidate."""
    return float(model["init"]) + model["learning_rate"] * sum(_tree_value(t, row) for t in model["trees"])


@cache
def load_model(path: Path = MODEL_PATH) -> dict[str, Any] | None:
    """The committed chooser model (None when the file is absent or made for other features)."""
    if not path.exists():
        return None
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return model if tuple(model.get("features", ())) == FEATURES else None


def choose_body(candidates: dict[str, list[Block]], model: dict[str, Any] | None = None) -> str:
    """Name of the candidate body to keep: the model's best, or the hand rule's pick without a model."""
    model = model if model is not None else load_model()
    non_empty = [name for name in CANDIDATES if candidates.get(name)]
    if not non_empty:
        return CANDIDATES[0]
    if model is None:
        return rule_choice(candidates.get("trafilatura_recall", []), candidates.get("readability", []))
    rows = page_features(candidates)
    return max(non_empty, key=lambda name: predict(model, rows[name]))
