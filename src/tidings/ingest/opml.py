"""OPML subscription lists: safe parsing (no entities, no network) and export with folders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from lxml import etree

from tidings.ingest.encoding import fix_declared_encoding
from tidings.ingest.urls import safe_http_url

MAX_OPML_BYTES = 5 * 1024 * 1024
CATEGORY_SEPARATOR = "/"
STARTER_OPML_PATH = Path(__file__).resolve().parents[1] / "data" / "starter.opml"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class OpmlError(ValueError):
    """An OPML document that cannot be read; the message is one line."""


@dataclass
class OpmlFeed:
    """One subscription from an OPML file; `category` joins nested folders as "Outer/Inner"."""

    url: str
    title: str | None = None
    html_url: str | None = None
    category: str | None = None


# No entity expansion, DTD loading or network access: OPML files come from strangers.
SAFE_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "recover": False,
}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(**SAFE_PARSER_OPTIONS)


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every http(s) feed outline in an OPML document, with folder paths as categories; raises OpmlError."""
    return parse_opml_checked(data)[0]


def parse_opml_checked(data: bytes) -> tuple[list[OpmlFeed], list[str]]:
    """The feeds of an OPML document plus one warning per refused outline (a non-http(s) xmlUrl)."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"OPML file too large ({len(data)} bytes, limit {MAX_OPML_BYTES})")
    try:
        root = etree.fromstring(fix_declared_encoding(data), parser=_parser())
    except etree.XMLSyntaxError as exc:
        where = "" if "line" in exc.msg else f" (line {exc.lineno})"
        raise OpmlError(f"not well-formed OPML: {exc.msg}{where}") from exc
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise OpmlError("not an OPML document: the root element is not <opml>")
    body = next((child for child in root if _localname(child) == "body"), None)
    if body is None:
        raise OpmlError("not an OPML document: no <body> element")
    feeds: list[OpmlFeed] = []
    _collect(body, [], feeds)
    safe = [_http_only(feed) for feed in feeds if safe_http_url(feed.url)]
    refused = [
        f"refused feed {feed.url[:80]!r}: not an http(s) URL" for feed in feeds if not safe_http_url(feed.url)
    ]
    return safe, refused


def _http_only(feed: OpmlFeed) -> OpmlFeed:
    feed.url = safe_http_url(feed.url) or feed.url
    feed.html_url = safe_http_url(feed.html_url)
    return feed


def _localname(element: etree._Element) -> str:
    return etree.QName(element).localname.lower() if isinstance(element.tag, str) else ""


def _attribute(element: etree._Element, name: str) -> str | None:
    # OPML in the wild varies the case of attribute names (xmlUrl, xmlurl, XMLURL).
    for key, value in element.attrib.items():
        if str(key).lower() == name.lower():
            text = str(value).strip()
            return text or None
    return None


def _collect(parent: etree._Element, path: list[str], out: list[OpmlFeed]) -> None:
    for outline in parent:
        if _localname(outline) != "outline":
            continue
        label = _attribute(outline, "text") or _attribute(outline, "title")
        url = _attribute(outline, "xmlUrl")
        if url:
            category = CATEGORY_SEPARATOR.join(path) or None
            out.append(
                OpmlFeed(url=url, title=label, html_url=_attribute(outline, "htmlUrl"), category=category)
            )
        folder = path if url or not label else [*path, label.replace(CATEGORY_SEPARATOR, "-")]
        _collect(outline, folder, out)


def xml_text(text: str) -> str:
    """text without the characters XML 1.0 cannot carry (control characters, surrogates, U+FFFE/F)."""
    return _NOT_XML.sub(" ", text)


def export_opml(feeds: list[OpmlFeed], title: str = "Tidings") -> str:
    """An OPML 2.0 document listing the feeds, nesting categories back into folders.

    Labels are cleaned of characters XML cannot carry, so a stray control character in a stored title
    cannot make the export fail (titles are also cleaned when stored).
    """
    feeds = [
        OpmlFeed(
            url=xml_text(f.url),
            title=xml_text(f.title) if f.title else None,
            html_url=xml_text(f.html_url) if f.html_url else None,
            category=xml_text(f.category) if f.category else None,
        )
        for f in feeds
    ]
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for feed in feeds:
        parent = _folder(folders, tuple(p for p in (feed.category or "").split(CATEGORY_SEPARATOR) if p))
        attributes = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attributes["title"] = feed.title
        if feed.html_url:
            attributes["htmlUrl"] = feed.html_url
        etree.SubElement(parent, "outline", attributes)
    text: str = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


def _folder(folders: dict[tuple[str, ...], etree._Element], path: tuple[str, ...]) -> etree._Element:
    if path not in folders:
        parent = _folder(folders, path[:-1])
        folders[path] = etree.SubElement(parent, "outline", text=path[-1], title=path[-1])
    return folders[path]


def read_starter_feeds() -> list[OpmlFeed]:
    """The feeds in the bundled starter list (src/tidings/data/starter.opml)."""
    return parse_opml(STARTER_OPML_PATH.read_bytes())
