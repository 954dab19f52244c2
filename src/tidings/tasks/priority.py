"""Lowering a worker's CPU priority, before anything starts a thread."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def lower_priority(nice: int) -> None:
    """Lower this process's CPU priority by `nice` (its later threads and NER process inherit it), if allowed.

    Linux ranks threads, not processes: a thread started before this call keeps its priority, and importing
    numpy or scikit-learn starts their math thread pools. So the worker calls this before importing them.
    """
    if nice > 0:
        try:
            os.nice(nice)
        except OSError as exc:  # some containers refuse any change; the worker still runs
            log.warning("could not lower the worker's CPU priority: %s", exc)
