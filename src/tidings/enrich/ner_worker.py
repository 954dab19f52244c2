"""Run spaCy NER in one long-lived worker process, so it uses the second core while MiniLM uses the first.

spaCy holds the GIL for most of its work, so a thread cannot overlap it with the embedding model; a process
can. The worker loads the pipeline once (the same components as the in-process path) and returns plain
(text, label, start) tuples. It loads nothing else: importing onnxruntime into the same process made spaCy's
NER about 30% slower here (measured with thread CPU time), so the embedding model stays in the parent.

Any failure of the worker falls back to in-process work for that batch, with one warning, and the pool is
rebuilt on the next call.
"""

from __future__ import annotations

import atexit
import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from tidings.config import Settings
from tidings.enrich.ner_model import load_ner, raw_mentions

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_POOL: dict[str, ProcessPoolExecutor] = {}
_WORKER_NLP: dict[str, Any] = {}
MIN_TEXTS_FOR_WORKER = 4  # tiny batches are cheaper in-process than a round trip
# One core is the worker's share: idle OpenMP/BLAS threads spinning between small products cost NER 25% CPU.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


Mentions = list[list[tuple[str, str, int]]]


def _worker_mentions(model: str, texts: list[str]) -> Mentions:
    """In the worker: NER mentions of each text, with the pipeline loaded on first use."""
    nlp = _WORKER_NLP.get(model)
    if nlp is None:
        nlp = _WORKER_NLP[model] = load_ner(Settings(spacy_model=model))
        gc.freeze()  # the model's objects live for the whole process: keep them out of every collection
    return raw_mentions(nlp, texts)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for a child process started inside the block, then restore them."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _environment_of_worker(names: list[str]) -> dict[str, str | None]:
    """Runs in the worker: the values it sees for some environment variables."""
    return {name: os.environ.get(name) for name in names}


def worker_environment(settings: Settings) -> dict[str, str | None]:
    """The thread-count variables as the worker process sees them (a diagnostic, and for tests)."""
    pool = _pool_for(settings.spacy_model)
    return pool.submit(_environment_of_worker, list(WORKER_ENV)).result()


def _follow_parent(parent: int) -> None:
    """Runs in the worker at its start: exit once the parent is gone.

    A parent killed with SIGKILL (a `tidings worker` under a supervisor's kill) cannot shut the pool down, and
    the worker, which otherwise waits for work for ever, would stay behind with its model in memory.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="tidings-ner-parent", daemon=True).start()


def _ready(model: str) -> bool:
    """Runs in the worker once, so that the process starts (and reads its environment) right away."""
    return bool(model)


def _pool_for(model: str) -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOL.get(model)
        if pool is None:
            # spawn, not fork: the parent may already hold torch threads, which do not survive a fork.
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
            with _environment(WORKER_ENV):  # the process is spawned by this first submit
                pool.submit(_ready, model).result()
            _POOL[model] = pool
        return pool


def is_useful() -> bool:
    """A worker process only pays on a machine with a second core."""
    return (os.cpu_count() or 1) >= 2


def submit(settings: Settings, texts: list[str]) -> Future[Mentions] | None:
    """Start NER of `texts` in the worker and return at once; None means "run NER in-process"."""
    if not settings.ner_process or len(texts) < MIN_TEXTS_FOR_WORKER or not is_useful():
        return None
    try:
        return _pool_for(settings.spacy_model).submit(_worker_mentions, settings.spacy_model, texts)
    except Exception as exc:
        log.warning("NER worker unavailable (%s); running NER in-process", exc)
        shutdown()
        return None


def collect(job: Future[Mentions] | None) -> Mentions | None:
    """The worker's mentions, or None when there was no job or the worker failed (then run in-process)."""
    if job is None:
        return None
    try:
        return job.result()
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
