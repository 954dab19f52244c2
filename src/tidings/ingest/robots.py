"""robots.txt rules cached per origin; the fetcher supplies the download so every limit still applies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from protego import Protego

ROBOTS_TTL_SECONDS = 24 * 3600.0
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 lets crawlers ignore anything past 500 KiB

# Returns the robots.txt body, or None when it is missing or could not be fetched (which allows everything).
RobotsDownloader = Callable[[str], bytes | None]


def robots_url_for(url: str) -> str:
    """The robots.txt URL of the origin serving `url`."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/robots.txt"


def parse_robots(body: bytes | None) -> Protego:
    """Protego's rules for a robots.txt body (RFC 9309, with `*` and `$`); None allows everything."""
    text = "" if body is None else body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
    try:
        return Protego.parse(text)
    except Exception:  # a rule file that breaks the parser is treated like a missing one
        return Protego.parse("")


def is_allowed_by(parser: Protego, user_agent: str, url: str) -> bool:
    """Whether `parser` lets `user_agent` fetch `url`."""
    try:
        return bool(parser.can_fetch(url, user_agent))
    except (ValueError, KeyError, TypeError):
        return True


class RobotsCache:
    """Thread-safe cache of parsed robots.txt files keyed by origin."""

    def __init__(
        self,
        user_agent: str,
        *,
        ttl_seconds: float = ROBOTS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._user_agent = user_agent
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Protego]] = {}

    def is_allowed(self, url: str, download: RobotsDownloader) -> bool:
        """Whether robots.txt of the URL's origin allows our user agent to fetch it."""
        key = robots_url_for(url)
        parser = self._cached(key)
        if parser is None:
            parser = parse_robots(download(key))
            with self._lock:
                self._entries[key] = (self._clock() + self._ttl, parser)
        return is_allowed_by(parser, self._user_agent, url)

    def clear(self) -> None:
        """Forget every cached robots.txt."""
        with self._lock:
            self._entries.clear()

    def _cached(self, key: str) -> Protego | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]
