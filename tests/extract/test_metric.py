"""The Zyte-benchmark scoring and the gold-set readers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tidings.eval.extraction import (
    evaluate_extraction,
    html_to_text,
    score_page,
    summarise_scores,
)
from tidings.extract.shingles import count_shingles


def test_shingles_are_case_sensitive_word_4grams() -> None:
    shingles = count_shingles("One two, three four five")
    assert shingles == {("One", "two", "three", "four"): 1, ("two", "three", "four", "five"): 1}
    assert count_shingles("a b") == {("a", "b"): 1}
    assert count_shingles("") == {}


def test_page_score_is_normalised() -> None:
    score = score_page("a b c d e f", "a b c d e x")
    assert score.tp + score.fp + score.fn == pytest.approx(1.0)
    assert score.tp == pytest.approx(2 / 4)


def test_summary_is_f1_of_mean_precision_and_recall() -> None:
    perfect = score_page("a b c d e", "a b c d e")
    half = score_page("a b c d e f g h", "a b c d e")
    result = summarise_scores([perfect, half])
    assert result["precision"] == pytest.approx(1.0)
    assert result["recall"] == pytest.approx((1 + 0.4) / 2)
    p, r = result["precision"], result["recall"]
    assert result["f1"] == pytest.approx(2 * p * r / (p + r))


def test_expected_html_keeps_blocks_apart() -> None:
    assert html_to_text("<div><p>one</p><p>two</p></div>").split() == ["one", "two"]


def test_zyte_layout_is_read(tmp_path: Path) -> None:
    body = "The harbour wall will be repaired in spring, the council said on Monday evening."
    (tmp_path / "html").mkdir()
    page = (
        f"<html><body><article><p>{body}</p><p>{body.replace('spring', 'summer')}</p></article></body></html>"
    )
    (tmp_path / "html" / "p1.html.gz").write_bytes(gzip.compress(page.encode()))
    (tmp_path / "ground-truth.json").write_text(json.dumps({"p1": {"articleBody": body}}))
    result = evaluate_extraction(tmp_path, extractor=lambda html, url: body)
    assert result == {"pages": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0}
