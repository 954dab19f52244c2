"""Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) to ParsedFeed, recovering what broken XML allows."""

from __future__ import annotations

import bisect
import calendar
import contextlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html
from lxml import etree

from tidings.digits import ascii_int
from tidings.ingest.encoding import fix_declared_encoding, repair_mojibake
from tidings.ingest.urls import join_url
from tidings.models import FeedEntry, ParsedFeed

FEED_CONTENT_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/x-rss+xml",
    }
)
XML_ROOT = re.compile(rb"<(rss|feed|rdf:RDF|RDF)[\s>]", re.IGNORECASE)
HTML_ROOT = re.compile(rb"<(html|!doctype\s+html)[\s>]", re.IGNORECASE)
JSON_FEED_VERSION = "jsonfeed.org/version/"
IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|[?#])", re.IGNORECASE)
SY_PERIOD_SECONDS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}
# Media RSS captions: feedparser files media:description as summary or content, so it became the body.
MRSS_PREFIX_RE = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']https?://search\.yahoo\.com/mrss/?["']""")
CAPTION_NAMES = (b"description", b"credit")
# Errors from feedparser that describe the charset or media type, not the XML structure.
ENCODING_BOZOS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def is_feed(data: bytes, content_type: str | None = None) -> bool:
    """Whether the bytes look like an RSS, Atom or JSON feed (content type first, then sniffing)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if media in FEED_CONTENT_TYPES and media != "application/feed+json":
        return True
    if head.startswith(b"{"):
        return _is_json_feed(data)
    root = XML_ROOT.search(head)
    if root is None:
        return False
    html = HTML_ROOT.search(head)
    return html is None or html.start() > root.start()


def parse_feed(data: bytes, url: str | None = None) -> ParsedFeed:
    """Parse a feed document; never raises: junk gives an empty feed with one warning line."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return ParsedFeed(title=None, site_url=None, entries=[], warnings=["empty document"])
    if stripped.startswith((b"{", b"[")):
        return parse_json_feed(stripped, url)
    try:
        return _parse_xml_feed(data, url)
    except Exception as exc:  # feedparser has many failure modes on junk; the contract is to never raise
        return ParsedFeed(title=None, site_url=None, entries=[], warnings=[f"unreadable feed: {exc}"])


def _parse_xml_feed(data: bytes, url: str | None) -> ParsedFeed:
    headers = {"content-location": url, "content-type": "application/xml"} if url else None
    document = drop_media_captions(fix_declared_encoding(data))
    parsed = feedparser.parse(document, response_headers=headers, sanitize_html=True)
    meta = parsed.feed
    entries = [entry for raw in parsed.entries if (entry := _entry_from_feedparser(raw)) is not None]
    warnings = _bozo_warnings(parsed, len(entries))
    if not entries and not meta.get("title") and not warnings:
        warnings.append("no feed found in the document")
    return ParsedFeed(
        title=_feed_text(meta, "title") or None,
        site_url=meta.get("link") or None,
        entries=entries,
        warnings=warnings,
        ttl_seconds=_ttl_seconds(meta),
        image_url=_image_url(meta),
    )


def drop_media_captions(data: bytes) -> bytes:
    """Remove Media RSS caption elements (media:description, media:credit): a caption is never the body."""
    prefixes = {b"media", *MRSS_PREFIX_RE.findall(data[:65536])}
    names = b"|".join(re.escape(p) + b":" + n for p in sorted(prefixes) for n in CAPTION_NAMES)
    opens = list(re.finditer(rb"<(" + names + rb")\b[^<>]*?(/?)>", data))
    if not opens:
        return data
    # closing tags are found once and paired by position, so unclosed captions cost no rescans
    closes: dict[bytes, list[re.Match[bytes]]] = {}
    for match in re.finditer(rb"</(" + names + rb")\s*>", data):
        closes.setdefault(match.group(1), []).append(match)
    spans: list[tuple[int, int]] = []
    for match in opens:
        if spans and match.start() < spans[-1][1]:
            continue  # inside a caption already removed
        if match.group(2):
            spans.append((match.start(), match.end()))
            continue
        found = closes.get(match.group(1), [])
        index = bisect.bisect_left([c.start() for c in found], match.end()) if found else 0
        if index < len(found):
            spans.append((match.start(), found[index].end()))
    kept, last = [], 0
    for start, end in spans:
        kept.append(data[last:start])
        last = end
    kept.append(data[last:])
    return b"".join(kept)


def _image_url(meta: Any) -> str | None:
    """The feed's image: RSS <image><url>, else Atom <icon> or <logo>."""
    image = meta.get("image") or {}
    found = image.get("href") or image.get("url") if isinstance(image, dict) else None
    return str(found or meta.get("icon") or meta.get("logo") or "") or None


def _bozo_warnings(parsed: Any, entry_count: int) -> list[str]:
    exc = parsed.get("bozo_exception")
    if not parsed.get("bozo") or exc is None:
        return []
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return [f"wrong charset declared ({exc})"]
    if isinstance(exc, ENCODING_BOZOS):
        return []
    line = exc.getLineNumber() if hasattr(exc, "getLineNumber") else None
    where = f"line {line}: " if line else ""
    reason = getattr(exc, "getMessage", lambda: str(exc))()
    if entry_count == 0 and not parsed.feed.get("title"):
        return [f"not a feed ({where}{reason})"]
    return [f"not well-formed XML ({where}{reason}): recovered {entry_count} entries"]


def _entry_from_feedparser(raw: Any) -> FeedEntry | None:
    title = _feed_text(raw, "title")
    link = raw.get("link") or _first_alternate(raw.get("links"))
    summary = repair_mojibake(raw.get("summary") or "")
    content = _with_summary(_best_content(raw.get("content")), summary)
    if not (title or link or content or summary):
        return None
    authors = [a.get("name") for a in raw.get("authors") or [] if a.get("name")]
    byline = ", ".join(authors) if authors else raw.get("author")
    image_url, image_alt = lead_image(raw, content or summary, link or "")
    return FeedEntry(
        title=title,
        url=link or None,
        summary_html="" if summary == content else summary,
        content_html=content,
        published_at=_struct_to_datetime(raw.get("published_parsed") or raw.get("updated_parsed")),
        byline=repair_mojibake(byline) if byline else None,
        tags=_tags(raw.get("tags")),
        guid=raw.get("id") or None,
        image_url=image_url,
        image_alt=image_alt,
    )


def _is_image(media: dict[str, str]) -> bool:
    kind = (media.get("type") or "").lower()
    medium = (media.get("medium") or "").lower()
    if kind.startswith("image/") or medium == "image":
        return True
    if kind or medium:
        return False
    return bool(IMAGE_PATH.search(media.get("url") or media.get("href") or ""))


def _width(media: dict[str, str]) -> int:
    value = str(media.get("width") or "")
    return ascii_int(value) or 0


def lead_image(raw: Any, html: str, base: str) -> tuple[str | None, str | None]:
    """The entry's lead image and caption: the widest media:content image, else the widest
    media:thumbnail, else an image enclosure, else the first <img> of its HTML (with its figure caption)."""
    caption = _clean_text(raw.get("media_description") or raw.get("media_title") or "") or None
    for group in (raw.get("media_content"), raw.get("media_thumbnail")):
        images = [m for m in group or [] if m.get("url") and _is_image(m)]
        if images:
            return _absolute(base, max(images, key=_width)["url"]), caption
    for enclosure in raw.get("enclosures") or []:
        if enclosure.get("href") and _is_image(enclosure):
            return _absolute(base, enclosure["href"]), caption
    return first_figure(html, base)


def first_figure(html: str, base: str) -> tuple[str | None, str | None]:
    """The first <img> of an HTML fragment and its caption (figcaption, else alt)."""
    if "<img" not in html.lower():
        return None, None
    try:
        tree = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None, None
    for img in tree.iter("img"):
        src = img.get("src") or img.get("data-src")
        if not src or src.startswith("data:"):
            continue
        figure = next((a for a in img.iterancestors("figure")), None)
        caption = figure.findtext(".//figcaption") if figure is not None else None
        text = _clean_text(caption or img.get("alt") or "")
        return _absolute(base, src), text or None
    return None, None


def _first_alternate(links: list[dict[str, str]] | None) -> str | None:
    for link in links or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _best_content(contents: list[dict[str, str]] | None) -> str:
    values = [c.get("value") or "" for c in contents or []]
    return repair_mojibake(max(values, key=len)) if values else ""


def _with_summary(content: str, summary: str) -> str:
    """The content, led by the summary when the content does not already hold the summary's text."""
    if not content or not summary or summary == content:
        return content
    wanted = " ".join(_words(_clean_text(summary)))
    if not wanted or wanted in " ".join(_words(_clean_text(content))):
        return content
    lead = summary if "<" in summary else f"<p>{_escape(summary)}</p>"
    return f"{lead}\n{content}"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _tags(raw_tags: list[dict[str, str]] | None) -> list[str]:
    names = [(t.get("label") or t.get("term") or "").strip() for t in raw_tags or []]
    return list(dict.fromkeys(repair_mojibake(n) for n in names if n))


def _feed_text(element: Any, key: str) -> str:
    """A title-like field decoded once: markup only when feedparser says the value is HTML."""
    value = element.get(key)
    detail = element.get(f"{key}_detail") or {}
    if "html" in str(detail.get("type", "")):
        return _clean_text(value)
    return " ".join(repair_mojibake(value or "").split())


def _clean_text(value: str | None) -> str:
    """Plain, repaired, whitespace-collapsed text (some feeds put markup in titles)."""
    if not value:
        return ""
    text = value
    if "<" in text and ">" in text:
        with contextlib.suppress(etree.ParserError, ValueError):
            text = lxml.html.fromstring(f"<div>{text}</div>").text_content()
    return " ".join(repair_mojibake(text).split())


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _ttl_seconds(meta: Any) -> int | None:
    minutes = ascii_int(str(meta.get("ttl") or "").strip())
    if minutes:
        return minutes * 60  # RSS <ttl> is in minutes
    period = SY_PERIOD_SECONDS.get(str(meta.get("sy_updateperiod") or "").strip().lower())
    frequency = ascii_int(str(meta.get("sy_updatefrequency") or "1").strip())
    if period and frequency:
        return period // frequency
    return None


# --- JSON Feed ----------------------------------------------------------------------------------------------


def _is_json_feed(data: bytes) -> bool:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(doc, dict) and JSON_FEED_VERSION in str(doc.get("version", ""))


def parse_json_feed(data: bytes, url: str | None = None) -> ParsedFeed:
    """Parse a JSON Feed 1.0/1.1 document; junk gives an empty feed with a warning."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParsedFeed(title=None, site_url=None, entries=[], warnings=[f"not valid JSON: {exc}"])
    except RecursionError:  # a hostile document nested tens of thousands of levels deep
        return ParsedFeed(
            title=None, site_url=None, entries=[], warnings=["not valid JSON: nested too deeply"]
        )
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        return ParsedFeed(title=None, site_url=None, entries=[], warnings=["JSON is not a JSON Feed"])
    warnings = [] if JSON_FEED_VERSION in str(doc.get("version", "")) else ["JSON Feed version missing"]
    base = url or ""
    entries = [e for item in doc.get("items", []) if isinstance(item, dict) if (e := _json_item(item, base))]
    return ParsedFeed(
        title=" ".join(_str(doc.get("title")).split()) or None,
        site_url=_absolute(base, doc.get("home_page_url")),
        entries=entries,
        warnings=warnings,
    )


def _json_item(item: dict[str, Any], base: str) -> FeedEntry | None:
    link = _absolute(base, item.get("url") or item.get("external_url"))
    title = " ".join(_str(item.get("title")).split())  # JSON Feed titles are plain text
    content = _str(item.get("content_html"))
    if not content and item.get("content_text"):
        content = f"<p>{_escape(_str(item.get('content_text')))}</p>"
    if not (title or link or content):
        return None
    authors = item.get("authors") if isinstance(item.get("authors"), list) else []
    authors = authors or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    names = [_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")]
    return FeedEntry(
        title=title,
        url=link,
        summary_html=_escape(_str(item.get("summary"))),
        content_html=content,
        published_at=_iso_datetime(item.get("date_published") or item.get("date_modified")),
        byline=", ".join(names) or None,
        tags=[_str(t) for t in _list(item.get("tags")) if isinstance(t, str) and t.strip()],
        guid=_str(item.get("id")) or None,
        image_url=_absolute(base, item.get("image") or item.get("banner_image"))
        or first_figure(content, base)[0],
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _absolute(base: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return join_url(base, value.strip())


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
