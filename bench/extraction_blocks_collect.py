"""Cache every dev page's candidate bodies (and extra candidates) for the block-classifier experiments."""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import lxml.etree
import trafilatura
from trafilatura.external import try_justext
from trafilatura.settings import Extractor

from tidings.eval.extraction import iter_gold_pages, score_page
from tidings.extract import body
from tidings.extract.article import read_page
from tidings.models import ExtractedArticle

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV_SETS = {
    "extraction-wcxb-dev": SHARED / "extraction-wcxb-dev",
    "extraction-dev": SHARED / "extraction-dev",
}
VERSION = "b1"
PRECISION = Extractor(
    output_format="html", fast=True, precision=True, comments=False, links=True, tables=True
)


def _justext(tree: Any) -> str:
    try:
        found = try_justext(copy.deepcopy(tree), None, None)
        return lxml.etree.tostring(found, encoding="unicode")
    except Exception:
        return ""


def record_of(html: bytes, url: str | None, expected: str) -> dict[str, Any]:
    """Baseline score, title and every candidate's HTML of one page."""
    baseline = score_page(expected, trafilatura.extract(html) or "")
    record: dict[str, Any] = {"baseline": list(vars(baseline).values()), "html": {}, "title": None}
    page = read_page(html, url)
    if isinstance(page, ExtractedArticle):
        return record
    record["title"] = page.meta.title
    record["html"] = body.candidate_html(page.tree, url, page.chars)
    record["html"]["trafilatura_precision"] = body.run_trafilatura(page.tree, url, PRECISION)
    record["html"]["justext"] = _justext(page.tree)
    return record


def collect(name: str, cache: Path, backwards: bool = False) -> None:
    """Fill the cache for one dev set."""
    pages = list(iter_gold_pages(DEV_SETS[name]))
    for page in reversed(pages) if backwards else pages:
        key = hashlib.sha256(page.html + VERSION.encode()).hexdigest()[:20]
        path = cache / f"{name}-{page.page_id}-{key}.json"
        if path.exists():
            continue
        url = page.metadata.get("url")
        record = record_of(page.html, url if isinstance(url, str) else None, page.expected_text)
        path.write_text(json.dumps(record))


def main() -> None:
    """Collect one set (optionally from its last page) into the cache folder."""
    parser = argparse.ArgumentParser()
    parser.add_argument("set", choices=sorted(DEV_SETS))
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tidings-blocks-cache")
    parser.add_argument("--backwards", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    collect(args.set, args.cache, args.backwards)


if __name__ == "__main__":
    main()
