"""Incremental candidate pools: fold new or changed articles into a built pool without rebuilding it."""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from tidings.rank.features import (
    Candidate,
    CandidatePool,
    normalise_key,
    normalise_source,
    to_timestamp,
    topic_slug,
)
from tidings.vocabulary import topic_key

# Columns that hold codes into a vocabulary, with the vocabulary's field; codes are remapped, not copied.
_CODED = {"source_codes": "source_names", "story_codes": "story_ids"}
_MATRICES = {"topic_matrix": "topic_names", "entity_matrix": "entity_keys"}
# Lookup tables derived from the columns: extended here rather than rebuilt by __post_init__.
_DERIVED = ("row_of_id", "topic_code_of", "entity_codes_of", "source_code_of", "story_code_of")
_SPECIAL = {"embeddings", "sketch", "projection", "entity_display", "is_sorted"}
IntArray = npt.NDArray[np.int64]


def _row_fields(pool: CandidatePool) -> list[str]:
    """Per-row fields that are gathered as they are: every list or array with one entry per article."""
    skip = set(_CODED) | set(_CODED.values()) | set(_MATRICES) | set(_MATRICES.values())
    skip |= set(_DERIVED) | _SPECIAL
    out = []
    for f in dataclasses.fields(pool):
        value = getattr(pool, f.name)
        if f.name not in skip and isinstance(value, list | np.ndarray) and len(value) == pool.size:
            out.append(f.name)
    return out


@dataclasses.dataclass
class _Plan:
    """Where each row of the merged pool comes from: base row `base_rows[i]` or fresh row `fresh_rows[j]`."""

    size: int
    from_base: npt.NDArray[np.bool_]  # per merged row
    base_rows: IntArray  # base row for each merged row taken from the base, in merged order (increasing)
    fresh_rows: IntArray  # fresh row for each merged row taken from the fresh pool, in merged order
    segments: list[tuple[bool, int, int, int]]  # runs (from base?, merged start, source start, length)

    @property
    def unmoved(self) -> int:
        """How many leading rows are the base's own rows in place (their row numbers do not change)."""
        if not self.segments or not self.segments[0][0] or self.segments[0][2] != 0:
            return 0
        return self.segments[0][3]

    @property
    def appends(self) -> bool:
        """Whether the merge only appends rows: every base row kept, in place, and some fresh ones after."""
        return (
            len(self.segments) > 1  # one base run alone appends nothing: the general copy below handles it
            and self.segments[0][:3] == (True, 0, 0)
            and all(not from_base for from_base, *_ in self.segments[1:])
        )

    def gather(self, base: Any, fresh: Any) -> Any:
        """One column of the merged pool, copied run by run (a few slice copies, not a row-by-row gather)."""
        if isinstance(base, list):
            out: list[Any] = []
            for from_base, _, start, length in self.segments:
                source = base if from_base else fresh
                if out or start:
                    out.extend(source[start : start + length])
                else:  # the first run: one slice copy, not a slice and then an extend
                    out = source[start : start + length]
            return out
        fresh = np.asarray(fresh, dtype=base.dtype)
        if self.appends and base.ndim == 2:  # the wide columns (embeddings, sketch) grow in place
            rows = np.concatenate([np.arange(start, start + n) for _, _, start, n in self.segments[1:]])
            return _appended(base, fresh[rows], self.segments[0][3])
        array = np.empty((self.size, *base.shape[1:]), dtype=base.dtype)
        for from_base, at, start, length in self.segments:
            array[at : at + length] = (base if from_base else fresh)[start : start + length]
        return array


# Spare capacity of the wide columns: an append writes into rows no pool sees yet instead of copying the
# column (150 MB of embeddings at 100k articles). Each buffer records how many rows the newest pool uses, so
# only the pool that ends there may grow into it; any other merge copies.
GROWTH = 1.25
_CLAIMED: dict[int, tuple[weakref.ref[npt.NDArray[Any]], int]] = {}  # id(buffer) -> (buffer, rows used)
_CLAIM_LOCK = threading.Lock()


def _rows_used(buffer: npt.NDArray[Any]) -> int | None:
    entry = _CLAIMED.get(id(buffer))
    return entry[1] if entry is not None and entry[0]() is buffer else None


def _claim(buffer: npt.NDArray[Any], rows: int) -> None:
    key = id(buffer)
    _CLAIMED[key] = (weakref.ref(buffer, lambda _: _CLAIMED.pop(key, None)), rows)


def _appended(base: npt.NDArray[Any], fresh: npt.NDArray[Any], kept: int) -> npt.NDArray[Any]:
    """`base` with `fresh` rows after its first `kept` rows (all of them), written into the spare rows of its
    buffer when it ends the buffer's used part, else into a new buffer with room to grow."""
    size = kept + len(fresh)
    buffer = base.base
    with _CLAIM_LOCK:
        in_place = (
            kept == len(base)
            and isinstance(buffer, np.ndarray)
            and buffer.flags.c_contiguous
            and base.flags.c_contiguous
            and buffer.shape[1:] == base.shape[1:]
            and buffer.shape[0] >= size
            and base.__array_interface__["data"][0] == buffer.__array_interface__["data"][0]
            and _rows_used(buffer) == len(base)
        )
        if not in_place:
            buffer = np.empty((max(size, int(size * GROWTH)), *base.shape[1:]), dtype=base.dtype)
            buffer[:kept] = base[:kept]
        assert isinstance(buffer, np.ndarray)
        buffer[kept:size] = fresh
        _claim(buffer, size)
    return buffer[:size]


def _plan(base: CandidatePool, add: CandidatePool, gone: set[str]) -> _Plan:
    """Keep base rows not in `gone`, add the fresh rows, in publication-time order when the base is sorted."""
    kept = np.ones(base.size, dtype=bool)
    kept[[base.row_of_id[a] for a in gone if a in base.row_of_id]] = False
    keep = np.flatnonzero(kept)
    stamps = np.concatenate([base.timestamps[keep], add.timestamps])
    order = np.arange(stamps.size, dtype=np.int64)
    if base.is_sorted and stamps.size > 1 and not bool(np.all(stamps[1:] >= stamps[:-1])):
        order = np.argsort(stamps, kind="stable")  # stable: base rows keep their order, and so do fresh ones
    from_base = order < keep.size
    source = order - keep.size  # fresh rows: their row in the fresh pool; base rows: their base row
    source[from_base] = keep[order[from_base]]
    breaks = np.flatnonzero((from_base[1:] != from_base[:-1]) | (np.diff(source) != 1)) + 1
    starts, ends = np.concatenate([[0], breaks]), np.concatenate([breaks, [order.size]])
    segments = (
        [(bool(from_base[s]), int(s), int(source[s]), int(e - s)) for s, e in zip(starts, ends, strict=True)]
        if order.size
        else []
    )
    return _Plan(
        size=int(stamps.size),
        from_base=from_base,
        base_rows=source[from_base],
        fresh_rows=source[~from_base],
        segments=segments,
    )


def _remap(
    names: Sequence[Any], into: list[Any], known: dict[str, int] | None = None
) -> npt.NDArray[np.int32]:
    """For each of `names`, its code in `into`, which grows with the names it lacks (`known`: an existing
    str(name) -> code index of `into`, copied rather than rebuilt)."""
    if known is not None:
        index = dict(known)
    else:
        index = {str(n): i for i, n in enumerate(into)} if len(names) else {}
    table = np.empty(len(names), dtype=np.int32)
    for i, name in enumerate(names):
        code = index.get(str(name))
        if code is None:
            code = index[str(name)] = len(into)
            into.append(name)
        table[i] = code
    return table


def _matrix(
    base: sparse.csr_array, add: sparse.csr_array, table: npt.NDArray[np.int32], plan: _Plan
) -> sparse.csr_array:
    """The 0/1 matrix of the merged pool, with the fresh matrix's columns moved to base codes."""
    width = max(base.shape[1], int(table.max()) + 1 if table.size else 1)
    fresh = add.tocoo()
    moved = sparse.csr_array((fresh.data, (fresh.row, table[fresh.col])), shape=(add.shape[0], width))
    kept = sparse.csr_array((base.data, base.indices, base.indptr), shape=(base.shape[0], width))
    stacked = sparse.csr_array(sparse.vstack([kept, moved], format="csr"))
    rows = np.empty(plan.size, dtype=np.int64)
    rows[plan.from_base] = plan.base_rows
    rows[~plan.from_base] = plan.fresh_rows + base.shape[0]
    return sparse.csr_array(stacked[rows])


def merge_pool(base: CandidatePool, fresh: Sequence[Candidate], drop: Collection[str | int]) -> CandidatePool:
    """A new pool: `base` less the articles in `drop` or in `fresh`, plus `fresh` (new or changed articles).

    Each column is read once and the base's vocabularies and lookup tables are extended, not rebuilt, so
    the cost is one copy of the columns plus O(len(fresh)). `base` is not modified: readers holding it keep
    a consistent pool.
    """
    same = {str(c.article_id) for c in fresh if unchanged(base, c)}  # re-read but equal: the base row stays
    add = CandidatePool.from_candidates([c for c in fresh if str(c.article_id) not in same])
    gone = ({str(a) for a in drop} - same) | {str(a) for a in add.article_ids}
    plan = _plan(base, add, gone)
    values: dict[str, Any] = {n: plan.gather(getattr(base, n), getattr(add, n)) for n in _row_fields(base)}
    for codes, vocab in _CODED.items():
        names = list(getattr(base, vocab))
        known = base.story_code_of if vocab == "story_ids" else None  # the largest vocabulary
        table = _remap(getattr(add, vocab), names, known)
        values[codes] = plan.gather(getattr(base, codes), table[getattr(add, codes)])
        values[vocab] = names
    for matrix, vocab in _MATRICES.items():
        names = list(getattr(base, vocab))
        table = _remap(getattr(add, vocab), names)
        values[matrix] = _matrix(getattr(base, matrix), getattr(add, matrix), table, plan)
        values[vocab] = names
    values["embeddings"] = _embeddings(base, add, plan)
    values["entity_display"] = {**add.entity_display, **base.entity_display}
    values["is_sorted"] = base.is_sorted
    values.update(_lookups(base, values, plan))
    merged = CandidatePool(**values)
    if base.sketch is not None and base.projection is not None and merged.embeddings is not None:
        fresh_rows = merged.embeddings[~plan.from_base]
        merged.sketch = plan.gather(base.sketch, (fresh_rows @ base.projection).astype(np.float32))
        merged.projection = base.projection
    return merged


def unchanged(pool: CandidatePool, candidate: Candidate) -> bool:
    """Whether the pool already holds this candidate exactly (ranked fields; popularity is kept apart)."""
    row = pool.row_of_id.get(str(candidate.article_id))
    if row is None:
        return False
    held = pool.candidate_at(row)
    vector = None  # the candidate's embedding as the pool would store it: unit length, float32
    if candidate.embedding is not None and candidate.embedding.shape[0] == pool.dim:
        raw = np.asarray(candidate.embedding, dtype=np.float32)
        norm = float(np.linalg.norm(raw))
        vector = raw / norm if norm > 0 else None
    same_vector = (held.embedding is None and vector is None) or (
        held.embedding is not None and vector is not None and np.array_equal(held.embedding, vector)
    )
    return same_vector and (
        held.title,
        str(held.story_id),
        held.source,
        sorted(set(held.topics)),
        sorted(set(held.entity_keys)),
        held.keywords,
        float(pool.timestamps[row]),
        held.dated,
        held.story_size,
        held.story_velocity,
    ) == (  # the candidate as from_candidates would store it
        candidate.title,
        str(candidate.story_id if candidate.story_id is not None else f"article:{candidate.article_id}"),
        candidate.source or "",
        sorted({topic_key(t) for t in candidate.topics}),
        sorted(set(candidate.entity_keys)),
        (candidate.keywords or candidate.title).lower(),
        to_timestamp(candidate.published_at),
        candidate.dated,
        candidate.story_size,
        candidate.story_velocity,
    )


def _embeddings(base: CandidatePool, add: CandidatePool, plan: _Plan) -> npt.NDArray[np.float32] | None:
    """Merged embedding rows; zero rows where an article has none or one of another dimension."""
    if base.embeddings is None and add.embeddings is None:
        return None
    dim = base.dim or add.dim
    ours = base.embeddings if base.embeddings is not None else np.zeros((base.size, dim), np.float32)
    theirs = add.embeddings if add.embeddings is not None and add.dim == dim else None
    return plan.gather(ours, theirs if theirs is not None else np.zeros((add.size, dim), np.float32))


def _row_index(base: CandidatePool, ids: Sequence[str | int], plan: _Plan) -> dict[str, int]:
    """str(article id) -> merged row. Rows before the first change keep their numbers, so the base's table is
    copied (one C-level copy) and only the rows from there on are written: new articles are the newest, so
    that is a handful of rows rather than a 100,000-entry rebuild."""
    kept = plan.unmoved
    if kept < base.size // 2:
        return dict(zip(map(str, ids), range(len(ids)), strict=True))
    index = dict(base.row_of_id)
    moved = dict(zip(map(str, ids[kept:]), range(kept, len(ids)), strict=True))
    # Only rows that left are deleted: a deletion leaves a dummy slot, and the next merge copies a dict with
    # dummies key by key (0.36 s at 1,000,000 rows here, against 0.06 s for a clean one).
    for key in {str(a) for a in base.article_ids[kept:]} - moved.keys():
        del index[key]
    index.update(moved)
    return index


def _lookups(base: CandidatePool, values: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    """The base's lookup tables extended with the new vocabulary entries (row ids rebuilt when rows moved)."""
    topics: list[str] = values["topic_names"]
    sources: list[str] = values["source_names"]
    stories: list[Any] = values["story_ids"]
    entities: list[str] = values["entity_keys"]
    topic_code_of = dict(base.topic_code_of)
    new_topics = enumerate(topics[len(base.topic_names) :], start=len(base.topic_names))
    topic_code_of.update({topic_slug(t): i for i, t in new_topics})
    source_code_of = dict(base.source_code_of)
    new_sources = enumerate(sources[len(base.source_names) :], start=len(base.source_names))
    source_code_of.update({normalise_source(s): i for i, s in new_sources})
    story_code_of = dict(base.story_code_of)
    new_stories = enumerate(stories[len(base.story_ids) :], start=len(base.story_ids))
    story_code_of.update({str(s): i for i, s in new_stories})
    entity_codes_of = dict(base.entity_codes_of)
    display = values["entity_display"]
    for code in range(len(base.entity_keys), len(entities)):
        key = entities[code]
        aliases = {key, key.lower(), normalise_key(key.split(":", 1)[-1])}
        if display.get(key):
            aliases.add(normalise_key(display[key]))
        for alias in aliases:
            entity_codes_of[alias] = [*entity_codes_of.get(alias, []), code]  # a new list: the base's stays
    return {
        "row_of_id": _row_index(base, values["article_ids"], plan),
        "topic_code_of": topic_code_of,
        "source_code_of": source_code_of,
        "story_code_of": story_code_of,
        "entity_codes_of": entity_codes_of,
    }
