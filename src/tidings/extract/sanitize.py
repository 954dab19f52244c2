"""Display-safe HTML: an nh3 allow-list, absolute http(s) URLs only, no tracking pixels, safe link rel."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import urlparse

import lxml.etree
import lxml.html
import nh3

from tidings.ingest.urls import join_url

ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    ]
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
DROPPED_WITH_CONTENT = frozenset(
    [
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "noscript",
        "template",
        "video",
        "audio",
        "canvas",
        "title",
        "head",
        "base",
        "link",
        "meta",
    ]
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
LINK_REL = "noopener noreferrer nofollow"
TRACKER_HOSTS = (
    "doubleclick.net",
    "google-analytics.com",
    "googletagmanager.com",
    "googlesyndication.com",
    "scorecardresearch.com",
    "quantserve.com",
    "chartbeat.net",
    "omtrdc.net",
    "2o7.net",
    "bat.bing.com",
    "pixel.wp.com",
    "stats.wp.com",
    "facebook.com/tr",
    "adsrvr.org",
    "krxd.net",
    "outbrain.com",
    "taboola.com",
)
TRACKER_PATH_RE = re.compile(
    r"(^|[/._-])(pixel|beacon|tracking|track|spacer|1x1|blank)\.(gif|png|jpe?g)", re.I
)
UNSAFE_URL_RE = re.compile(r"^\s*(javascript|vbscript|data|file|about|blob):", re.IGNORECASE)
CONTROL_CHARS_RE = re.compile(r"[\x00-\x20\x7f]+")


def is_tracking_pixel(src: str | None, width: str | None, height: str | None) -> bool:
    """Whether an image is a 1x1 beacon or served by a known tracker."""
    sizes = [w for w in (width, height) if w is not None]
    if any(s.strip().rstrip("px").strip() in ("0", "1") for s in sizes):
        return True
    if not src:
        return False
    lowered = src.lower()
    return any(host in lowered for host in TRACKER_HOSTS) or bool(
        TRACKER_PATH_RE.search(urlparse(lowered).path)
    )


def _drop_pixels(markup: str) -> str:
    """Remove tracking images before the allow-list pass (nh3 sees one attribute at a time)."""
    if "<img" not in markup.lower():
        return markup
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return markup
    for img in list(root.iter("img")):
        if is_tracking_pixel(img.get("src"), img.get("width"), img.get("height")):
            img.drop_tree()
    inner = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    return html_lib.escape(root.text or "", quote=False) + inner


def safe_url(value: str, base_url: str | None) -> str | None:
    """An absolute http(s)/mailto URL, or None for anything executable or unreadable."""
    cleaned = CONTROL_CHARS_RE.sub("", html_lib.unescape(value))
    if not cleaned or UNSAFE_URL_RE.match(cleaned):
        return None
    absolute = join_url(base_url, cleaned)
    if absolute is None:
        return None
    scheme = urlparse(absolute).scheme.lower()
    if scheme and scheme not in URL_SCHEMES:
        return None
    if not scheme and not base_url:
        return absolute  # relative URL left as is when there is no base to resolve it against
    return absolute if scheme else None


def _filter_attribute(base_url: str | None):  # type: ignore[no-untyped-def]
    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if attribute in URL_ATTRIBUTES:
            return safe_url(value, base_url)
        return value

    return filter_attribute


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Display-safe HTML: allow-listed tags and attributes, safe absolute links, no scripts or pixels."""
    if not html or not html.strip():
        return ""
    return nh3.clean(
        _drop_pixels(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute(base_url),
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
