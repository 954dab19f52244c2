"""Fetch a URL given to `ingest` and turn it into a document by what the server sent."""

from __future__ import annotations

from tidings.config import Settings
from tidings.ingest.documents import Document, DocumentError, RawItem, read_feed
from tidings.ingest.encoding import is_binary, is_empty
from tidings.ingest.feeds import is_feed
from tidings.ingest.fetcher import Fetcher, decode_body

# Bodies that are never an article, whatever their bytes look like.
BINARY_MEDIA = frozenset(
    {"application/octet-stream", "application/zip", "application/gzip", "application/pdf"}
)


def fetch_document(url: str, settings: Settings) -> Document:
    """Fetch url through the one fetcher and read it as a feed, page or text document.

    Raises DocumentError for an empty or binary body: those are clear errors, never articles.
    """
    with Fetcher(settings) as fetcher:
        result = fetcher.fetch(url)
    content_type = (result.content_type or "").lower()
    media = content_type.split(";", 1)[0].strip()
    if is_empty(result.content):
        raise DocumentError("empty response, not an article")
    if media in BINARY_MEDIA or media.startswith(("image/", "audio/", "video/")) or is_binary(result.content):
        raise DocumentError(f"binary content ({media or 'no content type'}), not an article")
    if is_feed(result.content, content_type) or is_json(media, result.content):
        # JSON that is not a JSON Feed is reported as such by the feed reader, not stored as text.
        return read_feed(result.content, url, result.url)
    body = decode_body(result)
    if "html" in content_type or "<html" in body[:2000].lower():
        return Document(url, "html", [RawItem(origin=url, url=result.url, html=body)])
    return Document(url, "text", [RawItem(origin=url, url=result.url, text=body)])


def is_json(media: str, content: bytes) -> bool:
    """True for a JSON body (by media type, or a body that opens like JSON)."""
    if media == "application/json" or media.endswith("+json"):
        return True
    return content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")
