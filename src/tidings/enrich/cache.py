"""A process-wide cache of loaded models, so each model is loaded once per process."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_MODELS: dict[tuple[str, str], Any] = {}
_LOADS: Counter[str] = Counter()
_LOCK = threading.RLock()  # re-entrant: one loader may need another model


def get_or_load(kind: str, name: str, loader: Callable[[], T]) -> T:
    """Return the cached model for (kind, name), calling `loader` only the first time."""
    key = (kind, name)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = loader()
            _LOADS[kind] += 1
        return _MODELS[key]  # type: ignore[no-any-return]


def load_count(kind: str | None = None) -> int:
    """How many models (of one kind, or of every kind) this process has loaded so far."""
    if kind is None:
        return sum(_LOADS.values())
    return _LOADS[kind]
