"""extract_html: one web page in, a clean article (or a clear "not an article") out; never raises."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import tidings.extract.body as body
from tidings.extract.blocks import Block, normalise_space, render_html, render_text
from tidings.extract.chooser import choose_body
from tidings.extract.cleanup import clean_blocks, count_words, drop_title_heading
from tidings.extract.metadata import PageMetadata, read_metadata
from tidings.extract.sanitize import sanitize_html
from tidings.ingest.encoding import decode_text, is_binary
from tidings.ingest.urls import join_url
from tidings.models import ExtractedArticle, RelatedLink

LOGGER = logging.getLogger(__name__)
MIN_ARTICLE_WORDS = 60  # less body text than this is no article
MAX_CAPTIONS = 20
BINARY_SNIFF_CHARS = 8192  # as much text as the byte sniff reads
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
MIN_BRIEF_WORDS = 25  # even a news brief has a few sentences
LISTING_LINK_SHARE = 0.5  # pages whose text is mostly links are listings
LISTING_PATH_RE = re.compile(r"^/?(search|tag|tags|category|categories|topics?|section|page/\d+)?/?$", re.I)


def _empty(url: str | None, status: str, note: str) -> ExtractedArticle:
    return ExtractedArticle(title="", text="", url=url, status=status, notes=[note])


def is_listing_url(url: str | None) -> bool:
    """Whether a URL looks like a home, search, tag or section page rather than an article."""
    if not url:
        return False
    parsed = urlparse(url)
    return bool(LISTING_PATH_RE.match(parsed.path or "/")) or "search" in parsed.path.lower().split("/")[:2]


def count_text_units(text: str) -> int:
    """Words, with every two CJK characters counted as one (those scripts put no spaces between words)."""
    return max(count_words(text), len(CJK_RE.findall(text)) // 2)


def judge_status(blocks: list[Block], tree: Any, url: str | None) -> tuple[str, str | None]:
    """ok, or not_article / empty with the reason."""
    words = sum(count_text_units(b.text) for b in blocks)
    if words == 0:
        return "empty", "no body text found"
    if words < MIN_BRIEF_WORDS:
        return "not_article", "too little body text"
    paragraphs = sum(1 for b in blocks if b.kind == "p" and count_text_units(b.text) >= 15)
    if paragraphs >= 3 and not is_listing_url(url):
        return "ok", None
    _, link_share = body.count_links_share(tree)
    if words < MIN_ARTICLE_WORDS and (link_share > LISTING_LINK_SHARE or is_listing_url(url)):
        return "not_article", "short body on a page made mostly of links"
    if is_listing_url(url) and paragraphs < 3:
        return "not_article", "home, search or listing page"
    if link_share > 0.7 and paragraphs < 2:
        return "not_article", "page made mostly of links"
    return "ok", None


def find_page_captions(tree: Any) -> list[str]:
    """Figure captions of the article area (<article> or <main> when the page has one)."""
    area = next(iter(tree.iter("article", "main")), tree)
    found: list[str] = []
    for caption in area.iter("figcaption"):
        text = normalise_space(caption.text_content())
        if text and text not in found:
            found.append(text)
    return found[:MAX_CAPTIONS]


def _absolute_links(links: list[RelatedLink], base: str | None) -> list[RelatedLink]:
    if not base:
        return links
    return [RelatedLink(link.title, join_url(base, link.url) if link.url else None) for link in links]


def _standfirst(found: list[str], meta: PageMetadata, text: str) -> str | None:
    if found:
        return "\n".join(found)
    description = meta.description
    if description and count_words(description) >= 5 and description[:60] not in text:
        return description
    return None


def _assemble(
    meta: PageMetadata, blocks: list[Block], url: str | None, tree: Any, captions: list[str]
) -> ExtractedArticle:
    cleaned = clean_blocks(blocks, meta.title)
    kept = drop_title_heading(cleaned.blocks, meta.title)
    text = render_text(kept)
    status, note = judge_status(kept, tree, url)
    base = meta.canonical_url or url
    return ExtractedArticle(
        title=meta.title or "",
        text=text,
        html=sanitize_html(render_html(kept), base_url=base),
        url=url,
        canonical_url=meta.canonical_url,
        standfirst=_standfirst(cleaned.standfirst, meta, text),
        byline=meta.byline,
        published_at=meta.published_at,
        source=meta.site_name,
        language=meta.language,
        captions=captions + [c for c in cleaned.captions if c not in captions],
        related_links=_absolute_links(cleaned.related, base),
        tags=meta.tags,
        lead_image=meta.lead_image,
        status=status,
        notes=[
            n for n in [note, f"dropped {cleaned.dropped} promo blocks" if cleaned.dropped else None] if n
        ],
    )


@dataclass
class Page:
    """A parsed page ready for body extraction: its tree (hidden parts removed), metadata and captions."""

    tree: Any
    meta: PageMetadata
    captions: list[str]
    url: str | None
    chars: int  # length of the (bounded) page text


def read_page(html: str | bytes, url: str | None) -> Page | ExtractedArticle:
    """Decode and parse a page; an empty or not-an-article result when there is nothing to read."""
    if not html:
        return _empty(url, "empty", "empty input")
    # Text was decoded upstream (the fetcher, a feed, a file); its UTF-8 bytes are sniffed the same way.
    if is_binary(html if isinstance(html, bytes) else html[:BINARY_SNIFF_CHARS].encode("utf-8", "replace")):
        return _empty(url, "not_article", "binary content")
    text = decode_text(html) if isinstance(html, bytes) else html
    if not text.strip():
        return _empty(url, "empty", "blank page")
    text = body.bound_html(text)
    tree = body.parse_tree(text)
    if tree is None:
        return _empty(url, "empty", "unparseable page")
    meta = read_metadata(tree, url)
    captions = find_page_captions(tree)
    body.drop_hidden(tree)
    return Page(tree, meta, captions, url, len(text))


def assemble(page: Page, blocks: list[Block]) -> ExtractedArticle:
    """The article made of one candidate body of a page, cleaned up."""
    return _assemble(page.meta, blocks, page.url, page.tree, page.captions)


def _extract(html: str | bytes, url: str | None) -> ExtractedArticle:
    page = read_page(html, url)
    if isinstance(page, ExtractedArticle):
        return page
    candidates = body.candidate_bodies(page.tree, url, page.chars)
    return assemble(page, candidates[choose_body(candidates)])


def extract_html(html: str | bytes, url: str | None = None) -> ExtractedArticle:
    """Extract the article from a web page; never raises (failures give status "empty")."""
    try:
        return _extract(html, url)
    except Exception as exc:  # a page must never take ingestion down
        LOGGER.warning("extraction failed for %s: %r", url, exc)
        return _empty(url, "empty", f"extraction failed: {type(exc).__name__}")
