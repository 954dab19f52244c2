"""Find a page's main content: trafilatura and a Readability port run side by side, one is chosen."""

from __future__ import annotations

import copy
import logging
import re
from collections import Counter
from typing import Any

import lxml.etree
import trafilatura
from trafilatura.htmlprocessing import build_html_output
from trafilatura.readability_lxml import Document as ReadabilityDocument
from trafilatura.settings import Document, Extractor

from tidings.extract.blocks import Block, blocks_from_html, render_text
from tidings.extract.shingles import count_shingles

MAX_HTML_CHARS = 3_000_000  # bigger pages are cut: articles sit in the first megabytes
ALL_CANDIDATES_MAX_CHARS = 2_000_000  # bigger pages get two candidate bodies, not four (time is bounded)
READABILITY_CONTAINMENT = 0.9  # Readability's body is chosen when it holds this share of trafilatura's
READABILITY_MAX_GROWTH = 6.0  # ... and is not more than this many times longer
HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
STREAMED_SEGMENT_RE = re.compile(r"S:[0-9a-f]+")  # React's ids for streamed segments: S:0, S:1f

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


def bound_html(text: str) -> str:
    """Cut a giant page to a size whose parsing stays cheap."""
    return text[:MAX_HTML_CHARS] if len(text) > MAX_HTML_CHARS else text


def parse_tree(text: str) -> Any | None:
    """Parse a page with trafilatura's lenient loader (None when nothing parses)."""
    try:
        return trafilatura.load_html(text)
    except (lxml.etree.LxmlError, ValueError):
        return None


def is_hidden(el: Any) -> bool:
    """Whether an element is hidden from readers (so not part of the article)."""
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    return bool(style and HIDDEN_STYLE_RE.search(style))


def reveal_streamed_segments(tree: Any) -> None:
    """Unhide the segments a streaming server render sends ahead of their place.

    React's streaming render (Next.js and others) sends a page's late parts as `<div hidden id="S:0">` at the
    end of the body, and an inline script moves each into its placeholder once the browser runs it. Without
    scripts the article itself can sit in such a segment, so it counts as shown, where the reader sees it.
    """
    for el in tree.iter("div"):
        if el.get("hidden") is not None and STREAMED_SEGMENT_RE.fullmatch(el.get("id") or ""):
            del el.attrib["hidden"]


def drop_hidden(tree: Any) -> None:
    """Remove hidden elements in place (Readability does the same); streamed segments are shown first."""
    reveal_streamed_segments(tree)
    for el in [e for e in tree.iter() if isinstance(e.tag, str) and e.tag != "html" and is_hidden(e)]:
        if el.tag == "body":
            continue
        parent = el.getparent()
        if parent is not None:
            el.drop_tree()


TRAFILATURA_OPTIONS = Extractor(
    output_format="html",
    fast=True,  # trafilatura's own fallbacks are skipped: choose_body compares with Readability
    recall=True,
    comments=False,
    links=True,
    tables=True,
)


# Candidate bodies for extract/chooser.py: trafilatura in two modes, and Readability (a precision mode
# was tried and left out: it changed no cross-validated figure and cost a third more time).
TRAFILATURA_MODES = {
    "trafilatura_recall": TRAFILATURA_OPTIONS,
    # trafilatura's default run, with its own Readability and jusText fallbacks
    "trafilatura_full": Extractor(output_format="html", fast=False, comments=False, links=True, tables=True),
}


def candidate_html(tree: Any, url: str | None, page_chars: int = 0) -> dict[str, str]:
    """Every candidate body of a page as HTML ("" when a method finds none or is skipped on a huge page)."""
    found = {name: "" for name in TRAFILATURA_MODES}
    modes = (
        TRAFILATURA_MODES
        if page_chars <= ALL_CANDIDATES_MAX_CHARS
        else {"trafilatura_recall": TRAFILATURA_OPTIONS}
    )
    found.update({name: run_trafilatura(tree, url, options) for name, options in modes.items()})
    found["readability"] = run_readability(tree)
    return found


def candidate_bodies(tree: Any, url: str | None, page_chars: int = 0) -> dict[str, list[Block]]:
    """Every candidate body of a page, as blocks (an empty list when a method finds nothing)."""
    return {name: blocks_from_html(html) for name, html in candidate_html(tree, url, page_chars).items()}


def run_trafilatura(tree: Any, url: str | None, base: Extractor = TRAFILATURA_OPTIONS) -> str:
    """Trafilatura's body as HTML ("" when it finds none); bare_extraction skips the unused fingerprint."""
    options = copy.copy(base)
    options.url = url
    try:
        document = trafilatura.bare_extraction(copy.deepcopy(tree), options=options, as_dict=False)
        if not isinstance(document, Document):
            return ""
        return build_html_output(document, False) or ""
    except (lxml.etree.LxmlError, ValueError, RecursionError):
        return ""


def run_readability(tree: Any) -> str:
    """The Readability port's body as HTML ("" when it fails)."""
    try:
        return ReadabilityDocument(copy.deepcopy(tree)).summary() or ""
    except (lxml.etree.LxmlError, ValueError, RecursionError, AttributeError, TypeError):
        return ""


def containment(inner: str, outer: str) -> float:
    """Share of inner's shingles also found in outer (multiset)."""
    return shingle_containment(count_shingles(inner), count_shingles(outer))


def shingle_containment(a: Counter[tuple[str, ...]], b: Counter[tuple[str, ...]]) -> float:
    """Share of a's shingles also found in b (multiset); 0.0 when a is empty."""
    total = sum(a.values())
    if not total:
        return 0.0
    return sum(min(n, b.get(k, 0)) for k, n in a.items()) / total


def rule_choice(trafilatura_blocks: list[Block], readability_blocks: list[Block]) -> str:
    """The hand rule: Readability's body when it holds nearly all of trafilatura's and is not bloated."""
    tra, rea = render_text(trafilatura_blocks), render_text(readability_blocks)
    if not tra.strip():
        return "readability"
    if not rea.strip():
        return "trafilatura_recall"
    # containment needs Readability to be about as long as trafilatura: a cheap length test comes first
    grows_sanely = READABILITY_CONTAINMENT * 0.9 * len(tra) <= len(rea) <= READABILITY_MAX_GROWTH * len(tra)
    if grows_sanely and containment(tra, rea) >= READABILITY_CONTAINMENT:
        return "readability"
    return "trafilatura_recall"


def count_links_share(tree: Any) -> tuple[int, float]:
    """Number of paragraphs and the share of the body text that sits inside links."""
    body = tree.find(".//body")
    if body is None:
        return 0, 0.0
    total = sum(len(t) for t in body.itertext())
    linked = sum(len(t) for a in body.iter("a") for t in a.itertext())
    paragraphs = Counter(e.tag for e in body.iter("p"))["p"]
    return paragraphs, (linked / total if total else 0.0)
