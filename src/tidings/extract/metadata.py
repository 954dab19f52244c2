"""Page metadata in Readability's order of sources (JSON-LD, meta tags, the page), htmldate for dates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from htmldate import find_date

from tidings.extract.blocks import normalise_space
from tidings.ingest.urls import is_http_url, join_url
from tidings.models import ArticleMetadata

PROPERTY_FIELDS = "author|creator|description|published_time|title|site_name|section|tag|image|url|locale"
PROPERTY_RE = re.compile(rf"\s*(article|dc|dcterm|og|twitter)\s*:\s*({PROPERTY_FIELDS})\s*", re.IGNORECASE)
NAME_RE = re.compile(
    r"^\s*(?:(dc|dcterm|og|twitter|parsely|weibo:(?:article|webpage))\s*[-.:]\s*)?"
    r"(author|creator|pub-date|description|title|site_name)\s*$",
    re.IGNORECASE,
)
TITLE_KEYS = ("dc:title", "dcterm:title", "og:title", "weibo:article:title", "weibo:webpage:title", "title")
TITLE_KEYS_LATE = ("twitter:title", "parsely-title")
BYLINE_KEYS = ("dc:creator", "dcterm:creator", "author", "parsely-author")
DATE_KEYS = ("article:published_time", "parsely-pub-date", "dcterm:created", "dc:date", "date")
SEPARATOR_RE = re.compile(r" [\|\-\\/>»] ")
HIERARCHY_RE = re.compile(r" [\\/>»] ")
BYLINE_HINT_RE = re.compile(r"byline|author|dateline|writtenby|p-author", re.IGNORECASE)
MAX_BYLINE_CHARS = 100
ARTICLE_TYPES = re.compile(r"Article|Posting|Report|BlogPosting|NewsArticle", re.IGNORECASE)


@dataclass
class PageMetadata(ArticleMetadata):
    """What the page says about itself."""

    site_name: str | None = None
    lead_image: str | None = None
    canonical_url: str | None = None
    description: str | None = None


def read_meta_values(tree: Any) -> dict[str, str]:
    """Meta tag values keyed the Readability way (lower case, no spaces, '.' as ':'), first one wins."""
    values: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        if not content:
            continue
        prop = meta.get("property") or ""
        keys = [m.group(0) for m in PROPERTY_RE.finditer(prop)]
        name = meta.get("name") or ""
        if not keys and NAME_RE.match(name):
            keys = [name]
        if name.lower() in ("parsely-title", "parsely-author", "parsely-pub-date", "date", "keywords"):
            keys.append(name)
        for key in keys:
            norm = re.sub(r"\s+", "", key.lower()).replace(".", ":")
            values.setdefault(norm, normalise_space(content))
    return values


def _iter_jsonld(tree: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().removeprefix("<![CDATA[").removesuffix("]]>"))
        except (ValueError, RecursionError):
            continue
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("@graph"), list):
                found.extend(x for x in item["@graph"] if isinstance(x, dict))
            elif isinstance(item, dict):
                found.append(item)
    return found


def read_jsonld(tree: Any) -> dict[str, Any]:
    """The first JSON-LD object that describes an article, or {}."""
    for item in _iter_jsonld(tree):
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and ARTICLE_TYPES.search(k) for k in kinds):
            return item
    return {}


def _person_names(value: Any) -> str | None:
    people = value if isinstance(value, list) else [value]
    names = [p.get("name") if isinstance(p, dict) else p for p in people]
    clean = [normalise_space(n) for n in names if isinstance(n, str) and n.strip()]
    return ", ".join(clean) or None


def _word_count(text: str) -> int:
    return len(text.split())


def _strip_title_part(original: str, tree: Any) -> str:
    """Readability's first pass: cut a site name after a separator or before a colon."""
    separators = list(SEPARATOR_RE.finditer(original))
    if separators:
        title = original[: separators[-1].start()]
        if _word_count(title) < 3:
            title = re.sub(r"^[^\|\-\\/>»]*[\|\-\\/>»]", "", original)
        return title
    if ": " in original:
        headings = {normalise_space(h.text_content()) for h in tree.iter("h1", "h2")}
        if original in headings:
            return original
        title = original[original.rfind(":") + 1 :]
        if _word_count(title) < 3:
            return original[original.find(":") + 1 :]
        return original if _word_count(original[: original.find(":")]) > 5 else title
    if len(original) > 150 or len(original) < 15:
        h1s = list(tree.iter("h1"))
        if len(h1s) == 1:
            return normalise_space(h1s[0].text_content())
    return original


def choose_title_from_document(tree: Any) -> str | None:
    """Readability's title heuristic on <title>: drop a site-name part unless too little would be left."""
    node = tree.find(".//title")
    original = normalise_space(node.text_content()) if node is not None else ""
    if not original:
        heading = tree.find(".//h1")
        return normalise_space(heading.text_content()) or None if heading is not None else None
    hierarchical = bool(HIERARCHY_RE.search(original)) and bool(SEPARATOR_RE.search(original))
    title = normalise_space(_strip_title_part(original, tree))
    words = _word_count(title)
    if words <= 4 and (not hierarchical or words != _word_count(re.sub(r"[\|\-\\/>»]+", "", original)) - 1):
        title = original
    return title or None


def find_byline_in_page(tree: Any) -> str | None:
    """A short element marked as the author (rel=author, itemprop=author, byline classes)."""
    body = tree.find(".//body")
    if body is None:
        return None
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        marks = " ".join(filter(None, [el.get("class"), el.get("id")]))
        is_marked = el.get("rel") == "author" or "author" in (el.get("itemprop") or "")
        if is_marked or (marks and BYLINE_HINT_RE.search(marks)):
            text = normalise_space(el.text_content())
            if 0 < len(text) < MAX_BYLINE_CHARS:
                return text
    return None


def parse_date(value: str | None) -> datetime | None:
    """A datetime from an ISO-like string (None when unreadable)."""
    if not value:
        return None
    value = value.strip().replace("Z", "+00:00")
    for candidate in (value, value[:25], value[:19], value[:10]):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def _first(values: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((values[k] for k in keys if values.get(k)), None)


def _string(value: Any) -> str | None:
    return normalise_space(value) if isinstance(value, str) and value.strip() else None


def _choose_title(jsonld: dict[str, Any], values: dict[str, str], tree: Any) -> str | None:
    return (
        _string(jsonld.get("headline"))
        or _string(jsonld.get("name"))
        or _first(values, TITLE_KEYS)
        or _first(values, TITLE_KEYS_LATE)
        or choose_title_from_document(tree)
    )


def _choose_tags(values: dict[str, str]) -> list[str]:
    tags: list[str] = []
    for raw in [values.get("article:section"), values.get("article:tag"), values.get("keywords")]:
        if raw:
            tags.extend(t.strip() for t in raw.split(","))
    unique: dict[str, str] = {}
    for tag in tags:
        if tag and len(tag) <= 60:
            unique.setdefault(tag.casefold(), tag)
    return list(unique.values())[:20]


def find_date_in_page(tree: Any, url: str | None) -> datetime | None:
    """The publication date found by htmldate's quick (non-extensive) search."""
    try:
        found = find_date(tree, url=url, extensive_search=False, original_date=True)
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None
    return parse_date(found)


def find_canonical_url(tree: Any, values: dict[str, str], url: str | None) -> str | None:
    """The canonical URL: <link rel=canonical>, then og:url, made absolute against the page URL.

    The one canonical-link finder. A link that is not http(s) once made absolute (javascript:, a relative
    path with no page URL) is passed over for the next source, and last the page URL itself.
    """
    links = [link for link in tree.iter("link") if "canonical" in (link.get("rel") or "").lower().split()]
    hrefs = [link.get("href") for link in links if link.get("href")]
    for href in (*hrefs[:1], values.get("og:url")):
        absolute = join_url(url, href.strip()) if href and href.strip() else None
        if absolute and is_http_url(absolute):
            return absolute
    return url


def find_language(tree: Any, values: dict[str, str]) -> str | None:
    """The declared language: <html lang>, then og:locale, as a lower-case primary tag."""
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    declared = (html_el.get("lang") if html_el is not None else None) or values.get("og:locale")
    if not declared:
        return None
    return re.split(r"[-_]", declared.strip())[0].lower() or None


def read_metadata(tree: Any, url: str | None = None) -> PageMetadata:
    """Everything the page says about itself; never raises on odd markup."""
    values = read_meta_values(tree)
    jsonld = read_jsonld(tree)
    published = parse_date(_string(jsonld.get("datePublished")) or _first(values, DATE_KEYS))
    if published is None:
        published = find_date_in_page(tree, url)
    image = jsonld.get("image")
    image_url = image.get("url") if isinstance(image, dict) else image if isinstance(image, str) else None
    publisher = jsonld.get("publisher")
    return PageMetadata(
        title=_choose_title(jsonld, values, tree),
        byline=_person_names(jsonld.get("author"))
        or _first(values, BYLINE_KEYS)
        or find_byline_in_page(tree),
        published_at=published,
        site_name=values.get("og:site_name")
        or (_string(publisher.get("name")) if isinstance(publisher, dict) else None),
        language=find_language(tree, values),
        lead_image=values.get("og:image") or values.get("twitter:image") or image_url,
        canonical_url=find_canonical_url(tree, values, url),
        description=values.get("og:description") or values.get("description"),
        tags=_choose_tags(values),
    )
