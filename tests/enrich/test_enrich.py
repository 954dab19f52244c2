"""Enrichment end to end with the real models: the seed article, cross-document keys, reloads, bad input."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_path
from tidings.config import Settings
from tidings.enrich import enrich_batch, load_count
from tidings.enrich.embeddings import embed_texts, pack_vector, unpack_vector
from tidings.models import EnrichInput, Enrichment

pytestmark = pytest.mark.slow

SEED_TITLE = "Trump welcomes progress on North Korea"  # the real headline paraphrased, in our words


def read_seed_body(path: Path) -> str:
    """The seed's body: the blank-line paragraphs after the tag/promo/caption/standfirst preamble."""
    text = path.read_text(encoding="utf-8")
    _, _, rest = text.partition("\nNorth Korea\n\n")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", rest) if p.strip()]
    return "\n\n".join(paragraphs)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def seed(settings: Settings) -> tuple[str, Enrichment]:
    body = read_seed_body(shared_path("fixtures", "seed-article-scraped.txt"))
    [result] = enrich_batch([EnrichInput(title=SEED_TITLE, text=body, tags=["North Korea"])], settings)
    return body, result


def test_seed_entities_once_under_full_names(seed: tuple[str, Enrichment]) -> None:
    _, result = seed
    names = [e.name for e in result.entities]
    wanted = ["Donald Trump", "Vladimir Putin", "Kim Jong-un", "North Korea", "Russia", "China"]
    wanted += ["Vladivostok", "Hanoi", "Mike Pompeo"]
    for name in wanted:
        assert names.count(name) == 1, name
    assert "Kim" not in names and "Putin" not in names and "Trump" not in names
    kim = next(e for e in result.entities if e.name == "Kim Jong-un")
    assert kim.key == "person:kim-jong-un" and kim.type == "PERSON"
    assert kim.count > 10  # the many bare "Kim" mentions count towards him
    assert next(e for e in result.entities if e.name == "Pyongyang").type == "GPE"


def test_seed_topics_and_language(seed: tuple[str, Enrichment]) -> None:
    _, result = seed
    assert result.language == "en"
    assert result.iptc_topic == "Politics"
    assert "North Korea" in result.topics and "Politics" in result.topics


def test_seed_key_points_are_body_sentences(seed: tuple[str, Enrichment]) -> None:
    body, result = seed
    assert 2 <= len(result.key_points) <= 4
    positions = [body.find(point) for point in result.key_points]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)


def test_seed_embedding_and_versions(seed: tuple[str, Enrichment]) -> None:
    _, result = seed
    assert result.embedding is not None and result.embedding.dtype == np.float32
    assert abs(float(np.linalg.norm(result.embedding)) - 1.0) < 1e-4
    assert result.embedding_model == "all-MiniLM-L6-v2-onnx-int8"
    assert set(result.versions) == {"language", "entities", "topics", "key_points", "embedding"}


def test_standfirst_is_the_first_key_point(settings: Settings) -> None:
    body = read_seed_body(shared_path("fixtures", "seed-article-scraped.txt"))
    standfirst = "The president says talks are going well."
    [result] = enrich_batch([EnrichInput(title=SEED_TITLE, text=body, standfirst=standfirst)], settings)
    assert result.key_points[0] == standfirst and len(result.key_points) <= 4


def test_same_politician_gets_same_key_across_bbc_articles(settings: Settings) -> None:
    folder = shared_path("data", "bbc-news", "politics")
    inputs = []
    for name in ("024.txt", "128.txt"):  # both about Gordon Brown, mostly as "Mr Brown"
        title, _, body = (folder / name).read_text(encoding="utf-8").partition("\n")
        inputs.append(EnrichInput(title=title, text=body))
    results = enrich_batch(inputs, settings)
    brown = [{e.key: e for e in r.entities}.get("person:gordon-brown") for r in results]
    assert all(b is not None for b in brown)
    assert all(b.count >= 3 for b in brown if b)  # "Mr Brown" mentions count towards him
    assert all("Brown" not in [e.name for e in r.entities] for r in results)


def test_second_batch_does_not_reload_models(settings: Settings) -> None:
    enrich_batch(
        [EnrichInput(title="Warm up", text="The council met on Monday. It voted for a plan.")], settings
    )
    before = load_count()
    enrich_batch(
        [EnrichInput(title="Again", text="The minister spoke in London. She said little.")], settings
    )
    assert load_count() == before


BAD_INPUTS = {
    "empty": EnrichInput(title="", text=""),
    "huge": EnrichInput(title="Big", text=("The committee met again in Paris today. " * 26000)),
    "chinese": EnrichInput(title="新闻", text="北京今天举行了会议。与会者讨论了经济问题。" * 20),
    "arabic": EnrichInput(
        title="أخبار", text="عقد المجلس اجتماعا في القاهرة اليوم. وناقش الأعضاء الميزانية. " * 10
    ),
    "cyrillic": EnrichInput(title="Новости", text="Совет собрался в Москве. Депутаты обсудили бюджет. " * 10),
    "numbers": EnrichInput(title="123", text="1 2 3 4 5 6 7 8 9 10 3.14 2024 " * 50),
    "urls": EnrichInput(title="", text="https://example.com/a http://example.org/b?c=d " * 50),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_never_crashes_and_notes_skips(settings: Settings, kind: str) -> None:
    [result] = enrich_batch([BAD_INPUTS[kind]], settings)
    assert result.versions
    assert result.skipped  # each of these misses at least one enricher
    if kind in {"chinese", "arabic", "cyrillic"}:
        assert result.language in {"zh", "ar", "ru"}
        assert any(s.startswith("entities: English-only") for s in result.skipped)
        assert result.embedding is not None
    if kind == "huge":
        assert any(s.startswith("text: only the first") for s in result.skipped)
    if kind == "empty":
        assert result.embedding is None and result.entities == [] and result.key_points == []


def test_pack_unpack_round_trip(settings: Settings) -> None:
    vectors = embed_texts(["Voters went to the polls.", "The striker scored twice."], settings)
    for vector in vectors:
        packed = pack_vector(vector)
        assert len(packed) == vector.size + 4
        restored = unpack_vector(packed)
        assert restored.dtype == np.float32
        assert float(np.max(np.abs(restored - vector))) <= float(np.max(np.abs(vector))) / 254 + 1e-7
        assert float(restored @ vector / np.linalg.norm(restored)) > 0.9999


def test_missing_model_falls_back_to_hashing_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(embedding_model="/nonexistent/model/path")
    with caplog.at_level(logging.WARNING):
        first = embed_texts(["Rain is expected tomorrow.", "Shares fell sharply."], settings)
        embed_texts(["More text."], settings)
        [result] = enrich_batch(
            [EnrichInput(title="Budget", text="The minister said taxes will rise. " * 3)], settings
        )
    warnings = [r for r in caplog.records if "could not be loaded" in r.getMessage()]
    assert len(warnings) <= 1  # one warning per process (an earlier test may already have loaded it)
    assert first.shape == (2, 1024) and np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert result.embedding_model == "hashing-tf-1024"
    assert any("hashing" in s for s in result.skipped)
    assert result.iptc_topic is not None
