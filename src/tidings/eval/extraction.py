"""Extraction quality on a gold set, scored as the Zyte article-extraction-benchmark scores it.

Formula (``evaluate.py`` of scrapinghub/article-extraction-benchmark, reimplemented; the tokens and shingles
are ``tidings.extract.shingles``, which extraction also compares bodies with):

- tokens = ``re.findall(r"\\w+", text)`` (Unicode, case kept: no lower-casing);
- shingles = every run of 4 consecutive tokens (a text of fewer than 4 tokens gives one shorter shingle,
  an empty text none), counted as a multiset;
- per page, over every shingle s: TP += min(true[s], pred[s]), FP += max(0, pred[s] - true[s]),
  FN += max(0, true[s] - pred[s]); then TP, FP and FN are divided by TP + FP + FN so that long pages
  weigh no more than short ones;
- page precision = TP / (TP + FP) and recall = TP / (TP + FN), both 1.0 when FP = FN = 0; pages with no
  predicted shingles are left out of the precision mean, pages with no true shingles out of the recall mean;
- precision and recall are the means over pages, and F1 = 2PR / (P + R) of those two means.

Two layouts are read: Zyte (``ground-truth.json`` {id: {"articleBody": ...}} + ``html/<id>.html[.gz]``) and
Readability (``<case>/source.html`` + ``expected.html`` + optional ``expected-metadata.json``).
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura

from tidings.extract import extract_html
from tidings.extract.blocks import BLOCK_TAGS as EXTRACTION_BLOCK_TAGS
from tidings.extract.chooser import load_model
from tidings.extract.shingles import count_shingles, normalise_title
from tidings.models import ExtractedArticle

Extractor = Callable[[bytes, str | None], str]
# Extraction's own block tags, plus the table cells and navigation that the gold files separate too.
BLOCK_TAGS = EXTRACTION_BLOCK_TAGS | {"nav", "tbody", "td", "tfoot", "th", "thead", "tr"}


@dataclass(frozen=True)
class PageScore:
    """Normalised TP/FP/FN of one page."""

    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class GoldPage:
    """One page of a gold set: its raw HTML and the expected body text."""

    page_id: str
    html: bytes
    expected_text: str
    metadata: dict[str, Any]


def score_page(expected: str, predicted: str) -> PageScore:
    """Score one page: shingle-multiset TP/FP/FN normalised to sum to one."""
    truth, pred = count_shingles(expected), count_shingles(predicted)
    tp = fp = fn = 0
    for key in truth.keys() | pred.keys():
        t, p = truth.get(key, 0), pred.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    if total == 0:
        return PageScore(0.0, 0.0, 0.0)
    return PageScore(tp / total, fp / total, fn / total)


def _page_precision(s: PageScore) -> float:
    if s.fp == s.fn == 0:
        return 1.0
    return s.tp / (s.tp + s.fp) if s.tp + s.fp else 0.0


def _page_recall(s: PageScore) -> float:
    if s.fp == s.fn == 0:
        return 1.0
    return s.tp / (s.tp + s.fn) if s.tp + s.fn else 0.0


def summarise_scores(scores: list[PageScore]) -> dict[str, float]:
    """Mean precision, mean recall and F1 of the two means."""
    precisions = [_page_precision(s) for s in scores if s.tp + s.fp > 0]
    recalls = [_page_recall(s) for s in scores if s.tp + s.fn > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def html_to_text(html: str | bytes) -> str:
    """Text of an HTML fragment with block elements kept apart (used for expected.html)."""
    if not html or not str(html).strip():
        return ""
    root = lxml.html.fromstring(html)
    parts: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in ("script", "style"):
            parts.append(el.tail or "")
            return
        block = tag in BLOCK_TAGS
        if block:
            parts.append("\n")
        parts.append(el.text or "")
        for child in el:
            walk(child)
        if block:
            parts.append("\n")
        parts.append(el.tail or "")

    walk(root)
    return re.sub(r"\n\s*\n+", "\n\n", "".join(parts)).strip()


def _read_maybe_gz(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def iter_zyte_pages(directory: Path) -> Iterator[GoldPage]:
    """Pages of a Zyte-layout gold set."""
    truth = json.loads((directory / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id, item in sorted(truth.items()):
        candidates = [directory / "html" / f"{page_id}.html.gz", directory / "html" / f"{page_id}.html"]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            continue
        yield GoldPage(page_id, _read_maybe_gz(path), item.get("articleBody") or "", item)


def iter_readability_pages(directory: Path) -> Iterator[GoldPage]:
    """Pages of a Readability-layout gold set (one folder per case)."""
    for case in sorted(p for p in directory.iterdir() if (p / "source.html").exists()):
        expected_path = case / "expected.html"
        if not expected_path.exists():
            continue
        meta_path = case / "expected-metadata.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        expected = html_to_text(expected_path.read_text(encoding="utf-8", errors="replace"))
        yield GoldPage(case.name, (case / "source.html").read_bytes(), expected, meta)


def iter_gold_pages(directory: Path) -> Iterator[GoldPage]:
    """Pages of either layout, detected from the folder's contents."""
    if (directory / "ground-truth.json").exists():
        return iter_zyte_pages(directory)
    return iter_readability_pages(directory)


def extract_body_text(html: bytes, url: str | None = None) -> str:
    """The default extractor under evaluation: `extract_html`, exactly as ingest runs it."""
    return extract_html(html, url).text


def trafilatura_text(html: bytes, url: str | None = None) -> str:
    """The baseline: plain `trafilatura.extract` with its defaults (no URL, as benchmarks run it)."""
    return trafilatura.extract(html) or ""


def _page_url(page: GoldPage) -> str | None:
    url = page.metadata.get("url")
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def evaluate_extraction(
    directory: Path, extractor: Extractor | None = None, baseline: bool = False
) -> dict[str, Any]:
    """Score an extractor (default: extract_html) on a gold set; with baseline, trafilatura beside it."""
    run = extractor or extract_body_text
    pages = list(iter_gold_pages(Path(directory)))
    scores = [score_page(page.expected_text, run(page.html, _page_url(page))) for page in pages]
    result: dict[str, Any] = {"pages": len(scores), **summarise_scores(scores)}
    if baseline:
        base = [score_page(page.expected_text, trafilatura_text(page.html)) for page in pages]
        result.update({f"trafilatura_{key}": value for key, value in summarise_scores(base).items()})
    return result


def chooser_cross_validation() -> dict[str, Any]:
    """The cross-validated dev figures stored with the chooser model (empty without a model)."""
    model = load_model()
    return dict(model.get("cv", {})) if model else {}


def _published_day(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        match = re.search(r"\d{4}-\d{2}-\d{2}", value)
        return match.group(0) if match else None


def _is_byline_match(expected: str, got: str | None) -> bool:
    want, have = normalise_title(expected), normalise_title(got)
    if not have:
        return False
    return want == have or want in have or have in want


def _score_metadata_page(meta: dict[str, Any], article: ExtractedArticle) -> dict[str, bool]:
    result: dict[str, bool] = {}
    if meta.get("title"):
        result["title"] = normalise_title(meta["title"]) == normalise_title(article.title)
    day = _published_day(meta.get("publishedTime"))
    if day:
        got = article.published_at.date().isoformat() if article.published_at else None
        result["published"] = got == day
    if meta.get("byline"):
        result["byline"] = _is_byline_match(meta["byline"], article.byline)
    return result


def evaluate_metadata(directory: Path) -> dict[str, Any]:
    """Share of Readability-layout pages whose title, published day and byline are right (where expected)."""
    hits: dict[str, list[bool]] = {"title": [], "published": [], "byline": []}
    pages = 0
    for page in iter_readability_pages(Path(directory)):
        pages += 1
        article = extract_html(page.html)
        for field, ok in _score_metadata_page(page.metadata, article).items():
            hits[field].append(ok)
    result: dict[str, Any] = {"pages": pages}
    for field, values in hits.items():
        result[field] = sum(values) / len(values) if values else None
        result[f"{field}_pages"] = len(values)
    return result
