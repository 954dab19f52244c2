"""Near-duplicate detection: MinHash over word shingles, for syndicated copies and lightly edited rewrites."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

from tidings.stories.signature import ArticleSignature, tokenize

NUM_PERM = 64
SHINGLE_WORDS = 3
MIN_TOKENS = 12  # below this a text is too short to fingerprint reliably
DUPLICATE_JACCARD = 0.6  # estimated shingle Jaccard at which two texts are one article
SCHEME = "affine32"  # 32-bit hash values: pinned so stored fingerprints survive library upgrades
_SEED = 7  # fixed so stored fingerprints stay comparable across processes


def shingles(text: str, width: int = SHINGLE_WORDS) -> set[bytes]:
    """Word n-gram shingles of a text, as UTF-8 bytes."""
    tokens = tokenize(text)
    if len(tokens) < width:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + width]).encode() for i in range(len(tokens) - width + 1)}


def _minhash(items: Iterable[bytes]) -> MinHash:
    mh = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=SCHEME)
    mh.update_batch(list(items))
    return mh


def text_fingerprint(text: str) -> bytes | None:
    """A compact MinHash fingerprint (NUM_PERM uint32 = 256 bytes) of a text; None when it is too short."""
    if len(tokenize(text)) < MIN_TOKENS:
        return None
    # The affine32 scheme yields uint32 values, so the bytes are lossless.
    return _minhash(shingles(text)).hashvalues.astype(np.uint32).tobytes()


def _values(fingerprint: bytes) -> np.ndarray:
    return np.frombuffer(fingerprint, dtype=np.uint32)


def fingerprint_similarity(a: bytes | None, b: bytes | None) -> float:
    """Estimated shingle Jaccard similarity of two fingerprints (0 when either is missing)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return float(np.mean(_values(a) == _values(b)))


def is_near_duplicate(a: ArticleSignature, b: ArticleSignature, threshold: float = DUPLICATE_JACCARD) -> bool:
    """Whether two articles are copies of one another (same text, or same headline when both lack text)."""
    if a.fingerprint and b.fingerprint:
        return fingerprint_similarity(a.fingerprint, b.fingerprint) >= threshold
    title_a, title_b = tokenize(a.title), tokenize(b.title)
    # Without bodies only a verbatim, non-trivial headline shows a copy.
    return not a.fingerprint and not b.fingerprint and len(title_a) >= 4 and title_a == title_b


def near_duplicate_of(
    sig: ArticleSignature, recent: Sequence[ArticleSignature], threshold: float = DUPLICATE_JACCARD
) -> int | None:
    """The article id in `recent` that `sig` duplicates (most similar wins), or None."""
    best_id, best_sim = None, -1.0
    for other in recent:
        if other.article_id == sig.article_id or not is_near_duplicate(sig, other, threshold):
            continue
        sim = fingerprint_similarity(sig.fingerprint, other.fingerprint)
        if sim > best_sim:
            best_id, best_sim = other.article_id, sim
    return best_id


class NearDupIndex:
    """LSH over fingerprints: a new article is checked against many stored ones in sub-linear time."""

    def __init__(self, threshold: float = DUPLICATE_JACCARD) -> None:
        self.threshold = threshold
        # Band for a lower Jaccard than we accept, so borderline copies are found and then verified exactly.
        self._lsh = MinHashLSH(threshold=max(0.3, threshold - 0.2), num_perm=NUM_PERM)
        self._fingerprints: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._fingerprints)

    def _as_minhash(self, fingerprint: bytes) -> MinHash:
        return MinHash(num_perm=NUM_PERM, seed=_SEED, hashvalues=_values(fingerprint), scheme=SCHEME)

    def add(self, article_id: int, fingerprint: bytes | None) -> None:
        """Index one article's fingerprint (replacing an older one for the same id)."""
        if fingerprint is None:
            return
        self.remove(article_id)
        self._lsh.insert(article_id, self._as_minhash(fingerprint))
        self._fingerprints[article_id] = fingerprint

    def remove(self, article_id: int) -> None:
        """Forget one article."""
        if self._fingerprints.pop(article_id, None) is not None:
            self._lsh.remove(article_id)

    def find(self, fingerprint: bytes | None, exclude: int | None = None) -> int | None:
        """The indexed article this fingerprint duplicates (verified on the full signature), or None."""
        if fingerprint is None:
            return None
        best_id, best_sim = None, -1.0
        for cand in self._lsh.query(self._as_minhash(fingerprint)):
            if cand == exclude:
                continue
            sim = fingerprint_similarity(fingerprint, self._fingerprints[cand])
            if sim >= self.threshold and sim > best_sim:
                best_id, best_sim = int(cand), sim
        return best_id
