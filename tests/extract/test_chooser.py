"""The learned body chooser: its features, its committed model and the eval command that reports it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.conftest import TEST_DATA
from tidings.cli.main import app
from tidings.extract.blocks import Block
from tidings.extract.chooser import CANDIDATES, FEATURES, choose_body, load_model, page_features, predict

LONG = "The council agreed on Tuesday to reopen the library after a year of repairs to its roof. " * 6
SHORT = "Subscribe to our newsletter."


def _stump(feature: str, low: float, high: float) -> dict[str, Any]:
    """A one-split model: candidates at or below 0.5 on the feature get low, the rest high."""
    tree: dict[str, list[Any]] = {"left": [1, -1, -1], "right": [2, -1, -1]}
    tree["feature"] = [FEATURES.index(feature), -2, -2]
    tree |= {"threshold": [0.5, -2.0, -2.0], "value": [0.0, low, high]}
    return {"features": list(FEATURES), "init": 0.0, "learning_rate": 1.0, "trees": [tree]}


def _candidates() -> dict[str, list[Block]]:
    return {
        "trafilatura_recall": [Block("p", LONG), Block("p", SHORT)],
        "trafilatura_full": [Block("p", LONG)],
        "readability": [],
    }


def test_features_have_one_row_per_candidate() -> None:
    rows = page_features(_candidates())
    assert set(rows) == set(CANDIDATES)
    assert all(len(row) == len(FEATURES) for row in rows.values())
    full = dict(zip(FEATURES, rows["trafilatura_full"], strict=True))
    assert full["is_trafilatura_full"] == 1.0 and full["is_readability"] == 0.0
    assert full["in_full"] == 1.0 and full["readability_in"] == 0.0
    recall = dict(zip(FEATURES, rows["trafilatura_recall"], strict=True))
    assert recall["words_to_max"] == 1.0 and recall["full_in"] == 1.0 and recall["in_full"] < 1.0


def test_the_model_decides_and_empty_candidates_never_win() -> None:
    assert choose_body(_candidates(), _stump("is_trafilatura_full", 0.0, 1.0)) == "trafilatura_full"
    assert choose_body(_candidates(), _stump("is_readability", 0.0, 1.0)) != "readability"
    assert predict(_stump("is_readability", 0.2, 0.7), page_features(_candidates())["readability"]) == 0.7


def test_committed_model_matches_the_features() -> None:
    model = load_model()
    assert model is not None, "src/tidings/extract/chooser_model.json is missing or stale"
    assert model["trees"] and model["cv"]["sets"]["extraction-wcxb-dev"]["pages"] == 791


def test_eval_extraction_reports_trafilatura_and_dev_cross_validation() -> None:
    result = CliRunner().invoke(app, ["eval", "extraction", str(TEST_DATA / "extraction-gold"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pages"] >= 5 and 0.0 <= data["trafilatura_f1"] <= 1.0
    assert data["dev_cross_validation"]["sets"]["extraction-dev"]["pages"] == 130


def test_eval_extraction_text_output_shows_the_spread(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "extraction", str(TEST_DATA / "extraction-gold")])
    assert result.exit_code == 0, result.output
    assert "trafilatura_f1" in result.stdout and "dev CV extraction-wcxb-dev (791 pages" in result.stdout
