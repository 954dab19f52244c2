"""Plain-data article signatures and story state, with the token and entity helpers they share."""

from __future__ import annotations

import base64
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tidings.models import Entity, Vector

# A handful of Spanish function words: the feeds mix English and Spanish outlets.
SPANISH_STOP_WORDS = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "de",
        "del",
        "al",
        "y",
        "o",
        "en",
        "por",
        "para",
        "con",
        "sin",
        "sobre",
        "que",
        "se",
        "su",
        "sus",
        "es",
        "son",
        "ha",
        "han",
        "como",
        "mas",
        "pero",
        "este",
        "esta",
        "estos",
        "estas",
        "ese",
        "esa",
        "lo",
        "le",
        "les",
        "ya",
        "muy",
    ]
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | SPANISH_STOP_WORDS | {"says", "said", "new", "live", "mocks"}
ENTITY_ARTICLES = frozenset({"the", "a", "an", "el", "la", "los", "las"})
STEM_LENGTH = 6  # crude language-agnostic stemming: "protesters"/"protests" share "protes"
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
# Body terms share the entity IDF window under this prefix; normalised entity keys never start with it.
TERM_PREFIX = "~"
# The most frequent content stems an article keeps (bounds signatures and the IDF window).
MAX_BODY_TERMS = 200
# A number as written: "2013", "52-3", "13:59", "1,200" (ordinals and numbers glued to words are left out).
_NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:[.,:/-]\d+)*(?!\w)")


def strip_accents(text: str) -> str:
    """Return text without combining accents, so "Adrián" and "Adrian" meet."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-free word tokens of a text."""
    return _WORD_RE.findall(strip_accents(text).lower())


def title_terms(title: str) -> set[str]:
    """Content-word stems of a headline (stop words and short tokens dropped)."""
    return {tok[:STEM_LENGTH] for tok in tokenize(title) if len(tok) > 2 and tok not in STOP_WORDS}


def body_terms(text: str, limit: int = MAX_BODY_TERMS) -> dict[str, int]:
    """Counts of a text's content-word stems, keyed with TERM_PREFIX: its `limit` most frequent ones."""
    # Interned: the IDF window keeps every recent article's terms, and one copy of each stem halves its memory
    # (1,500 BBC articles: 19.5 MB -> 10.1 MB).
    counts = Counter(
        sys.intern(TERM_PREFIX + tok[:STEM_LENGTH])
        for tok in tokenize(text)
        if len(tok) > 2 and tok not in STOP_WORDS and not tok.isdigit()
    )
    # Ties are broken by the term, so a signature does not depend on the order words first appear in.
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def idf_keys(entity_keys: Iterable[str], terms: Iterable[str]) -> set[str]:
    """The keys an article counts in the IDF window: its normalised entity keys and its body terms."""
    return set(entity_keys) | set(terms)


def distinctive_numbers(text: str) -> frozenset[str]:
    """The numbers of two or more characters a text mentions (years, scores, ages, tallies, times)."""
    found = (m.replace(",", "") for m in _NUMBER_RE.findall(text))
    # Single digits ("2 killed", "5 things") are too common to tell two events apart.
    return frozenset(n for n in found if len(n) >= 2)


def normalize_entity_key(key: str) -> str:
    """Collapse an entity key to a type-free form; people go by surname ("person:Theresa May" -> "may")."""
    kind, _, name = key.partition(":") if ":" in key else ("", "", key)
    tokens = tokenize(name)
    # "the European Parliament" and "European Parliament's" are one entity.
    while tokens and tokens[0] in ENTITY_ARTICLES:
        tokens = tokens[1:]
    while tokens and tokens[-1] == "s":
        tokens = tokens[:-1]
    slug = "-".join(tokens)
    if kind.lower() == "person" and "-" in slug:
        # News copy names a person in full once, then by surname: match on the surname.
        slug = slug.rsplit("-", 1)[1]
    return slug


def entity_counts_from(entities: Iterable[Entity] | Mapping[str, int] | Iterable[str]) -> dict[str, int]:
    """Normalised entity key -> mention count, from Entity objects, a key->count mapping or plain keys."""
    counts: dict[str, int] = {}
    if isinstance(entities, Mapping):
        pairs: Iterable[tuple[str, int]] = ((str(k), int(v)) for k, v in entities.items())
    else:
        pairs = ((e.key, e.count) if isinstance(e, Entity) else (str(e), 1) for e in entities)
    for key, count in pairs:
        norm = normalize_entity_key(key)
        if norm:
            counts[norm] = counts.get(norm, 0) + max(1, count)
    return counts


def as_utc(moment: datetime | None) -> datetime | None:
    """Return an aware UTC datetime (naive values are taken as UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def unit_vector(vec: Vector | None) -> Vector | None:
    """L2-normalise a float32 vector; None or a zero vector gives None."""
    if vec is None:
        return None
    arr = np.asarray(vec, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(arr))
    return None if norm == 0.0 or not np.isfinite(norm) else (arr / norm).astype(np.float32)


@dataclass
class ArticleSignature:
    """Everything clustering reads about one article (no text beyond the title; the body as stem counts)."""

    article_id: int
    title: str
    embedding: Vector | None = None
    entity_keys: dict[str, int] = field(default_factory=dict)  # normalised key -> count
    published_at: datetime | None = None
    source: str = ""
    fingerprint: bytes | None = None  # MinHash of the body, see neardup.text_fingerprint
    topics: list[str] = field(default_factory=list)
    ingested_at: datetime | None = None
    word_count: int = 0  # words in title + text (pair calibration by length); 0 when unknown
    numbers: frozenset[str] = frozenset()  # distinctive_numbers of title + text
    body_terms: dict[str, int] = field(default_factory=dict)  # body_terms of title + text

    def __post_init__(self) -> None:
        self.embedding = unit_vector(self.embedding)
        self.published_at = as_utc(self.published_at)
        self.ingested_at = as_utc(self.ingested_at)

    @property
    def event_time(self) -> datetime | None:
        """When the article happened: its date, clamped to ingest time when missing or in the future."""
        if self.published_at is None:
            return self.ingested_at
        if self.ingested_at is not None and self.published_at > self.ingested_at:
            return self.ingested_at
        return self.published_at

    @property
    def terms(self) -> set[str]:
        """Headline content stems."""
        return title_terms(self.title)

    @property
    def idf_keys(self) -> set[str]:
        """The keys this article counts in the IDF window (see idf_keys)."""
        return idf_keys(self.entity_keys, self.body_terms)


def _encode_vector(vec: Vector | None) -> str | None:
    return None if vec is None else base64.b64encode(np.asarray(vec, np.float32).tobytes()).decode("ascii")


def _decode_vector(text: str | None) -> Vector | None:
    return None if text is None else np.frombuffer(base64.b64decode(text), dtype=np.float32).copy()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass
class StoryState:
    """One story's running aggregate; every field is updatable incrementally and reversibly."""

    story_id: int
    vector_sum: Vector | None = None  # sum of member unit embeddings (centroid = its direction)
    embedded_count: int = 0
    entity_counts: dict[str, int] = field(default_factory=dict)  # normalised key -> members mentioning it
    term_counts: dict[str, int] = field(default_factory=dict)  # headline stem -> members using it
    number_counts: dict[str, int] = field(default_factory=dict)  # number -> members mentioning it
    source_counts: dict[str, int] = field(default_factory=dict)
    member_times: dict[int, datetime | None] = field(default_factory=dict)  # article id -> event time
    member_titles: dict[int, str] = field(default_factory=dict)

    @property
    def article_ids(self) -> list[int]:
        """Member article ids in insertion order."""
        return list(self.member_titles)

    @property
    def size(self) -> int:
        """Number of member articles."""
        return len(self.member_titles)

    @property
    def sources(self) -> list[str]:
        """Distinct sources, most articles first."""
        return [s for s, _ in sorted(self.source_counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    @property
    def centroid(self) -> Vector | None:
        """Unit vector of the members' mean embedding."""
        return unit_vector(self.vector_sum)

    @property
    def first_seen(self) -> datetime | None:
        """Earliest member time."""
        times = [t for t in self.member_times.values() if t is not None]
        return min(times) if times else None

    @property
    def last_updated(self) -> datetime | None:
        """Latest member time."""
        times = [t for t in self.member_times.values() if t is not None]
        return max(times) if times else None

    def headline(self) -> str:
        """The most central headline: the member title sharing most stems with the other members."""
        best_id, best_score = None, -1.0
        for aid, title in self.member_titles.items():
            terms = title_terms(title)
            score = sum(self.term_counts.get(t, 0) - 1 for t in terms) / (1 + len(terms)) ** 0.5
            if score > best_score:
                best_id, best_score = aid, score
        return "" if best_id is None else self.member_titles[best_id]

    def to_json(self) -> str:
        """Serialise to JSON (the vector sum is base64 float32 inside; see also packed_vector)."""
        data: dict[str, Any] = {
            "story_id": self.story_id,
            "vector_sum": _encode_vector(self.vector_sum),
            "embedded_count": self.embedded_count,
            "entity_counts": self.entity_counts,
            "term_counts": self.term_counts,
            "number_counts": self.number_counts,
            "source_counts": self.source_counts,
            "member_times": {str(k): _iso(v) for k, v in self.member_times.items()},
            "member_titles": {str(k): v for k, v in self.member_titles.items()},
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoryState:
        """Inverse of to_json."""
        data = json.loads(text)
        return cls(
            story_id=int(data["story_id"]),
            vector_sum=_decode_vector(data.get("vector_sum")),
            embedded_count=int(data.get("embedded_count", 0)),
            entity_counts={str(k): int(v) for k, v in data.get("entity_counts", {}).items()},
            term_counts={str(k): int(v) for k, v in data.get("term_counts", {}).items()},
            number_counts={str(k): int(v) for k, v in data.get("number_counts", {}).items()},
            source_counts={str(k): int(v) for k, v in data.get("source_counts", {}).items()},
            member_times={int(k): _from_iso(v) for k, v in data.get("member_times", {}).items()},
            member_titles={int(k): str(v) for k, v in data.get("member_titles", {}).items()},
        )

    def packed_vector(self) -> bytes:
        """The centroid as raw float32 bytes, for a vector column (empty when no member has an embedding)."""
        centroid = self.centroid
        return b"" if centroid is None else centroid.tobytes()
