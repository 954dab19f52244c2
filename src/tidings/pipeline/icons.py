"""A feed's icon for reader apps: the feed's image, else the site's /favicon.ico (bounded, raster only)."""

from __future__ import annotations

import base64
from urllib.parse import urljoin

from tidings.ingest.fetcher import Fetcher, FetchError
from tidings.ingest.urls import is_http_url

MAX_ICON_BYTES = 64 * 1024
# Raster images only: an SVG can carry script, and apps show icons without sandboxing them.
ICON_TYPES = (
    "image/png",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "image/gif",
    "image/jpeg",
    "image/webp",
)


def fetch_icon(fetcher: Fetcher, image_url: str | None, site_url: str | None) -> str | None:
    """The icon as Fever's "mime;base64,data", or None when neither the image nor the favicon is usable."""
    favicon = urljoin(site_url, "/favicon.ico") if site_url and is_http_url(site_url) else None
    for url in (image_url, favicon):
        if not url or not is_http_url(url):
            continue
        try:
            result = fetcher.fetch(url, check_robots=False)
        except FetchError:
            continue
        mime = (result.content_type or "").lower()
        if mime in ICON_TYPES and 0 < len(result.content) <= MAX_ICON_BYTES:
            return f"{mime};base64,{base64.b64encode(result.content).decode()}"
    return None
