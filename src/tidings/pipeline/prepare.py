"""Turn raw items into prepared articles: extraction, canonical URL, teaser flag and content hash."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from tidings.extract import extract_html, extract_text
from tidings.extract.blocks import fragment_to_text
from tidings.extract.sanitize import sanitize_html
from tidings.ingest.documents import RawItem
from tidings.ingest.urls import canonicalize_url, host_of, safe_http_url
from tidings.models import ExtractedArticle
from tidings.stories import text_fingerprint

TEASER_MAX_CHARS = 600
LOCAL_SOURCE = "Local files"  # the source of files ingested without a URL
HASH_MIN_TEXT_CHARS = 200
_NON_WORD = re.compile(r"\W+", re.UNICODE)
INTERNAL_ID = re.compile(r"mind:[A-Za-z0-9_-]{1,64}")


@dataclass
class PreparedArticle:
    """An extracted article ready to be enriched and stored."""

    raw: RawItem
    article: ExtractedArticle
    canonical_url: str | None
    content_hash: str
    is_teaser: bool
    source_name: str | None
    notes: list[str] = field(default_factory=list)
    fingerprint: bytes | None = None  # MinHash of the body for near-duplicate detection

    @property
    def sort_time(self) -> datetime | None:
        """The time the article is ordered by: its publication time when known."""
        return self.article.published_at


def normalise_for_hash(text: str) -> str:
    """Lower-case words joined by single spaces: formatting changes do not change the hash."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def content_hash(title: str, text: str) -> str:
    """SHA-256 of the normalised body (or title plus body when the body is too short to identify it)."""
    body = normalise_for_hash(text)
    key = body if len(body) >= HASH_MIN_TEXT_CHARS else normalise_for_hash(title) + "\n" + body
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def prepare_item(raw: RawItem) -> PreparedArticle:
    """Extract one raw item (page, text or feed entry) into a prepared article."""
    raw_url = safe_http_url(raw.url)
    raw.section = clean_text(raw.section) or None if raw.section else None
    if raw.html is not None and not raw.is_fragment:
        article = extract_html(raw.html, raw_url)
    elif raw.html is not None:
        article = ExtractedArticle(
            title=raw.title or "", text=fragment_to_text(raw.html), html=sanitize_html(raw.html, raw_url)
        )
    else:
        article = extract_text(raw.text or "", raw_url)
    keep_http_urls(article)
    clean_strings(article)
    article.title = clean_text(raw.title or article.title or "").strip() or _fallback_title(article.text)
    article.url = raw_url or article.url
    article.published_at = raw.published_at or article.published_at
    article.byline = clean_text(raw.byline or article.byline or "") or None
    article.language = clean_text(raw.language or article.language or "") or None
    tags = [*raw.tags, *([raw.section] if raw.section else []), *article.tags]
    article.tags = list(dict.fromkeys(clean_text(t) for t in tags if clean_text(t)))
    url = trusted_canonical(article.canonical_url, raw_url) or article.url
    canonical = canonicalize_url(url) if url else internal_id(raw.url)
    is_teaser = bool(raw.is_fragment and raw_url and len(article.text) < TEASER_MAX_CHARS)
    source_name = clean_text(raw.source_name or article.source or "") or (
        host_of(raw_url) if raw_url else LOCAL_SOURCE
    )
    return PreparedArticle(
        raw=raw,
        article=article,
        canonical_url=canonical,
        content_hash=content_hash(article.title, article.text),
        is_teaser=is_teaser,
        source_name=source_name,
        fingerprint=text_fingerprint(article.text),
    )


def clean_text(value: str) -> str:
    """A string safe to store: no NUL characters (PostgreSQL refuses them) and no lone surrogates."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def clean_strings(article: ExtractedArticle) -> None:
    """Clean the extracted article's free-text fields in place."""
    article.text = clean_text(article.text)
    article.html = clean_text(article.html)
    article.standfirst = clean_text(article.standfirst) if article.standfirst else article.standfirst
    article.captions = [clean_text(c) for c in article.captions]


def keep_http_urls(article: ExtractedArticle) -> None:
    """Drop every URL that is not http(s) (`javascript:`, `data:`, ...) from an extracted article."""
    article.url = safe_http_url(article.url)
    article.canonical_url = safe_http_url(article.canonical_url)
    article.lead_image = safe_http_url(article.lead_image)
    for link in article.related_links:
        link.url = safe_http_url(link.url)  # the title stays; only an http(s) URL becomes a link


def internal_id(url: str | None) -> str | None:
    """Our own non-URL identity (MIND's `mind:<id>`), kept for de-duplication only; never a link."""
    return url if url and INTERNAL_ID.fullmatch(url) else None


def trusted_canonical(declared: str | None, fetched: str | None) -> str | None:
    """The page's declared canonical URL, kept only on the host it was fetched from.

    A page may not claim another site's URL: that would let it de-duplicate against, or replace, that
    site's article. Local files (no fetched URL) are the operator's own and keep their canonical.
    """
    if not declared or not fetched:
        return declared
    return declared if host_of(declared) == host_of(fetched) else None


def _fallback_title(text: str) -> str:
    first = text.strip().split("\n", 1)[0] if text.strip() else ""
    return (first[:117] + "…") if len(first) > 120 else (first or "(untitled)")
