"""Ranking inputs: the `Candidate` record and the columnar `CandidatePool` built once for fast feeds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import sparse
from threadpoolctl import ThreadpoolController

from tidings.rank.persistent import LayeredIndex, chunked, layered
from tidings.rank.pool_buffers import Spare
from tidings.vocabulary import topic_key

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Rows = slice | npt.NDArray[np.int64]

_NON_WORD = re.compile(r"[^0-9a-z]+")
SKETCH_MIN_ROWS = 50_000
SKETCH_DIMS = 64


def normalise_key(text: str) -> str:
    """Fold a topic, entity or keyword name to a comparable slug ("Kim Jong-un" -> "kim-jong-un")."""
    return _NON_WORD.sub("-", text.lower()).strip("-")


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def top_directions(sample: FloatArray, dims: int) -> FloatArray:
    """The sample's top `dims` right singular vectors as a (d, dims) matrix, from the eigenvectors of its
    d x d Gram matrix (a tenth of the cost of an SVD of the sample; the same directions), each signed so
    that its largest component is positive."""
    values, vectors = np.linalg.eigh(sample.T.astype(np.float64) @ sample.astype(np.float64))
    top = vectors[:, np.argsort(-values, kind="stable")[:dims]]
    signs = np.sign(top[np.abs(top).argmax(axis=0), np.arange(top.shape[1])])
    return np.ascontiguousarray((top * np.where(signs == 0, 1.0, signs)).astype(np.float32))


@lru_cache(maxsize=4096)
def topic_slug(name: str) -> str:
    """The comparable form of a topic's key: case and synonyms folded ("politics", "Politics and
    conflicts" and "Politics" are one topic)."""
    return normalise_key(topic_key(name))


@lru_cache(maxsize=4096)
def normalise_source(text: str) -> str:
    """Fold a source name or domain ("www.SCMP.com" -> "scmp.com")."""
    folded = text.strip().lower()
    return folded[4:] if folded.startswith("www.") else folded


def to_timestamp(when: datetime | None) -> float:
    """Seconds since the epoch; naive datetimes are taken as UTC, None as the epoch itself."""
    if when is None:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


@dataclass
class Candidate:
    """One article the ranker may show, with the metadata the features need."""

    article_id: str | int
    story_id: str | int | None
    title: str
    source: str
    topics: list[str] = field(default_factory=list)
    entity_keys: list[str] = field(default_factory=list)
    keywords: str = ""  # title + lead, lower-cased, for whole-word keyword mutes
    published_at: datetime | None = None
    dated: bool = True  # False when the publisher gave no date (published_at is then the ingest time)
    embedding: FloatArray | None = None  # unit float32 vector
    story_size: int = 1  # sources covering the story
    story_velocity: float = 0.0  # story articles in the last few hours
    popularity: float = 0.0  # earlier clicks and likes
    entity_names: list[str] = field(default_factory=list)  # display names, optional (for follows by name)


def _csr_from_lists(lists: Sequence[Sequence[int]], width: int) -> sparse.csr_array:
    """A 0/1 article-by-vocabulary matrix from per-article code lists (duplicates collapsed)."""
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    flat: list[int] = []
    for i, codes in enumerate(lists):
        unique = sorted(set(codes))
        flat.extend(unique)
        indptr[i + 1] = len(flat)
    indices = np.asarray(flat, dtype=np.int32)
    data = np.ones(len(flat), dtype=np.float32)
    return sparse.csr_array((data, indices, indptr), shape=(len(lists), max(width, 1)))


class _Vocab:
    """A growing string -> code table."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.codes: dict[str, int] = {}

    def code(self, name: str) -> int:
        """The code for name, added when new."""
        found = self.codes.get(name)
        if found is None:
            found = len(self.names)
            self.codes[name] = found
            self.names.append(name)
        return found


@dataclass
class CandidatePool:
    """Columnar candidates: one row per article, sorted by publication time when `is_sorted`."""

    article_ids: Sequence[str | int]  # these four lists are ChunkedLists, which merged pools share
    titles: Sequence[str]
    keywords: Sequence[str]
    timestamps: npt.NDArray[np.float64]
    embeddings: FloatArray | None  # (n, d) unit rows; zero rows for articles without one
    source_codes: npt.NDArray[np.int32]
    source_names: list[str]
    story_codes: npt.NDArray[np.int32]
    story_ids: Sequence[str | int | None]
    story_size: FloatArray
    story_velocity: FloatArray
    popularity: FloatArray
    topic_matrix: sparse.csr_array  # (n, T) 0/1
    topic_names: list[str]
    entity_matrix: sparse.csr_array  # (n, E) 0/1
    entity_keys: list[str]
    entity_display: dict[str, str] = field(default_factory=dict)  # entity key -> display name
    is_sorted: bool = True
    row_of_id: Mapping[str, int] = field(default_factory=dict)  # a LayeredIndex once made
    topic_code_of: dict[str, int] = field(default_factory=dict)  # normalised topic -> code
    entity_codes_of: dict[str, list[int]] = field(default_factory=dict)  # key or alias -> codes
    source_code_of: dict[str, int] = field(default_factory=dict)  # normalised source -> code
    story_code_of: Mapping[str, int] = field(default_factory=dict)  # str(story id) -> code; a LayeredIndex
    sketch: FloatArray | None = None  # (n, k) low-dimensional projection for the first ranking stage
    projection: FloatArray | None = None  # (d, k) maps full embeddings into the sketch space
    undated: npt.NDArray[np.bool_] | None = None  # rows without a publisher's date (no freshness bonus)

    def __post_init__(self) -> None:
        self._topics_memo: dict[int, list[str]] = {}  # not a field: a merged pool starts its own
        # (the memo of the pool this one was merged from, the rows it is valid for, the rows that changed)
        self._topics_inherited: tuple[dict[int, list[str]], int, frozenset[int]] | None = None
        # Wide column name -> an older pool's buffer that a merge may reuse (see rank/pool_buffers.py).
        self.spares: dict[str, Spare] = {}
        # vocabulary field -> {str(name): code}, kept by merges so that the next one extends, not rebuilds
        self.vocab_index: dict[str, LayeredIndex] = {}
        self.article_ids, self.titles = chunked(self.article_ids), chunked(self.titles)
        self.keywords, self.story_ids = chunked(self.keywords), chunked(self.story_ids)
        self.row_of_id = (
            layered(self.row_of_id)
            if self.row_of_id
            else LayeredIndex({str(a): i for i, a in enumerate(self.article_ids)})
        )
        if not self.topic_code_of:
            self.topic_code_of = {topic_slug(t): i for i, t in enumerate(self.topic_names)}
        if not self.source_code_of:
            self.source_code_of = {normalise_source(s): i for i, s in enumerate(self.source_names)}
        self.story_code_of = (
            layered(self.story_code_of)
            if self.story_code_of
            else LayeredIndex({str(s): i for i, s in enumerate(self.story_ids)})
        )
        if not self.entity_codes_of:
            self._index_entities()

    def _index_entities(self) -> None:
        """Let follows and mutes name an entity by its key, its slug or its display name."""
        index: dict[str, list[int]] = {}
        for code, key in enumerate(self.entity_keys):
            aliases = {key, key.lower(), normalise_key(key.split(":", 1)[-1])}
            display = self.entity_display.get(key)
            if display:
                aliases.add(normalise_key(display))
            for alias in aliases:
                index.setdefault(alias, []).append(code)
        self.entity_codes_of = index

    @property
    def size(self) -> int:
        """Number of articles."""
        return len(self.article_ids)

    @property
    def dim(self) -> int:
        """Embedding dimension (0 when no article has an embedding)."""
        return 0 if self.embeddings is None else int(self.embeddings.shape[1])

    def ensure_sketch(self, min_rows: int = SKETCH_MIN_ROWS, dims: int = SKETCH_DIMS) -> None:
        """Project embeddings onto their top singular directions once, for a cheap first-stage similarity.

        At 1M articles the full matrix no longer fits in cache and a window matmul is memory-bound; the
        sketch reads a sixth of the bytes. Final scores always use the full embeddings.
        """
        if self.sketch is not None or self.embeddings is None or self.size < min_rows or self.dim <= dims:
            return
        rng = np.random.default_rng(0)
        sample = self.embeddings[rng.choice(self.size, size=min(20_000, self.size), replace=False)]
        with _blas().limit(limits=1, user_api="blas"):  # threads spinning on a busy server cost 10x
            projection = top_directions(sample, dims)
        sketch = np.empty((self.size, dims), dtype=np.float32)
        for start in range(0, self.size, 100_000):
            stop = min(start + 100_000, self.size)
            sketch[start:stop] = self.embeddings[start:stop] @ projection
        self.sketch, self.projection = sketch, projection

    def window(self, start: float, end: float) -> slice:
        """Rows published in [start, end] (needs a sorted pool)."""
        if not self.is_sorted:
            raise ValueError("window() needs a pool sorted by publication time")
        lo = int(np.searchsorted(self.timestamps, start, side="left"))
        hi = int(np.searchsorted(self.timestamps, end, side="right"))
        return slice(lo, hi)

    def topics_of(self, row: int) -> list[str]:
        """Topic names of one article (remembered per row: each feed asks for hundreds of rows, and a pool's
        rows never change, an update builds a new pool)."""
        known = self._topics_memo.get(row)
        if known is None:
            inherited = self._topics_inherited
            if inherited is not None and row < inherited[1] and row not in inherited[2]:
                known = inherited[0].get(row)
            if known is None:
                m = self.topic_matrix
                known = [self.topic_names[c] for c in m.indices[m.indptr[row] : m.indptr[row + 1]]]
            self._topics_memo[row] = known
        return list(known)

    def keep_topics_of(self, base: CandidatePool, rows: int, changed: Iterable[int]) -> None:
        """Take over the topic names `base` remembers for its first `rows` rows, less the `changed` ones: a
        merged pool holds the same articles there, and its first feed would otherwise look them all up. They
        are read from the base's memo when asked for: copied at each fold, the memo grew with every row ever
        looked up, and the copy held the interpreter lock (9% of a web process's samples at 1,000,000
        articles with a batch every 2 s)."""
        self._topics_inherited = (base._topics_memo, rows, frozenset(changed))

    def entities_of(self, row: int) -> list[str]:
        """Entity keys of one article."""
        m = self.entity_matrix
        return [self.entity_keys[c] for c in m.indices[m.indptr[row] : m.indptr[row + 1]]]

    def entity_label(self, key: str) -> str:
        """A display name for an entity key."""
        return self.entity_display.get(key) or key.split(":", 1)[-1].replace("-", " ").title()

    def candidate_at(self, row: int) -> Candidate:
        """Rebuild the `Candidate` record of one row (for profile updates and tests)."""
        emb = None if self.embeddings is None else self.embeddings[row]
        if emb is not None and not np.any(emb):
            emb = None
        return Candidate(
            article_id=self.article_ids[row],
            story_id=self.story_ids[int(self.story_codes[row])],
            title=self.titles[row],
            source=self.source_names[int(self.source_codes[row])],
            topics=self.topics_of(row),
            entity_keys=self.entities_of(row),
            keywords=self.keywords[row],
            published_at=datetime.fromtimestamp(float(self.timestamps[row]), tz=UTC),
            dated=self.undated is None or not bool(self.undated[row]),
            embedding=emb,
            story_size=int(self.story_size[row]),
            story_velocity=float(self.story_velocity[row]),
            popularity=float(self.popularity[row]),
        )

    @classmethod
    def from_candidates(cls, candidates: Sequence[Candidate], sort: bool = True) -> CandidatePool:
        """Build the columnar pool from candidate records (sorted by publication time by default)."""
        items = list(candidates)
        stamps = np.array([to_timestamp(c.published_at) for c in items], dtype=np.float64)
        if sort:
            order = np.argsort(stamps, kind="stable")
            items = [items[i] for i in order]
            stamps = stamps[order]
        sources, stories, topics, entities = _Vocab(), _Vocab(), _Vocab(), _Vocab()
        story_ids: list[str | int | None] = []
        display: dict[str, str] = {}
        story_codes = []
        for c in items:
            # Articles without a story form a story of their own.
            sid = c.story_id if c.story_id is not None else f"article:{c.article_id}"
            before = len(stories.names)
            story_codes.append(stories.code(str(sid)))
            if len(stories.names) > before:
                story_ids.append(c.story_id if c.story_id is not None else sid)
            for key, name in zip(c.entity_keys, c.entity_names, strict=False):
                display.setdefault(key, name)
        topic_lists = [[topics.code(topic_key(t)) for t in c.topics] for c in items]
        entity_lists = [[entities.code(k) for k in c.entity_keys] for c in items]
        return cls(
            article_ids=[c.article_id for c in items],
            titles=[c.title for c in items],
            keywords=[(c.keywords or c.title).lower() for c in items],
            timestamps=stamps,
            embeddings=_stack_embeddings(items),
            source_codes=np.array([sources.code(c.source or "") for c in items], dtype=np.int32),
            source_names=sources.names,
            story_codes=np.array(story_codes, dtype=np.int32),
            story_ids=story_ids,
            story_size=np.array([max(1, c.story_size) for c in items], dtype=np.float32),
            story_velocity=np.array([c.story_velocity for c in items], dtype=np.float32),
            popularity=np.array([c.popularity for c in items], dtype=np.float32),
            topic_matrix=_csr_from_lists(topic_lists, len(topics.names)),
            topic_names=topics.names,
            entity_matrix=_csr_from_lists(entity_lists, len(entities.names)),
            entity_keys=entities.names,
            entity_display=display,
            is_sorted=sort,
            undated=np.array([not c.dated for c in items], dtype=bool),
        )


def _stack_embeddings(items: Sequence[Candidate]) -> FloatArray | None:
    """An (n, d) float32 matrix, zero rows where an article has no (or a mismatched) embedding."""
    dims = [c.embedding.shape[0] for c in items if c.embedding is not None]
    if not dims:
        return None
    dim = max(set(dims), key=dims.count)
    out = np.zeros((len(items), dim), dtype=np.float32)
    for i, c in enumerate(items):
        if c.embedding is not None and c.embedding.shape[0] == dim:
            vec = np.asarray(c.embedding, dtype=np.float32)
            norm = float(np.linalg.norm(vec))
            if norm > 0:
                out[i] = vec / norm
    return out
