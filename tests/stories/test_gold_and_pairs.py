"""Model-backed checks: pairs on our fixture and on demo-corpus dev pairs, and the gold same-day set."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.conftest import TEST_DATA, shared_path
from tidings.config import Settings
from tidings.eval.bcubed import bcubed
from tidings.eval.pairs import TextItem, build_signatures, evaluate_pairs, score_pairs, summarise
from tidings.eval.story_gold import cluster_in_order, evaluate_gold, load_gold_entries, mixed_stories

OWN_PAIRS = TEST_DATA / "stories" / "pairs-own-words.jsonl"
# Wider labelled events (ids only), split into a dev half the pair weights were fitted on and a held-out half.
DEMO_EVENTS = TEST_DATA / "stories" / "demo-corpus-events.json"
# Dev labels (ids only): two same-event follow-up threads plus same-country distractors.
DEV_GROUPS = {
    "romanian-journalists": [
        "wikinews-8875",
        "wikinews-8945",
        "wikinews-9106",
        "wikinews-9433",
        "wikinews-10446",
        "wikinews-10511",
    ],
    "yerevan-bar-arson": ["gv-319583", "gv-319916", "gv-320485", "gv-320923", "gv-321851", "gv-322443"],
}
DEV_DISTRACTORS = [
    "wikinews-7622", "wikinews-7623", "wikinews-7928", "wikinews-8816", "wikinews-9110", "wikinews-9366",
    "wikinews-9783", "wikinews-10186", "wikinews-10169", "gv-317021", "gv-318351", "gv-319217", "gv-320964",
    "gv-323482", "gv-316447", "gv-317579", "gv-317709", "gv-321945",
]  # fmt: skip


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


def _dev_items(
    groups: dict[str, list[str]] = DEV_GROUPS, distractors: list[str] = DEV_DISTRACTORS
) -> tuple[list[TextItem], list[str]]:
    wanted = {i: g for g, ids in groups.items() for i in ids} | {i: i for i in distractors}
    items, labels = [], []
    for folder in ("wikinews-2005-04-05", "globalvoices-2012-05"):
        path = shared_path("data", "demo-corpus", folder, "articles.jsonl")
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["id"] in wanted:
                items.append(TextItem(row["title"], row["text"]))  # no dates, like the held-out pairs
                labels.append(wanted[row["id"]])
    return items, labels


@pytest.mark.slow
def test_own_words_pairs(settings: Settings) -> None:
    result = evaluate_pairs(OWN_PAIRS, settings)
    assert result["pairs"] == 12
    assert result["f1"] >= 0.90 and result["auc"] >= 0.98


def test_empty_pairs_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert evaluate_pairs(empty, Settings())["pairs"] == 0


@pytest.mark.slow
@pytest.mark.shared
def test_demo_corpus_dev_pairs(settings: Settings) -> None:
    items, labels = _dev_items()
    assert len(items) == 30
    rows = [
        (items[i], items[j], labels[i] == labels[j]) for i, j in itertools.combinations(range(len(items)), 2)
    ]
    scores, decisions = score_pairs(rows, settings)
    result = summarise([r[2] for r in rows], scores, decisions)
    # Was 0.806 / 0.973 before the pair calibration; the four EU-accession distractors here are one story
    # among themselves, which caps precision on this set.
    assert result["f1"] >= 0.80 and result["auc"] >= 0.98


def _all_pairs(items: list[TextItem], labels: list[str]) -> list[tuple[TextItem, TextItem, bool]]:
    pairs = itertools.combinations(range(len(items)), 2)
    return [(items[i], items[j], labels[i] == labels[j]) for i, j in pairs]


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_demo_corpus_event_pairs(settings: Settings, split: str) -> None:
    labelled = json.loads(DEMO_EVENTS.read_text(encoding="utf-8"))[split]
    items, labels = _dev_items(labelled["groups"], labelled["distractors"])
    assert len(items) == sum(map(len, labelled["groups"].values())) + len(labelled["distractors"])
    rows = _all_pairs(items, labels)
    scores, decisions = score_pairs(rows, settings)
    result = summarise([r[2] for r in rows], scores, decisions)
    # Measured 0.964 (dev) and 0.962 (held-out); the single-threshold scorer before gave 0.911 and 0.943.
    assert result["f1"] >= 0.93 and result["auc"] >= 0.99


@pytest.mark.slow
@pytest.mark.shared
def test_gold_same_day_bcubed_both_orders(settings: Settings) -> None:
    feeds = shared_path("data", "feeds-2019-2023")
    assert len(load_gold_entries(feeds)) == 120
    forward = evaluate_gold(settings, feeds_dir=feeds)
    assert forward["f1"] >= 0.90 and forward["mixed"] == []
    # Reverse order from the same signatures (saves embedding the set twice).
    entries = load_gold_entries(feeds)
    sigs = build_signatures([e.item for e in entries], settings)
    gold = {s.article_id: e.label for s, e in zip(sigs, entries, strict=True)}
    backward = cluster_in_order(sigs, reverse=True)
    assert abs(forward["f1"] - bcubed(backward, gold)[2]) <= 0.03
    assert mixed_stories(backward, gold) == []
