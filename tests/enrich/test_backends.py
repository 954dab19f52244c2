"""Embedding backends (ONNX Runtime int8 by default, or PyTorch) and the settings that make NER fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tidings.config import Settings
from tidings.enrich import enrich_batch, ner_model, ner_worker, onnx_encoder
from tidings.enrich.batch import finish_batch, start_batch
from tidings.enrich.embeddings import get_encoder, resolve_model_path
from tidings.models import EnrichInput

pytestmark = pytest.mark.slow

# Sentences written for these tests.
TEXTS = [
    "The harbour board in Eastmouth voted to close the old ferry pier after storm damage.",
    "A county cricket side lost its opening match of the season by six wickets.",
    "Shares in a Leeds bakery chain rose sharply after it reported record Christmas sales.",
    "The health minister promised more nurses for rural clinics in the north of Scotland.",
    "Astronomers at an observatory in Chile reported a comet brighter than expected.",
    "Angela Marsh, the mayor of Eastmouth, said the pier would reopen next summer.",
]
PARAGRAPH = (
    "Prime Minister Theresa May met Emmanuel Macron in Paris on Tuesday to discuss trade with the European "
    "Union. Mrs May later flew to Berlin, where Angela Merkel told reporters that Germany wanted a deal. "
    "Officials from Google and Microsoft were also in the German capital for a summit on technology."
)


def test_onnx_vectors_stay_close_to_the_float32_model() -> None:
    from sentence_transformers import SentenceTransformer

    settings = Settings()
    encoder = get_encoder(settings)
    assert encoder.name == "all-MiniLM-L6-v2-onnx-int8"
    reference = SentenceTransformer(resolve_model_path(settings), device="cpu", local_files_only=True)
    exact = reference.encode(TEXTS, normalize_embeddings=True)
    ours = encoder.encode(TEXTS, settings.embedding_max_tokens)
    cosines = (exact * ours).sum(axis=1)
    assert cosines.min() > 0.97, cosines
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Similar things stay similar: the two Eastmouth sentences are each other's nearest neighbours.
    sims = ours @ ours.T
    np.fill_diagonal(sims, -1)
    assert int(sims[0].argmax()) == 5 and int(sims[5].argmax()) == 0


def test_the_export_is_made_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = Path(resolve_model_path(Settings()))
    first = onnx_encoder.load_onnx_encoder(model, tmp_path, "test")
    [cached] = list(tmp_path.glob("*.onnx"))

    def refuse(*_: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_encoder, "export_int8", refuse)
    second = onnx_encoder.load_onnx_encoder(model, tmp_path, "test")
    assert list(tmp_path.glob("*.onnx")) == [cached]
    assert np.allclose(first.encode(TEXTS[:2], 64), second.encode(TEXTS[:2], 64))


def test_models_without_mean_pooling_are_refused(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(onnx_encoder.UnsupportedModelError):
        onnx_encoder.check_mean_pooling(tmp_path)


def test_the_torch_backend_remains_available() -> None:
    encoder = get_encoder(Settings(embedding_backend="torch"))
    assert encoder.name == "all-MiniLM-L6-v2-int8"
    vectors = encoder.encode(TEXTS[:2], 128)
    assert vectors.shape == (2, 384)


def test_numpy_blas_gives_the_same_entities_as_blis() -> None:
    import spacy

    settings = Settings()
    fast = ner_model.load_ner(settings)
    plain = spacy.load(settings.spacy_model, exclude=[*ner_model.OPTIONAL_COMPONENTS, "tok2vec"])
    ops = {
        type(n.ops).__name__ + str(getattr(n.ops, "use_blis", None))
        for n in fast.get_pipe("ner").model.walk()
    }
    assert ops == {"NumpyOpsFalse"}
    texts = [PARAGRAPH, *TEXTS]
    assert ner_model.raw_mentions(fast, texts) == ner_model.raw_mentions(plain, texts)
    assert ("Emmanuel Macron", "PERSON", PARAGRAPH.index("Emmanuel")) in ner_model.raw_mentions(
        fast, [PARAGRAPH]
    )[0]


def test_the_ner_worker_runs_with_one_thread_per_library() -> None:
    seen = ner_worker.worker_environment(Settings())
    assert seen == ner_worker.WORKER_ENV


def test_a_started_batch_finishes_like_a_whole_one() -> None:
    settings = Settings()
    items = [EnrichInput(title=f"Story {n}", text=f"{PARAGRAPH} {text}") for n, text in enumerate(TEXTS)]
    pending = start_batch(items, settings)
    assert pending.job is not None  # six English articles go to the worker
    later = finish_batch(pending)
    now = enrich_batch(items, settings)
    assert [e.entities for e in later] == [e.entities for e in now]
    assert [e.key_points for e in later] == [e.key_points for e in now]
    assert any(e.name == "Theresa May" for e in later[0].entities)
