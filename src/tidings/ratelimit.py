"""A thread-safe per-key token bucket, shared by the web layer (sign-in throttles) and the service layer
(feedback events); it lives outside both so that neither imports the other."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    """Per-key token-bucket rate limiter: `rate` events per second on average, bursts up to `burst`."""

    def __init__(self, rate: float = 20.0, burst: float = 100.0, max_keys: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        # Web requests run in a thread pool: without the lock two threads could both take the last token.
        self._lock = threading.Lock()

    def _level(self, key: str, clock: float) -> float:
        tokens, last = self._state.get(key, (self.burst, clock))
        return min(self.burst, tokens + max(0.0, clock - last) * self.rate)

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for `key`; False means the event should be rejected (HTTP 429)."""
        clock = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._level(key, clock)
            allowed = tokens >= 1.0
            self._state.pop(key, None)  # re-insert at the end: the oldest keys are evicted first
            self._state[key] = (tokens - 1.0 if allowed else tokens, clock)
            if len(self._state) > self.max_keys:
                self._state.pop(next(iter(self._state)))
        return allowed

    def refund(self, key: str, now: float | None = None) -> None:
        """Give back one token taken for `key` (a sign-in that succeeded should not count against it)."""
        clock = time.monotonic() if now is None else now
        with self._lock:
            if key in self._state:
                self._state[key] = (min(self.burst, self._level(key, clock) + 1.0), clock)

    def reset(self) -> None:
        """Forget every key (tests)."""
        with self._lock:
            self._state.clear()
