"""Helpers shared by the Google Reader and Fever endpoints: parameters, login throttling, content, ranking."""

from __future__ import annotations

import html
import threading
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import nh3
from fastapi import HTTPException, Request
from sqlalchemy import Engine

from tidings.config import Settings
from tidings.extract.sanitize import sanitize_html
from tidings.ingest.urls import safe_http_url
from tidings.service.feed import feed_for
from tidings.store import streams as stream_repo
from tidings.store.users import NotFoundError
from tidings.store.util import as_utc
from tidings.web.compat.streams import is_small_id

MAX_BODY_BYTES = 256 * 1024
MAX_FIELDS = 2000
FOR_YOU_DEPTH = 200


class BodyTooLargeError(Exception):
    """A request body over MAX_BODY_BYTES."""


class TooManyFieldsError(Exception):
    """A request with more than MAX_FIELDS query and form fields."""


class Params:
    """Query-string and form fields of a request, merged (form values after query values), multi-valued."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of key, or default."""
        return next((v for k, v in self.pairs if k == key), default)

    def getlist(self, key: str) -> list[str]:
        """Every value of key."""
        return [v for k, v in self.pairs if k == key]

    def has(self, key: str) -> bool:
        """True when key is present (even empty, as in `?api`)."""
        return any(k == key for k, _ in self.pairs)

    def get_int(self, key: str, default: int, low: int, high: int) -> int:
        """An integer field clamped to [low, high]; default when absent; ValueError when not a number."""
        raw = self.get(key)
        if raw is None or not raw.strip():
            return default
        return max(low, min(high, int(raw.strip())))


async def read_params(request: Request) -> Params:
    """The merged query and urlencoded (or multipart) form fields; raises BodyTooLargeError or
    TooManyFieldsError."""
    pairs = [(k, v) for k, v in request.query_params.multi_items()]
    if len(pairs) > MAX_FIELDS:
        raise TooManyFieldsError
    content_type = request.headers.get("content-type", "")
    if request.method != "POST":
        return Params(pairs)
    if content_type.startswith("multipart/form-data"):
        declared = request.headers.get("content-length", "")
        if not is_small_id(declared) or int(declared) > MAX_BODY_BYTES:
            raise BodyTooLargeError
        try:
            form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_BODY_BYTES)
        except HTTPException as exc:  # Starlette's answer to too many fields or parts
            raise TooManyFieldsError from exc
        pairs += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        return Params(pairs)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLargeError
    text = body.decode("utf-8", errors="replace")
    try:
        pairs += parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # more than MAX_FIELDS fields
        raise TooManyFieldsError from None
    if len(pairs) > MAX_FIELDS:
        raise TooManyFieldsError
    return Params(pairs)


class FailureLimiter:
    """Blocks a client after `limit` failed logins within `window` seconds (successes do not count)."""

    def __init__(self, limit: int = 10, window: float = 300.0, max_keys: int = 10_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def is_blocked(self, key: str) -> bool:
        """True when key has used up its failures in the current window."""
        with self._lock:
            recent = [t for t in self._fails.get(key, []) if time.monotonic() - t < self.window]
            self._fails[key] = recent
            return len(recent) >= self.limit

    def record_failure(self, key: str) -> None:
        """Count one failed attempt for key."""
        with self._lock:
            self._fails.setdefault(key, []).append(time.monotonic())
            if len(self._fails) > self.max_keys:
                self._fails.pop(next(iter(self._fails)))

    def reset(self) -> None:
        """Forget every failure (tests)."""
        with self._lock:
            self._fails.clear()


def client_key(request: Request) -> str:
    """The throttling key of a request: the peer address."""
    return request.client.host if request.client else "unknown"


def item_html(row: dict[str, Any]) -> str:
    """Display-safe HTML of an article: its sanitised HTML, else its text as escaped paragraphs."""
    cleaned = sanitize_html(row.get("html") or "", safe_http_url(row.get("url")))
    if cleaned.strip():
        return cleaned
    paragraphs = [p.strip() for p in (row.get("text") or "").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def item_author(row: dict[str, Any]) -> str:
    """The byline as plain text (markup dropped, then escaped like titles), as apps expect an author."""
    text = html.unescape(nh3.clean(row.get("byline") or "", tags=set()))
    text = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
    return html.escape(text[:300], quote=False)


def item_title(row: dict[str, Any]) -> str:
    """An article title HTML-escaped once, as FreshRSS serves them (apps decode entities; none runs markup).

    Entities already in the stored title are decoded first, so "&amp;" never reaches an app as "&amp;amp;".
    """
    return html.escape(html.unescape(row.get("title") or ""), quote=False)


def website_of(source: dict[str, Any]) -> str:
    """A feed's website: its <link> when known, else the feed URL's scheme://host/ (never the feed itself)."""
    site = safe_http_url(source.get("site_url"))
    if site:
        return site
    parts = urlsplit(str(source.get("url") or ""))
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") and parts.netloc else ""


def epoch_seconds(value: datetime | None) -> int:
    """Seconds since the epoch (0 when unknown)."""
    when = as_utc(value)
    return int(when.timestamp()) if when else 0


def epoch_micros(value: datetime | None) -> int:
    """Microseconds since the epoch (0 when unknown)."""
    when = as_utc(value)
    return int(when.timestamp() * 1_000_000) if when else 0


def ranked_ids(engine: Engine, settings: Settings, user_id: int, name: str) -> list[int]:
    """The user's For you feed (ranked, one article per story) restricted to articles they can see."""
    try:
        _, result = feed_for(engine, settings, name, FOR_YOU_DEPTH)
    except NotFoundError:
        return []
    ids = [int(it.article_id) for it in result.items if is_small_id(str(it.article_id))]
    with engine.connect() as conn:
        return stream_repo.filter_ids(conn, user_id, ids, stream_repo.Window())
