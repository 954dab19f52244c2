"""Token-vector pooling shared by the PyTorch and ONNX encoders: batch size, input cut, span means."""

from __future__ import annotations

import numpy as np

MAX_CHARS_PER_TOKEN = 8  # texts are cut to this many characters per token, so a 1 MB body is never tokenised
ENCODE_BATCH = 64


def pool_spans(
    tokens: np.ndarray, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]
) -> list[np.ndarray | None]:
    """Mean-pool token vectors inside each span (None when the span runs past the truncated window)."""
    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts  # special tokens have empty offsets
    window_end = int(ends[real].max()) if real.any() else 0
    out: list[np.ndarray | None] = []
    for start, end in spans:
        inside = real & (starts >= start) & (ends <= end)
        if end > window_end or not inside.any():
            out.append(None)
            continue
        vector = tokens[: len(offsets)][inside].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        out.append((vector / norm).astype(np.float32) if norm > 0 else None)
    return out


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit length, leaving all-zero rows at zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)
