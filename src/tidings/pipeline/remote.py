"""Fetch a URL given to `ingest` and turn it into a document by what the server sent."""

from __future__ import annotations

from tidings.config import Settings
from tidings.ingest.documents import Document, RawItem, read_feed
from tidings.ingest.feeds import is_feed
from tidings.ingest.fetcher import Fetcher, decode_body


def fetch_document(url: str, settings: Settings) -> Document:
    """Fetch url through the one fetcher and read it as a feed, page or text document."""
    with Fetcher(settings) as fetcher:
        result = fetcher.fetch(url)
    content_type = (result.content_type or "").lower()
    if is_feed(result.content, content_type):
        return read_feed(result.content, url, result.url)
    body = decode_body(result)
    if "html" in content_type or "<html" in body[:2000].lower():
        return Document(url, "html", [RawItem(origin=url, url=result.url, html=body)])
    return Document(url, "text", [RawItem(origin=url, url=result.url, text=body)])
