"""Word tokens, token shingles and title normalisation: text utilities that extraction chooses bodies with."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

SHINGLE_SIZE = 4
TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Split text into \\w+ tokens (Unicode, case kept)."""
    return TOKEN_RE.findall(text or "")


def count_shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """Count the token shingles of a text (one short shingle when it has fewer tokens than size)."""
    tokens = tokenize(text)
    shingles = (tuple(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1)))
    return Counter(s for s in shingles if s)


def normalise_title(text: str | None) -> str:
    """Title text compared without case, quote style, dashes or spacing differences."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[‘’‚‛′`´]", "'", text)
    text = re.sub(r"[“”„‟″«»]", '"', text)
    text = re.sub(r"[‐‑‒–—―]", "-", text)
    return " ".join(text.split()).casefold()
