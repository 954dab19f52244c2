"""Per-source refresh scheduling: when to fetch a feed next after a success or a failure (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tidings.config import Settings

MIN_REFRESH_SECONDS = 5 * 60
MAX_REFRESH_SECONDS = 24 * 3600
FIRST_FAILURE_SECONDS = 5 * 60


def clamp(value: float, low: float, high: float) -> float:
    """`value` limited to the closed range [low, high]."""
    return max(low, min(high, value))


def success_interval(*, ttl_seconds: int | None, max_age_seconds: int | None, default_seconds: int) -> float:
    """Seconds until the next fetch after a success: the TTL or max-age hint within sane bounds."""
    hints = [h for h in (ttl_seconds, max_age_seconds) if h is not None and h > 0]
    # The longer hint wins: both are the publisher asking us not to come back sooner.
    wanted = max(hints) if hints else default_seconds
    return clamp(wanted, MIN_REFRESH_SECONDS, MAX_REFRESH_SECONDS)


def failure_interval(
    *, consecutive_failures: int, default_seconds: int, max_backoff_seconds: int, retry_after: float | None
) -> float:
    """Seconds until the next try after a failure: doubling from 5 min (or the default), capped."""
    base = min(FIRST_FAILURE_SECONDS, default_seconds) if default_seconds > 0 else FIRST_FAILURE_SECONDS
    exponent = max(0, consecutive_failures - 1)
    backoff = base * 2.0 ** min(exponent, 32)  # the cap keeps the float finite for absurd failure counts
    if retry_after is not None and retry_after > 0:
        backoff = max(backoff, retry_after)
    return clamp(backoff, base, max(base, max_backoff_seconds))


def next_due(
    now: datetime,
    settings: Settings,
    failures: int = 0,
    *,
    ttl_seconds: int | None = None,
    max_age_seconds: int | None = None,
    retry_after: float | None = None,
) -> datetime:
    """When a source should be fetched next: after a success (no failures) or its n-th failure in a row."""
    default = settings.default_refresh_seconds
    if not failures:
        seconds = success_interval(
            ttl_seconds=ttl_seconds, max_age_seconds=max_age_seconds, default_seconds=default
        )
    else:
        seconds = failure_interval(
            consecutive_failures=failures,
            default_seconds=default,
            max_backoff_seconds=settings.max_backoff_seconds,
            retry_after=retry_after,
        )
    return now + timedelta(seconds=seconds)
