"""Refresh scheduling after successes and failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tidings.config import Settings
from tidings.ingest.health import next_due

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(default_refresh_seconds=1800, max_backoff_seconds=24 * 3600)


def _after(ok: bool = True, consecutive_failures: int = 0, **kwargs: Any) -> timedelta:
    failures = 0 if ok else consecutive_failures
    return next_due(NOW, SETTINGS, failures, **kwargs) - NOW


def test_success_uses_the_default_without_hints() -> None:
    assert _after() == timedelta(seconds=1800)


def test_success_honours_ttl_and_max_age_within_bounds() -> None:
    assert _after(ttl_seconds=3600) == timedelta(hours=1)
    assert _after(max_age_seconds=7200, ttl_seconds=600) == timedelta(hours=2)
    assert _after(ttl_seconds=10) == timedelta(minutes=5)  # too eager: floor
    assert _after(max_age_seconds=30 * 86400) == timedelta(hours=24)  # too lazy: ceiling


def test_failures_back_off_exponentially_and_cap() -> None:
    delays = [_after(ok=False, consecutive_failures=n) for n in (1, 2, 3, 4)]
    assert delays == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert _after(ok=False, consecutive_failures=50) == timedelta(hours=24)
    assert _after(ok=False, consecutive_failures=10_000) == timedelta(hours=24)


def test_failure_respects_a_longer_retry_after_but_not_beyond_the_cap() -> None:
    assert _after(ok=False, consecutive_failures=1, retry_after=3600.0) == timedelta(hours=1)
    assert _after(ok=False, consecutive_failures=1, retry_after=9e9) == timedelta(hours=24)


def test_schedule_is_deterministic() -> None:
    assert _after(ok=False, consecutive_failures=3) == _after(ok=False, consecutive_failures=3)
