"""The wide columns of a candidate pool (embeddings, sketch) across merges: grown in place, or recycled.

At 1,000,000 articles the embedding column is 1.5 GB, so a merge must not copy it. Two cases avoid the copy:
- an append (the new rows are the newest): the rows go into spare capacity at the end of the buffer, which no
  older pool sees;
- a merge that renumbers only the last rows (an article published a little before the newest ones, as when
  feeds are fetched in turn): the rows from the first change on are written into the buffer of an older pool
  that nothing uses any more, whose leading rows already hold the same vectors.
Any other merge copies the column into a new buffer.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
Segment = tuple[bool, int, int, int]  # (from base?, merged start, source start, length)

# Spare capacity of the wide columns: an append writes into rows no pool sees yet instead of copying the
# column (150 MB of embeddings at 100k articles). Each buffer records how many rows the newest pool uses, so
# only the pool that ends there may grow into it; any other merge copies.
GROWTH = 1.25
_CLAIMED: dict[int, tuple[weakref.ref[Array], int]] = {}  # id(buffer) -> (buffer, rows used)
_CLAIM_LOCK = threading.Lock()


class Spare:
    """The buffer of an older pool's column, kept for reuse: its first `agree` rows equal the newer pool's.

    One Spare may be shared by several pools of one line (an append passes it on); whoever reuses the buffer
    takes it, so that no other pool counts on its rows again.
    """

    def __init__(self, buffer: Array, agree: int) -> None:
        self.buffer: Array | None = buffer
        self.agree = agree

    def take(self, rows: int, like: Array) -> Array | None:
        """The buffer, if it can hold `rows` rows shaped like `like` and nothing else refers to it."""
        with _CLAIM_LOCK:
            buffer = self.buffer
            if (
                buffer is None
                or buffer.shape[0] < rows
                or buffer.shape[1:] != like.shape[1:]
                or buffer.dtype != like.dtype
                or not buffer.flags.c_contiguous
            ):
                return None
            # CPython counts the references: this local, getrefcount's argument and the attribute. A pool
            # or a request still holding a view of the buffer adds one, and then its rows must stay.
            if sys.getrefcount(buffer) > 3:
                return None
            self.buffer = None
            return buffer


def _rows_used(buffer: Array) -> int | None:
    entry = _CLAIMED.get(id(buffer))
    return entry[1] if entry is not None and entry[0]() is buffer else None


def _claim(buffer: Array, rows: int) -> None:
    key = id(buffer)
    _CLAIMED[key] = (weakref.ref(buffer, lambda _: _CLAIMED.pop(key, None)), rows)


def _owner(column: Array) -> Array | None:
    """The buffer a column is the leading rows of (itself when it owns its memory), else None."""
    owner = column.base if isinstance(column.base, np.ndarray) else column
    starts_there = owner.__array_interface__["data"][0] == column.__array_interface__["data"][0]
    if not (starts_there and owner.flags.c_contiguous and column.flags.c_contiguous):
        return None
    return owner if owner.shape[1:] == column.shape[1:] else None


def _new_buffer(rows: int, like: Array) -> Array:
    return np.empty((max(rows, int(rows * GROWTH)), *like.shape[1:]), dtype=like.dtype)


def appended(base: Array, fresh: Array) -> Array:
    """`base` with `fresh` rows after it, written into the spare rows of its buffer when it ends the buffer's
    used part, else into a new buffer with room to grow."""
    kept, size = len(base), len(base) + len(fresh)
    with _CLAIM_LOCK:
        buffer = _owner(base)
        if buffer is None or buffer.shape[0] < size or _rows_used(buffer) != kept:
            buffer = _new_buffer(size, base)
            buffer[:kept] = base
        buffer[kept:size] = fresh
        _claim(buffer, size)
    return buffer[:size]


def merged_column(
    base: Array,
    fresh: Array,
    segments: Sequence[Segment],
    unmoved: int,
    kept: bool,
    spare: Spare | None,
) -> tuple[Array, Spare | None]:
    """The merged pool's column, and the spare that pool keeps.

    `segments` say where each run of merged rows comes from. The first `unmoved` merged rows hold the base's
    articles of the same row number: the base's rows, or fresh rows of articles re-read in place, whose
    vectors equal the base's when `kept`."""
    size = sum(length for *_, length in segments)
    if kept and unmoved == len(base):  # the base's rows stay as they are: share them, append the rest
        tail = [
            fresh[source + max(unmoved - at, 0) : source + length]
            for from_base, at, source, length in segments
            if not from_base and at + length > unmoved
        ]
        return (appended(base, np.concatenate(tail)) if tail else base), spare
    buffer = spare.take(size, base) if spare is not None else None
    start = min(spare.agree, unmoved) if buffer is not None and spare is not None else 0
    if buffer is None:
        buffer = _new_buffer(size, base)
    for from_base, at, source, length in segments:
        lo = max(at, start)
        if not from_base and at < start:  # re-read in place below the rows written: its vector may differ
            buffer[at : at + length] = fresh[source : source + length]
        elif lo < at + length:
            buffer[lo : at + length] = (base if from_base else fresh)[source + lo - at : source + length]
    with _CLAIM_LOCK:
        _claim(buffer, size)
    same = unmoved if kept else next((at for f, at, _, _ in segments if not f and at < unmoved), unmoved)
    owner = _owner(base)
    return buffer[:size], (Spare(owner, same) if owner is not None else None)
