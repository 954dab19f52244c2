"""The one door to the network: bounded, polite, SSRF-safe HTTP GETs with conditional requests and retries."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin

import httpcore
import httpx

from tidings.config import Settings
from tidings.digits import ascii_int, is_ascii_digits
from tidings.ingest.encoding import decode_text
from tidings.ingest.errors import FetchError
from tidings.ingest.robots import ROBOTS_MAX_BYTES, RobotsCache
from tidings.ingest.ssrf import GuardedBackend, Resolver, check_url_allowed, resolve_host
from tidings.ingest.urls import host_of

__all__ = ["FetchError", "FetchResult", "Fetcher", "check_url_allowed", "decode_body"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_RETRY_AFTER_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 0.5
MAX_DELTA_SECONDS = 2**31  # RFC 9111 §1.2.2: a cache treats any larger delta-seconds as 2^31
ACCEPT_ENCODING = "gzip, deflate, br"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/html;q=0.9, */*;q=0.8"
)


@dataclass
class FetchResult:
    """A completed GET: the final URL, the body (empty when not modified) and the caching metadata."""

    url: str
    status: int
    content: bytes
    headers: dict[str, str]
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    content_type: str | None = None
    charset: str | None = None
    max_age_seconds: int | None = None
    elapsed_seconds: float = 0.0
    redirects: list[str] = field(default_factory=list)  # the URLs that redirected, in order


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    content: bytes
    charset: str | None


# --- response metadata ------------------------------------------------------------------------------------


def delta_seconds(digits: str) -> int:
    """An HTTP delta-seconds value (ASCII digits), capped as RFC 9111 asks: a larger one counts as 2^31."""
    value = ascii_int(digits)
    return MAX_DELTA_SECONDS if value is None else min(value, MAX_DELTA_SECONDS)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if is_ascii_digits(value):
        return float(delta_seconds(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_max_age(headers: dict[str, str], now: datetime | None = None) -> int | None:
    """Freshness lifetime in seconds from Cache-Control max-age, else Expires minus Date/now."""
    cache_control = headers.get("cache-control", "").lower()
    match = re.search(r"(?:^|[,\s])max-age\s*=\s*\"?([0-9]+)", cache_control)
    if match:
        return delta_seconds(match.group(1))
    if "no-cache" in cache_control or "no-store" in cache_control:
        return 0
    expires = parse_retry_after(headers.get("expires"), now=_header_date(headers) or now)
    return None if expires is None else int(expires)


def _header_date(headers: dict[str, str]) -> datetime | None:
    try:
        when = parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- the fetcher ------------------------------------------------------------------------------------------


class Fetcher:
    """Thread-safe HTTP GETs with every limit in Settings applied; the only module that reads the network."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver = resolve_host,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._sleep = sleep
        self._client = httpx.Client(
            transport=self._build_transport(),
            follow_redirects=False,
            trust_env=False,  # why: an environment proxy would bypass the address checks
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
        self._robots = RobotsCache(settings.user_agent)
        self._lock = threading.Lock()
        self._host_slots: dict[str, threading.Semaphore] = {}
        self._next_slot_at: dict[str, float] = {}

    def _build_transport(self) -> httpx.HTTPTransport:
        transport = httpx.HTTPTransport()
        if not self._settings.allow_private_networks:
            # httpx has no public hook for the connect step, so give its transport a guarded pool.
            transport._pool = httpcore.ConnectionPool(
                ssl_context=httpx.create_ssl_context(),
                max_connections=100,
                max_keepalive_connections=20,
                network_backend=GuardedBackend(self._resolver),
            )
        return transport

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        check_robots: bool = True,
    ) -> FetchResult:
        """GET `url` (conditionally when etag/last_modified are given); raises FetchError on any failure."""
        deadline = time.monotonic() + self._settings.total_timeout
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._fetch(
            url,
            headers=headers,
            check_robots=check_robots and self._settings.respect_robots,
            deadline=deadline,
            max_bytes=self._settings.max_body_bytes,
            max_retries=self._settings.max_retries,
        )

    def _fetch(
        self,
        url: str,
        *,
        headers: dict[str, str],
        check_robots: bool,
        deadline: float,
        max_bytes: int,
        max_retries: int,
    ) -> FetchResult:
        started = time.monotonic()
        current, redirects = url.strip(), []
        while True:
            self._check_hop(current, check_robots, deadline)
            response = self._get_with_retries(current, headers, deadline, max_bytes, max_retries)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                break
            redirects.append(current)
            current = self._next_hop(current, location, redirects)
        if not (200 <= response.status < 300 or response.status == 304):
            raise FetchError(
                "http_status", f"HTTP {response.status} from {current}", url=current, status=response.status
            )
        return self._result(current, response, redirects, time.monotonic() - started)

    def _check_hop(self, url: str, check_robots: bool, deadline: float) -> None:
        check_url_allowed(url, allow_private=self._settings.allow_private_networks, resolver=self._resolver)
        if check_robots and not self._robots.is_allowed(url, lambda u: self._download_robots(u, deadline)):
            raise FetchError("robots", f"refused: robots.txt disallows {url}", url=url)

    def _next_hop(self, current: str, location: str, redirects: list[str]) -> str:
        target = urljoin(current, location.strip())
        if target in redirects:
            chain = " -> ".join([*redirects, target])
            raise FetchError("too_many_redirects", f"redirect loop: {chain}", url=target)
        if len(redirects) > self._settings.max_redirects:
            message = f"more than {self._settings.max_redirects} redirects from {redirects[0]}"
            raise FetchError("too_many_redirects", message, url=target)
        return target

    def _result(self, url: str, response: _Response, redirects: list[str], elapsed: float) -> FetchResult:
        headers = response.headers
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower() or None
        return FetchResult(
            url=url,
            status=response.status,
            content=response.content,
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            not_modified=response.status == 304,
            content_type=content_type,
            charset=response.charset,
            max_age_seconds=parse_max_age(headers),
            elapsed_seconds=elapsed,
            redirects=redirects,
        )

    def _download_robots(self, robots_url: str, deadline: float) -> bytes | None:
        try:
            result = self._fetch(
                robots_url,
                headers={},
                check_robots=False,
                deadline=deadline,
                max_bytes=ROBOTS_MAX_BYTES,
                max_retries=0,
            )
        except FetchError as exc:
            if exc.kind in ("private_address", "invalid_url"):
                raise
            return None  # a missing or failing robots.txt allows everything
        return result.content

    def _get_with_retries(
        self, url: str, headers: dict[str, str], deadline: float, max_bytes: int, max_retries: int
    ) -> _Response:
        attempt = 0
        while True:
            try:
                response = self._get_once(url, headers, deadline, max_bytes)
            except FetchError as exc:
                if exc.kind not in ("network", "timeout") or not self._can_wait(
                    attempt, max_retries, _backoff(attempt), deadline
                ):
                    raise
                self._sleep(_backoff(attempt))
                attempt += 1
                continue
            if response.status != 429 and response.status < 500:
                return response
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            wait = retry_after if retry_after is not None else _backoff(attempt)
            if not self._can_wait(attempt, max_retries, wait, deadline):
                message = f"HTTP {response.status} from {url}" + (
                    f" (retry after {retry_after:.0f} s)" if retry_after is not None else ""
                )
                raise FetchError(
                    "http_status", message, url=url, status=response.status, retry_after=retry_after
                )
            self._sleep(wait)
            attempt += 1

    @staticmethod
    def _can_wait(attempt: int, max_retries: int, wait: float, deadline: float) -> bool:
        fits = time.monotonic() + wait < deadline
        return attempt < max_retries and wait <= MAX_RETRY_AFTER_SECONDS and fits

    def _get_once(self, url: str, headers: dict[str, str], deadline: float, max_bytes: int) -> _Response:
        host = host_of(url)
        with self._host_slot(host):
            self._wait_politely(host, deadline)
            timeout = self._timeouts(url, deadline)
            request = self._client.build_request("GET", url, headers=headers, extensions={"timeout": timeout})
            with _mapped_errors(url, deadline):
                response = self._client.send(request, stream=True)
                watchdog = _start_watchdog(response, deadline)
                try:
                    response_headers = {k.lower(): v for k, v in response.headers.items()}
                    status = response.status_code
                    has_body = 200 <= status < 300
                    content = _read_body(response, url, deadline, max_bytes) if has_body else b""
                    return _Response(status, response_headers, content, response.charset_encoding)
                finally:
                    watchdog.cancel()
                    response.close()

    def _timeouts(self, url: str, deadline: float) -> dict[str, float]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"timed out after {self._settings.total_timeout:g} s: {url}", url=url)
        settings = self._settings
        return {
            "connect": min(settings.connect_timeout, remaining),
            "read": min(settings.read_timeout, remaining),
            "write": min(settings.read_timeout, remaining),
            "pool": remaining,
        }

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        with self._lock:
            slot = self._host_slots.get(host)
            if slot is None:
                slot = self._host_slots[host] = threading.BoundedSemaphore(
                    self._settings.per_host_concurrency
                )
        with slot:
            yield

    def _wait_politely(self, host: str, deadline: float) -> None:
        delay = self._settings.politeness_delay
        if delay <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start_at = max(now, self._next_slot_at.get(host, now))
            self._next_slot_at[host] = start_at + delay  # reserve the slot so concurrent callers queue up
        wait = min(start_at - now, deadline - now)
        if wait > 0:
            self._sleep(wait)


def _backoff(attempt: int) -> float:
    return float(BACKOFF_BASE_SECONDS * (2**attempt))


@contextmanager
def _mapped_errors(url: str, deadline: float) -> Iterator[None]:
    try:
        yield
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise _fetch_error_for(exc, url, deadline) from exc


def _fetch_error_for(exc: Exception, url: str, deadline: float) -> FetchError:
    if isinstance(exc, httpx.TimeoutException):
        return FetchError("timeout", f"timed out ({type(exc).__name__}): {url}", url=url)
    if time.monotonic() >= deadline:
        # The watchdog cut the connection at the total deadline.
        return FetchError("timeout", f"timed out (total deadline): {url}", url=url)
    if isinstance(exc, httpx.DecodingError):
        return FetchError("network", f"undecodable compressed body from {url}", url=url)
    return FetchError("network", f"network error ({exc or type(exc).__name__}): {url}", url=url)


def _start_watchdog(response: httpx.Response, deadline: float) -> threading.Timer:
    """A timer that shuts the socket down at the deadline, so a stalled body read cannot outlive it."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None

    def cut() -> None:
        if isinstance(sock, socket.socket):
            # socket.socket.shutdown, not SSLSocket's, so a TLS read blocked in another thread wakes up too.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
    timer.daemon = True
    timer.start()
    return timer


def _read_body(response: httpx.Response, url: str, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if (ascii_int(declared) or 0) > max_bytes:
        raise FetchError(
            "too_large", f"body of {declared} bytes exceeds the {max_bytes}-byte limit: {url}", url=url
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("too_large", f"body exceeds the {max_bytes}-byte limit: {url}", url=url)
        chunks.append(chunk)
        if time.monotonic() >= deadline:
            raise FetchError("timeout", f"timed out reading the body (total deadline): {url}", url=url)
    return b"".join(chunks)


def decode_body(result: FetchResult) -> str:
    """The body of a fetch as text (header charset, BOM/meta, charset detection); never raises."""
    return decode_text(result.content, result.charset)
