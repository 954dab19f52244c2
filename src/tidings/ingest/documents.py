"""Read local files into raw items: detects HTML pages, plain text, feeds, OPML, JSONL and MIND news.tsv."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dateutil import parser as dateparser

from tidings.ingest.encoding import decode_text, is_binary, is_empty
from tidings.ingest.feeds import parse_feed
from tidings.ingest.opml import OpmlError, parse_opml_checked
from tidings.models import ArticleMetadata

SKIPPED_NAMES = {"readme", "sources", "license", "licence", "changelog", "notice", "copying"}
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
MAX_FILE_BYTES = 50 * 1024 * 1024


class DocumentError(Exception):
    """A source that cannot be read; the message is one line and names the problem."""


@dataclass
class RawItem(ArticleMetadata):
    """One article-to-be, before extraction: what a file, feed entry or JSONL line gave us."""

    origin: str  # where it came from, for error messages
    url: str | None = None
    html: str | None = None  # a full page or a content fragment
    text: str | None = None  # plain text
    is_fragment: bool = False  # html is a feed entry's content, not a whole page
    is_teaser: bool = False
    source_name: str | None = None
    source_id: int | None = None
    section: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Document:
    """One input after kind detection: a list of items, feeds to subscribe, and non-fatal warnings."""

    origin: str
    kind: str  # html | text | feed | opml | jsonl | mind
    items: list[RawItem] = field(default_factory=list)
    feeds: list[Any] = field(default_factory=list)  # OpmlFeed entries to subscribe
    warnings: list[str] = field(default_factory=list)
    feed_title: str | None = None
    site_url: str | None = None  # a feed's website (its <link>)
    ttl_seconds: int | None = None  # a feed's own refresh hint (<ttl>, sy:updatePeriod/Frequency)
    image_url: str | None = None  # a feed's own image


def iter_files(path: Path) -> Iterator[Path]:
    """Files under path (recursive, sorted), skipping hidden files and README/SOURCES/LICENSE notes."""
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        if not child.is_file() or any(part.startswith(".") for part in child.relative_to(path).parts):
            continue
        if child.stem.lower() in SKIPPED_NAMES:
            continue
        yield child


def parse_date(value: Any) -> datetime | None:
    """A timezone-aware datetime from an ISO string, epoch number or struct_time; None when unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, int | float):
            parsed = datetime.fromtimestamp(float(value), UTC)
        elif hasattr(value, "tm_year"):
            parsed = datetime(
                value.tm_year,
                value.tm_mon,
                value.tm_mday,
                value.tm_hour,
                value.tm_min,
                value.tm_sec,
                tzinfo=UTC,
            )
        else:
            parsed = dateparser.parse(str(value))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    # OSError: an epoch beyond the platform's time_t; OverflowError also from converting year 1 or 9999
    # with an offset to UTC. Either way the row keeps everything but its date.
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def sniff_kind(path: Path, head: bytes) -> str:
    """Guess what a file holds from its name and first bytes."""
    name = path.name.lower()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if name == "news.tsv":
        return "mind"
    if name.endswith(".jsonl") or name.endswith(".ndjson"):
        return "jsonl"
    if name.endswith(".opml") or b"<opml" in stripped[:500]:
        return "opml"
    if stripped.startswith(b"{") and b"jsonfeed.org" in stripped[:2000]:
        return "feed"
    if name.endswith(".json"):
        return "feed"  # JSON that is not a JSON Feed is reported by the feed reader, not stored as text
    if stripped.startswith((b"<!doctype html", b"<html")) or name.endswith((".html", ".htm")):
        return "html"
    if path.suffix.lower() in FEED_SUFFIXES or stripped.startswith(b"<?xml"):
        return "feed"
    if any(tag in stripped[:1000] for tag in (b"<rss", b"<feed", b"<rdf:rdf")):
        return "feed"
    if b"<body" in stripped[:5000] or b"<head" in stripped[:5000]:
        return "html"
    return "text"


def read_document(path: Path) -> Document:
    """Read one local file into a Document; raises DocumentError with a one-line reason."""
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentError(
                f"file is {size // (1024 * 1024)} MB, over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if is_empty(data):
        raise DocumentError("empty file, not an article")
    if is_binary(data):
        raise DocumentError("binary file, not an article")
    kind = sniff_kind(path, data[:8192])
    if kind == "jsonl":
        return read_jsonl(data, origin)
    if kind == "mind":
        return read_mind_news(data, origin)
    if kind == "opml":
        return read_opml(data, origin)
    if kind == "feed":
        return read_feed(data, origin, None)
    if kind == "html":
        return Document(origin, "html", [RawItem(origin=origin, html=decode_text(data), url=None)])
    return Document(origin, "text", [RawItem(origin=origin, text=decode_text(data, markup=False))])


def read_feed(data: bytes, origin: str, url: str | None, source_id: int | None = None) -> Document:
    """Parse a feed document into items (one per entry), keeping feedparser's recoverable entries."""
    parsed = parse_feed(data, url)
    doc = Document(origin, "feed", warnings=list(parsed.warnings), feed_title=parsed.title)
    doc.site_url, doc.ttl_seconds, doc.image_url = parsed.site_url, parsed.ttl_seconds, parsed.image_url
    for entry in parsed.entries:
        content = entry.content_html or entry.summary_html or ""
        doc.items.append(
            RawItem(
                origin=origin,
                title=entry.title,
                url=entry.url,
                html=content,
                is_fragment=True,
                published_at=entry.published_at,
                byline=entry.byline,
                source_name=parsed.title,
                source_id=source_id,
                tags=list(entry.tags),
                meta={
                    k: v
                    for k, v in {
                        "guid": entry.guid,
                        "lead_image": entry.image_url,
                        "lead_image_alt": entry.image_alt,
                    }.items()
                    if v
                },
            )
        )
    return doc


def read_opml(data: bytes, origin: str) -> Document:
    """Parse an OPML subscription list; its feeds are subscribed, not ingested as articles."""
    try:
        feeds, refused = parse_opml_checked(data)
    except OpmlError as exc:
        raise DocumentError(str(exc)) from exc
    return Document(origin, "opml", feeds=feeds, warnings=refused)


JSONL_KNOWN = {
    "url",
    "title",
    "text",
    "html",
    "published_at",
    "published",
    "byline",
    "author",
    "source",
    "language",
    "section",
    "tags",
    "categories",
}


def read_jsonl(data: bytes, origin: str) -> Document:
    """JSONL articles as the contract defines them; bad lines become warnings, not failures."""
    doc = Document(origin, "jsonl")
    for number, line in enumerate(decode_text(data, markup=False).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            doc.items.append(jsonl_item(record, f"{origin}:{number}"))
        except (ValueError, TypeError, DocumentError) as exc:
            doc.warnings.append(f"line {number}: {exc}")
        except RecursionError:
            doc.warnings.append(f"line {number}: JSON nested too deeply")
    return doc


def jsonl_item(record: Any, origin: str) -> RawItem:
    """One JSONL record as a RawItem; url and title are required, plus text or html."""
    if not isinstance(record, dict):
        raise DocumentError("not a JSON object")
    url, title = record.get("url"), record.get("title")
    if not isinstance(url, str) or not url or not isinstance(title, str) or not title.strip():
        raise DocumentError("url and title are required")
    text, html = record.get("text"), record.get("html")
    if not isinstance(text, str) and not isinstance(html, str):
        raise DocumentError("text or html is required")
    tags = record.get("tags") or record.get("categories") or []
    return RawItem(
        origin=origin,
        url=url,
        title=title.strip(),
        text=text if isinstance(text, str) else None,
        html=html if isinstance(html, str) and not isinstance(text, str) else None,
        published_at=parse_date(record.get("published_at") or record.get("published")),
        byline=_str_or_none(record.get("byline") or record.get("author")),
        source_name=_str_or_none(record.get("source")),
        language=_str_or_none(record.get("language")),
        section=_str_or_none(record.get("section")),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
        meta={k: v for k, v in record.items() if k not in JSONL_KNOWN},
    )


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def read_mind_news(data: bytes, origin: str) -> Document:
    """MIND news.tsv rows (id, category, subcategory, title, abstract, url, ...) as articles."""
    doc = Document(origin, "mind")
    for number, line in enumerate(decode_text(data, markup=False).split("\n"), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 6 or not cols[3].strip():
            doc.warnings.append(f"line {number}: expected at least 6 tab-separated columns")
            continue
        news_id, category, subcategory, title, abstract, url = cols[:6]
        doc.items.append(
            RawItem(
                origin=f"{origin}:{number}",
                url=url.strip() or f"mind:{news_id}",
                title=title.strip(),
                text=abstract.strip(),
                section=category or None,
                tags=[t for t in (category, subcategory) if t],
                meta={"mind_id": news_id},
            )
        )
    return doc
