"""Immutable per-row lists and lookup tables that a merged candidate pool shares with the pool it came from.

At 1,000,000 articles a fold that copied the pool's title, keyword and id lists and its row index held the
interpreter lock for about 75 ms, and the feed requests of that moment waited for it. These structures make
such a copy cost what changed:
- `ChunkedList` stores items in fixed-size chunks; a new version shares every chunk it does not change.
- `LayeredIndex` is a large table that is never changed plus a small top layer of the entries changed since;
  the top layer is folded into a new base only when it grows past a share of it.
Neither is ever changed once made, so readers holding an older pool keep a consistent one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

SHIFT = 10
CHUNK = 1 << SHIFT  # items per chunk: a changed item copies a chunk; a version, size/CHUNK pointers
MASK = CHUNK - 1
FLATTEN_MIN = 4096  # entries the top layer may always hold before it is folded into the base
FLATTEN_SHARE = 32  # ... or 1/32 of the base: a copy of it every few hundred folds instead of at every one


class ChunkedList(Sequence[T], Generic[T]):
    """An immutable list in chunks of `CHUNK` items, every chunk but the last full."""

    __slots__ = ("_chunks", "_size")

    def __init__(self, items: Iterable[T] = ()) -> None:
        flat = list(items)
        self._chunks: list[list[T]] = [flat[i : i + CHUNK] for i in range(0, len(flat), CHUNK)]
        self._size = len(flat)

    @classmethod
    def _of(cls, chunks: list[list[T]], size: int) -> ChunkedList[T]:
        made: ChunkedList[T] = cls.__new__(cls)
        made._chunks, made._size = chunks, size
        return made

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return self._slice(index)
        if index < 0:
            index += self._size
            if index < 0:
                raise IndexError("ChunkedList index out of range")
        # Every chunk but the last is full: an index past the end fails in the chunk list or the last chunk.
        return self._chunks[index >> SHIFT][index & MASK]

    def _slice(self, which: slice) -> list[T]:
        start, stop, step = which.indices(self._size)
        if step != 1:
            return [self[i] for i in range(start, stop, step)]
        out: list[T] = []
        while start < stop:
            offset = start & MASK
            take = min(CHUNK - offset, stop - start)
            out.extend(self._chunks[start >> SHIFT][offset : offset + take])
            start += take
        return out

    def __iter__(self) -> Iterator[T]:
        return chain.from_iterable(self._chunks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequences are not hashable

    def __repr__(self) -> str:
        return f"ChunkedList({list(self)!r})"

    def spliced(self, keep: int, tail: Sequence[T], patches: Mapping[int, T]) -> ChunkedList[T]:
        """A new list: this one's first `keep` items, with `patches` (index -> item, below `keep`) put in
        their places, then `tail`. Chunks before `keep` that no patch touches are shared, not copied."""
        whole = keep >> SHIFT
        chunks = self._chunks[:whole]
        start = whole << SHIFT
        rest = self._chunks[whole][: keep - start] if keep > start else []
        for index, item in patches.items():
            if index >= start:
                rest[index - start] = item
                continue
            at = index >> SHIFT
            if chunks[at] is self._chunks[at]:  # copy on the first write: readers of this list keep theirs
                chunks[at] = list(chunks[at])
            chunks[at][index & MASK] = item
        rest.extend(tail)
        chunks.extend(rest[i : i + CHUNK] for i in range(0, len(rest), CHUNK))
        return ChunkedList._of(chunks, keep + len(tail))

    def extended(self, items: Sequence[T]) -> ChunkedList[T]:
        """This list with `items` after it (only the last chunk is copied)."""
        return self.spliced(self._size, items, {}) if items else self


def chunked(items: Sequence[T]) -> ChunkedList[T]:
    """`items` as a ChunkedList (itself when it is one)."""
    return items if isinstance(items, ChunkedList) else ChunkedList(items)


class LayeredIndex(Mapping[str, int]):
    """An immutable str -> int table (values are never negative): a base that is never changed, and a top
    layer of later changes, where -1 marks a removed key."""

    __slots__ = ("_base", "_size", "_top")

    def __init__(self, base: dict[str, int] | None = None) -> None:
        self._base: dict[str, int] = base if base is not None else {}
        self._top: dict[str, int] = {}
        self._size = len(self._base)

    def get(self, key: str, default: Any = None) -> Any:
        """The value for `key`, or `default`."""
        value = self._top.get(key)
        if value is None:
            value = self._base.get(key)
        return default if value is None or value < 0 else value

    def __getitem__(self, key: str) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return int(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        top = self._top
        for key, value in self._base.items():
            if value >= 0 and key not in top:
                yield key
        for key, value in top.items():
            if value >= 0:
                yield key

    def updated(self, changes: Mapping[str, int], removed: Iterable[str] = ()) -> LayeredIndex:
        """A new index with `changes` set and the `removed` keys (not also in `changes`) taken out."""
        top = dict(self._top)
        size = self._size
        for key in removed:
            if key not in changes and self.get(key) is not None:
                top[key] = -1
                size -= 1
        for key, value in changes.items():
            size += self.get(key) is None
            top[key] = value
        made = LayeredIndex.__new__(LayeredIndex)
        made._base, made._top, made._size = self._base, top, size
        if len(top) > max(FLATTEN_MIN, len(self._base) // FLATTEN_SHARE):
            made._flatten()
        return made

    def _flatten(self) -> None:
        """Fold the top layer into a new base. Removed keys stay as -1 entries: deleting from a dict leaves
        slots that make every later copy of it go key by key (six times slower at 1,000,000 entries)."""
        base = dict(self._base)
        base.update(self._top)
        if len(base) > 2 * self._size + FLATTEN_MIN:  # mostly removed keys by now: rebuild without them
            base = {key: value for key, value in base.items() if value >= 0}
        self._base, self._top = base, {}


def layered(table: Mapping[str, int]) -> LayeredIndex:
    """`table` as a LayeredIndex (itself when it is one)."""
    return table if isinstance(table, LayeredIndex) else LayeredIndex(dict(table))
