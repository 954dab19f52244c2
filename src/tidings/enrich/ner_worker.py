"""Run spaCy NER in one long-lived worker process, so it uses the second core while MiniLM uses the first.

spaCy holds the GIL for most of its work, so a thread cannot overlap it with the embedding model; a process
can. The worker loads the pipeline once (the same components as the in-process path) and returns plain
(text, label, start) tuples. Any failure of the worker falls back to in-process NER for that batch, with one
warning, and the pool is rebuilt on the next call.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tidings.config import Settings

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_POOL: dict[str, ProcessPoolExecutor] = {}
_WORKER_NLP: dict[str, Any] = {}
MIN_TEXTS_FOR_WORKER = 4  # tiny batches are cheaper in-process than a round trip


def _worker_mentions(model: str, texts: list[str]) -> list[list[tuple[str, str, int]]]:
    """In the worker: NER mentions of each text, with the pipeline loaded on first use."""
    from tidings.enrich.entities import load_ner, raw_mentions

    nlp = _WORKER_NLP.get(model)
    if nlp is None:
        nlp = _WORKER_NLP[model] = load_ner(Settings(spacy_model=model))
    return raw_mentions(nlp, texts)


def _pool_for(model: str) -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOL.get(model)
        if pool is None:
            # spawn, not fork: the parent may already hold torch threads, which do not survive a fork.
            pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            _POOL[model] = pool
        return pool


def is_useful() -> bool:
    """A worker process only pays on a machine with a second core."""
    return (os.cpu_count() or 1) >= 2


def run(settings: Settings, texts: list[str]) -> list[list[tuple[str, str, int]]] | None:
    """NER mentions from the worker process, or None when the caller should run NER in-process."""
    if len(texts) < MIN_TEXTS_FOR_WORKER or not is_useful():
        return None
    try:
        return _pool_for(settings.spacy_model).submit(_worker_mentions, settings.spacy_model, texts).result()
    except Exception as exc:  # a dead or failing worker must not lose the batch
        log.warning("NER worker failed (%s); running NER in-process", exc)
        shutdown()
        return None


def shutdown() -> None:
    """Stop the worker processes (also at interpreter exit)."""
    with _LOCK:
        pools = list(_POOL.values())
        _POOL.clear()
    for pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown)
